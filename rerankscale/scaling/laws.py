"""Functional forms of scaling laws, each a small object with its formula, parameters, bounds
and reference.

Forms (x, N, D are positive; N is the non-embedding parameter count by default, x and D any
exposure column — queries, pairs, tokens seen — or training FLOPs):

* ``SaturatingLaw``       y = a + b·x^c, b ≤ 0, c ≤ 0, 0 ≤ a ≤ ceiling   (the paper's metric form)
* ``JointSaturatingLaw``  y = a + b·N^c + d·D^e                          (the paper's joint form)
* ``PowerLaw``            L(x) = E + A·x^−α                               (error quantities)
* ``ChinchillaLaw``       L(N, D) = E + A·N^−α + B·D^−β                   (Hoffmann et al. 2022)
* ``KaplanLaw``           L(N, D) = [(N_c/N)^(α/β) + D_c/D]^β (+ E)       (Kaplan et al. 2020)

The saturating forms model metrics that grow towards a ceiling (NDCG, MRR, MAP); the ceiling
is what the candidate list allows (1 by default; first-stage recall for recall@k of a
reranked list). The error forms model positive quantities that decay: 1 − metric, contrastive
entropy (see ``table.to_error``).

Internal parametrisation (used by ``fit``). Inputs enter as centred logs u = log x − log x₀
(x₀ the geometric centre of the data), which makes the start grid scale-free and the problem
well conditioned (raw N ≈ 1e7–1e9 gives coefficients like 3e8 otherwise). Error forms use the
log-sum-exp parametrisation of Hoffmann et al. (2022) and Besiroglu et al. (2024):
log L = LSE(e, a − α·u_N, b − β·u_D) with E = e^e, A = e^a·x₀^α, ..., which keeps every term
positive. Saturating forms use (a, log|b|, −c). Each law returns the log prediction and its
analytic Jacobian, so L-BFGS-B gets exact gradients.

References: Kaplan et al. 2020, "Scaling Laws for Neural Language Models" (arXiv 2001.08361);
Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models" (arXiv 2203.15556);
Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt" (arXiv 2404.10102);
Seetharaman et al. 2026, "Scaling Laws for Cross-Encoder Reranking" (arXiv 2603.04816).
"""

from __future__ import annotations

import numpy as np

from .lawbase import (
    _COEF_FRACTIONS,
    _EXP_GRID,
    _FLOOR_FRACTIONS,
    EXPONENT_BOUNDS,
    LOG_COEF_BOUNDS,
    VANISHING_SHARE,
    Law,
    _lse,
)
from .link import LogisticLink
from .saturating import JointSaturatingLaw, SaturatingLaw


class _ErrorPowerSum(Law):
    """L = E + Σ_j A_j·x_j^−α_j in the log-sum-exp parametrisation."""

    kind = "error"
    coef_names: tuple[str, ...] = ()
    exp_names: tuple[str, ...] = ()

    def __init__(self, irreducible: bool = True):
        self.irreducible = bool(irreducible)
        names, thetas = [], []
        if self.irreducible:
            names.append("E")
            thetas.append("log_E")
        for c, a in zip(self.coef_names, self.exp_names):
            names += [c, a]
            thetas += [f"log_{c}", a]
        self.param_names = tuple(names)
        self.theta_names = tuple(thetas)
        self._off = 1 if self.irreducible else 0

    def bounds(self):
        b = [LOG_COEF_BOUNDS] if self.irreducible else []
        for _ in self.inputs:
            b += [LOG_COEF_BOUNDS, EXPONENT_BOUNDS]
        return b

    def _terms(self, thetas: np.ndarray, U: np.ndarray) -> np.ndarray:
        """Terms (B, n, T) of the LSE for thetas (B, p)."""
        B, n = thetas.shape[0], U.shape[0]
        terms = []
        if self.irreducible:
            terms.append(np.broadcast_to(thetas[:, :1], (B, n)))
        for j in range(len(self.inputs)):
            c, a = thetas[:, self._off + 2 * j], thetas[:, self._off + 2 * j + 1]
            terms.append(c[:, None] - a[:, None] * U[None, :, j])
        return np.stack(terms, axis=-1)

    def log_model_many(self, thetas, U, floor=None):
        # hot path of every fit: (B, n) arrays per term, no (B, n, T) stacking
        terms = [thetas[:, :1]] if self.irreducible else []  # the constant e, (B, 1)
        for j in range(len(self.inputs)):
            c, a = thetas[:, self._off + 2 * j, None], thetas[:, self._off + 2 * j + 1, None]
            terms.append(c - a * U[None, :, j])
        m = terms[-1]
        for t in terms[:-1]:
            m = np.maximum(m, t)
        ex = [np.exp(t - m) for t in terms]
        tot = ex[0] + ex[1] if len(ex) > 1 else ex[0]
        for e in ex[2:]:
            tot = tot + e
        g = m + np.log(tot)
        J = np.empty((*g.shape, self.n_params))
        if self.irreducible:
            J[:, :, 0] = ex[0] / tot
        for j in range(len(self.inputs)):
            sj = ex[self._off + j] / tot
            J[:, :, self._off + 2 * j] = sj
            J[:, :, self._off + 2 * j + 1] = -sj * U[None, :, j]
        return g, J

    def predict_many(self, thetas, logX):
        g, _ = _lse(self._terms(np.atleast_2d(thetas), logX))
        return np.exp(g)

    def _shift(self, theta, log_x0, sign):
        t = np.array(theta, dtype=float, copy=True)
        for j in range(len(self.inputs)):
            t[self._off + 2 * j] += sign * t[self._off + 2 * j + 1] * log_x0[j]
        return t

    def params(self, theta):
        out = {}
        if self.irreducible:
            out["E"] = float(np.exp(theta[0]))
        for j, (c, a) in enumerate(zip(self.coef_names, self.exp_names)):
            out[c] = float(np.exp(theta[self._off + 2 * j]))
            out[a] = float(theta[self._off + 2 * j + 1])
        return out

    def theta_from_params(self, params):
        t = [np.log(params["E"])] if self.irreducible else []
        for c, a in zip(self.coef_names, self.exp_names):
            t += [np.log(params[c]), params[a]]
        return np.asarray(t, dtype=float)

    def start_grid(self, U, y, size="full"):
        y_min, y_med = float(np.min(y)), float(np.median(y))
        axes = []
        if self.irreducible:
            axes.append(np.log(y_min * np.asarray(_FLOOR_FRACTIONS[size])))
        for _ in self.inputs:
            axes.append(np.log(y_med * np.asarray(_COEF_FRACTIONS[size])))
            axes.append(np.asarray(_EXP_GRID[size]))
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.column_stack([m.ravel() for m in mesh])

    def vanishing(self, theta, U):
        _, s = _lse(self._terms(theta[None, :], U)[0])
        names = []
        if self.irreducible and s[:, 0].max() < VANISHING_SHARE:
            names.append("E")
        for j, c in enumerate(self.coef_names):
            if s[:, self._off + j].max() < VANISHING_SHARE:
                names.append(c)
        return names


class PowerLaw(_ErrorPowerSum):
    """Error form in one variable: L(x) = E + A·x^−α  (E ≥ 0, A > 0, 0 ≤ α ≤ 5).

    For error quantities that decay with scale: 1 − NDCG, contrastive entropy. E is the
    irreducible error; ``irreducible=False`` fits the pure power law A·x^−α (Kaplan et al. 2020,
    L(N) = (N_c/N)^α_N). Fitted in the LSE parametrisation log L = LSE(e, a − α log x).
    Reference: Kaplan et al. 2020; Hoffmann et al. 2022 (Approach 3, one variable).
    """

    name = "power"
    inputs = ("x",)
    coef_names = ("A",)
    exp_names = ("alpha",)
    reference = "Kaplan et al. 2020; Hoffmann et al. 2022"

    def __init__(self, irreducible: bool = True):
        super().__init__(irreducible)
        self.formula = "L(x) = E + A·x^−α" if irreducible else "L(x) = A·x^−α"


class ChinchillaLaw(_ErrorPowerSum):
    """Joint additive law: L(N, D) = E + A·N^−α + B·D^−β  (Hoffmann et al. 2022, eq. 2).

    N: non-embedding parameters (or total); D: any exposure (queries, pairs, tokens seen).
    Fitted as in Approach 3 / Besiroglu et al. 2024: log L = LSE(e, a − α log N, b − β log D),
    Huber loss on log residuals, L-BFGS-B from a grid of starts. Compute-optimal allocation
    under C = k·N·D has the closed form N* ∝ C^(β/(α+β)), D* ∝ C^(α/(α+β)) (``compute``).
    """

    name = "chinchilla"
    inputs = ("N", "D")
    coef_names = ("A", "B")
    exp_names = ("alpha", "beta")
    reference = "Hoffmann et al. 2022 (arXiv 2203.15556); Besiroglu et al. 2024 (arXiv 2404.10102)"

    def __init__(self, irreducible: bool = True):
        super().__init__(irreducible)
        self.formula = ("E + " if irreducible else "") + "A·N^−α + B·D^−β"
        self.formula = "L(N, D) = " + self.formula


# --------------------------------------------------------------------------- saturating metric forms


class KaplanLaw(Law):
    """Kaplan et al. (2020, eq. 1.5) joint form: L(N, D) = [(N_c/N)^(α/β) + D_c/D]^β (+ E).

    α = α_N and β = α_D in Kaplan's notation (0.076 and 0.095 for language modelling). With
    ``irreducible=True`` an irreducible term E is added (log L = LSE(e, β·LSE(α/β·(n_c − log N),
    d_c − log D))); ``irreducible=False`` is Kaplan's original form. Under C = k·N·D the
    compute-optimal allocation is N* ∝ C^(β/(α+β)), as for the additive form.
    Reference: Kaplan et al. 2020 (arXiv 2001.08361); adopted by Fang et al. 2024 for dense
    retrieval.
    """

    name = "kaplan"
    inputs = ("N", "D")
    kind = "error"
    reference = "Kaplan et al. 2020 (arXiv 2001.08361)"

    def __init__(self, irreducible: bool = True):
        self.irreducible = bool(irreducible)
        self._off = 1 if irreducible else 0
        core = ("N_c", "alpha", "D_c", "beta")
        self.param_names = (("E",) if irreducible else ()) + core
        self.theta_names = (("log_E",) if irreducible else ()) + (
            "log_N_c",
            "alpha",
            "log_D_c",
            "beta",
        )
        self.formula = "L(N, D) = [(N_c/N)^(α/β) + D_c/D]^β" + (" + E" if irreducible else "")

    def bounds(self):
        b = [LOG_COEF_BOUNDS] if self.irreducible else []
        return b + [(-60.0, 60.0), EXPONENT_BOUNDS, (-60.0, 60.0), (0.01, EXPONENT_BOUNDS[1])]

    def _parts(self, thetas, U):
        o = self._off
        nc, al, dc, be = (thetas[:, o + i][:, None] for i in range(4))
        r = al / be
        zn = nc - U[None, :, 0]
        inner = np.stack([r * zn, dc - U[None, :, 1]], axis=-1)
        q, s = _lse(inner)
        m = be * q
        return m, q, s, zn, r, al, be

    def log_model_many(self, thetas, U, floor=None):
        m, q, s, zn, r, al, be = self._parts(thetas, U)
        s0, s1 = s[..., 0], s[..., 1]
        dm = np.stack([al * s0, s0 * zn, be * s1, q - r * s0 * zn], axis=-1)
        J = np.empty((*m.shape, self.n_params))
        if self.irreducible:
            g, so = _lse(np.stack([np.broadcast_to(thetas[:, :1], m.shape), m], axis=-1))
            J[..., 0] = so[..., 0]
            J[..., 1:] = dm * so[..., 1:2]
        else:
            g = m
            J[:] = dm
        return g, J

    def predict_many(self, thetas, logX):
        thetas = np.atleast_2d(thetas)
        m = self._parts(thetas, logX)[0]
        if self.irreducible:
            m, _ = _lse(np.stack([np.broadcast_to(thetas[:, :1], m.shape), m], axis=-1))
        return np.exp(m)

    def _shift(self, theta, log_x0, sign):
        t = np.array(theta, dtype=float, copy=True)
        t[self._off] += sign * log_x0[0]
        t[self._off + 2] += sign * log_x0[1]
        return t

    def params(self, theta):
        o = self._off
        out = {"E": float(np.exp(theta[0]))} if self.irreducible else {}
        out.update(
            N_c=float(np.exp(theta[o])),
            alpha=float(theta[o + 1]),
            D_c=float(np.exp(theta[o + 2])),
            beta=float(theta[o + 3]),
        )
        return out

    def theta_from_params(self, params):
        t = [np.log(params["E"])] if self.irreducible else []
        t += [np.log(params["N_c"]), params["alpha"], np.log(params["D_c"]), params["beta"]]
        return np.asarray(t, dtype=float)

    def start_grid(self, U, y, size="full"):
        y_min, y_med = float(np.min(y)), float(np.median(y))
        floors = np.log(y_min * np.asarray(_FLOOR_FRACTIONS[size])) if self.irreducible else [None]
        rows = []
        for e in floors:
            level = y_med - (np.exp(e) if e is not None else 0.0)
            for be in _EXP_GRID[size]:
                S = level ** (1.0 / be)
                for al in _EXP_GRID[size]:
                    r = al / be
                    for w in (0.25, 0.75):
                        dc = np.log(w * S)
                        nc = np.log((1 - w) * S) / r
                        rows.append(([e] if e is not None else []) + [nc, al, dc, be])
        lo, hi = np.array(self.bounds()).T
        return np.clip(np.asarray(rows, dtype=float), lo, hi)

    def vanishing(self, theta, U):
        if not self.irreducible:
            return []
        m = self._parts(theta[None, :], U)[0][0]
        _, so = _lse(np.column_stack([np.full_like(m, theta[0]), m]))
        return ["E"] if so[:, 0].max() < VANISHING_SHARE else []


LAWS = {
    "saturating": SaturatingLaw,
    "joint_saturating": JointSaturatingLaw,
    "power": PowerLaw,
    "chinchilla": ChinchillaLaw,
    "kaplan": KaplanLaw,
    "logistic_link": LogisticLink,
}


def get_law(name: str | Law, **kwargs) -> Law:
    """A law object from its name (``"power"``, ``"chinchilla"``, ...) or the object itself."""
    if isinstance(name, Law):
        return name
    try:
        return LAWS[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown law {name!r}; choose from {sorted(LAWS)}") from None
