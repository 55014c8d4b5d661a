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

from collections.abc import Mapping, Sequence

import numpy as np

EXPONENT_BOUNDS = (0.0, 5.0)  # the paper bounds its exponents c ∈ [−5, 0]
LOG_COEF_BOUNDS = (-30.0, 30.0)  # numerical guards on centred log-coefficients
VANISHING_SHARE = 1e-6  # a term below this share of the prediction everywhere sits at 0

_EXP_GRID = {"full": (0.1, 0.3, 0.6, 1.2, 2.5), "coarse": (0.2, 0.6, 1.5)}
_FLOOR_FRACTIONS = {"full": (0.1, 0.5, 0.9), "coarse": (0.3, 0.8)}
_COEF_FRACTIONS = {"full": (0.03, 0.3, 1.0), "coarse": (0.1, 0.5)}


def _lse(terms: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """log Σ exp(terms) along ``axis`` and the softmax weights."""
    m = terms.max(axis=axis, keepdims=True)
    e = np.exp(terms - m)
    s = e.sum(axis=axis, keepdims=True)
    return (m + np.log(s)).squeeze(axis), e / s


def _as_log_inputs(law: Law, inputs: Sequence) -> np.ndarray:
    """Stack ``inputs`` (one array per law input, or one (n, k) array) into log values (n, k)."""
    if len(inputs) == 1 and np.ndim(inputs[0]) == 2:
        X = np.asarray(inputs[0], dtype=float)
    else:
        if len(inputs) != len(law.inputs):
            raise ValueError(
                f"{law.name} takes {len(law.inputs)} inputs {law.inputs}, got {len(inputs)}"
            )
        X = np.column_stack([np.atleast_1d(np.asarray(v, dtype=float)) for v in inputs])
    if X.shape[1] != len(law.inputs):
        raise ValueError(f"{law.name} takes inputs {law.inputs}; got an array with {X.shape[1]} columns")
    if not np.all(X > 0):
        raise ValueError(f"{law.name}: inputs {law.inputs} must be positive (the law uses their logs)")
    return np.log(X)


class Law:
    """Base class: a functional form y = f(inputs; params).

    Attributes: ``name``, ``formula``, ``reference``, ``inputs`` (input names), ``param_names``
    (natural parameters, as reported), ``theta_names`` (internal parameters, as fitted),
    ``kind`` ("error": positive, lower is better; "metric": higher is better, ≤ ceiling).
    """

    name: str = "law"
    formula: str = ""
    reference: str = ""
    inputs: tuple[str, ...] = ("x",)
    param_names: tuple[str, ...] = ()
    theta_names: tuple[str, ...] = ()
    kind: str = "error"
    min_distinct: int = 3  # distinct values needed per input

    # ---- to implement
    def bounds(self) -> list[tuple[float, float]]:
        raise NotImplementedError

    def log_model(self, theta: np.ndarray, U: np.ndarray, floor: float = 0.0):
        """(g, J): log prediction at centred log-inputs ``U`` (n, k) and its Jacobian (n, p)."""
        raise NotImplementedError

    def predict_many(self, thetas: np.ndarray, logX: np.ndarray) -> np.ndarray:
        """Predictions (B, n) for natural internal parameters ``thetas`` (B, p) at log inputs."""
        raise NotImplementedError

    def _shift(self, theta: np.ndarray, log_x0: np.ndarray, sign: float) -> np.ndarray:
        """Move the coefficients between natural and centred inputs (sign −1: centre)."""
        raise NotImplementedError

    def center(self, theta: np.ndarray, log_x0: np.ndarray) -> np.ndarray:
        """Natural internal parameters → parameters for inputs centred at log x₀."""
        return self._shift(theta, log_x0, -1.0)

    def uncenter(self, theta: np.ndarray, log_x0: np.ndarray) -> np.ndarray:
        """Parameters for centred inputs → natural internal parameters."""
        return self._shift(theta, log_x0, +1.0)

    def params(self, theta: np.ndarray) -> dict[str, float]:
        """Natural internal parameters → reported parameters (``param_names``)."""
        raise NotImplementedError

    def theta_from_params(self, params: Mapping[str, float]) -> np.ndarray:
        raise NotImplementedError

    def start_grid(self, U: np.ndarray, y: np.ndarray, size: str = "full") -> np.ndarray:
        """Starting points (S, p) in the centred parametrisation, scaled to the data."""
        raise NotImplementedError

    def vanishing(self, theta: np.ndarray, U: np.ndarray) -> list[str]:
        """Names of parameters whose term is negligible everywhere (effectively at bound 0)."""
        return []

    # ---- shared
    @property
    def n_params(self) -> int:
        return len(self.theta_names)

    def predict(self, params: Mapping[str, float], *inputs) -> np.ndarray:
        """Evaluate the law with reported parameters ``params`` (a dict) at ``inputs``."""
        theta = self.theta_from_params(params)
        return self.predict_many(theta[None, :], _as_log_inputs(self, inputs))[0]

    def describe(self) -> str:
        return f"{self.name}: {self.formula}  [{self.reference}]"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.formula!r})"


# --------------------------------------------------------------------------- error sums


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

    def log_model(self, theta, U, floor=0.0):
        # hot path of every fit: plain 1-D arrays, no (B, n, T) stacking
        terms = []
        if self.irreducible:
            terms.append(None)  # the constant e, handled as a scalar
        for j in range(len(self.inputs)):
            terms.append(theta[self._off + 2 * j] - theta[self._off + 2 * j + 1] * U[:, j])
        m = terms[-1]
        for t in terms[:-1]:
            m = np.maximum(m, theta[0] if t is None else t)
        ex = [np.exp((theta[0] if t is None else t) - m) for t in terms]
        tot = ex[0] + ex[1] if len(ex) > 1 else ex[0]
        for e in ex[2:]:
            tot = tot + e
        g = m + np.log(tot)
        J = np.empty((U.shape[0], self.n_params))
        if self.irreducible:
            J[:, 0] = ex[0] / tot
        for j in range(len(self.inputs)):
            sj = ex[self._off + j] / tot
            J[:, self._off + 2 * j] = sj
            J[:, self._off + 2 * j + 1] = -sj * U[:, j]
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


class _SaturatingPowerSum(Law):
    """y = a − Σ_j B_j·x_j^−γ_j with 0 ≤ a ≤ ceiling (reported as a + b·x^c, b = −B, c = −γ)."""

    kind = "metric"
    coef_names: tuple[str, ...] = ()
    exp_names: tuple[str, ...] = ()

    def __init__(self, ceiling: float = 1.0):
        if not ceiling > 0:
            raise ValueError(f"ceiling must be positive, got {ceiling}")
        self.ceiling = float(ceiling)
        names, thetas = ["a"], ["a"]
        for c, e in zip(self.coef_names, self.exp_names):
            names += [c, e]
            thetas += [f"log_neg_{c}", f"neg_{e}"]
        self.param_names = tuple(names)
        self.theta_names = tuple(thetas)

    def bounds(self):
        b = [(0.0, self.ceiling)]
        for _ in self.inputs:
            b += [LOG_COEF_BOUNDS, EXPONENT_BOUNDS]
        return b

    def _penalties(self, thetas, U):
        """Terms P (B, n, k) = exp(log B_j − γ_j u_j)."""
        k = len(self.inputs)
        c = thetas[:, 1::2][:, :k]
        g = thetas[:, 2::2][:, :k]
        return np.exp(c[:, None, :] - g[:, None, :] * U[None, :, :])

    def log_model(self, theta, U, floor=0.0):
        P = self._penalties(theta[None, :], U)[0]
        yhat = theta[0] - P.sum(axis=1)
        # log, continued linearly below ``floor`` (> 0) so that a candidate predicting y ≤ 0
        # gets a finite residual and a gradient pointing back to positive predictions
        tau = max(floor, 1e-12)
        safe = np.maximum(yhat, tau)
        g = np.where(yhat >= tau, np.log(safe), np.log(tau) + (yhat - tau) / tau)
        dg = 1.0 / safe
        J = np.empty((U.shape[0], self.n_params))
        J[:, 0] = dg
        for j in range(len(self.inputs)):
            J[:, 1 + 2 * j] = -dg * P[:, j]
            J[:, 2 + 2 * j] = dg * P[:, j] * U[:, j]
        return g, J

    def predict_many(self, thetas, logX):
        thetas = np.atleast_2d(thetas)
        return thetas[:, :1] - self._penalties(thetas, logX).sum(axis=2)

    def _shift(self, theta, log_x0, sign):
        t = np.array(theta, dtype=float, copy=True)
        for j in range(len(self.inputs)):
            t[1 + 2 * j] += sign * t[2 + 2 * j] * log_x0[j]
        return t

    def params(self, theta):
        out = {"a": float(theta[0])}
        for j, (c, e) in enumerate(zip(self.coef_names, self.exp_names)):
            out[c] = -float(np.exp(theta[1 + 2 * j]))
            out[e] = -float(theta[2 + 2 * j])
        return out

    def theta_from_params(self, params):
        t = [params["a"]]
        for c, e in zip(self.coef_names, self.exp_names):
            if params[c] >= 0 or params[e] > 0:
                raise ValueError(f"{self.name}: needs {c} < 0 and {e} ≤ 0, got {params}")
            t += [np.log(-params[c]), -params[e]]
        return np.asarray(t, dtype=float)

    def start_grid(self, U, y, size="full"):
        y_min, y_max = float(np.min(y)), float(np.max(y))
        if y_max >= self.ceiling:
            raise ValueError(
                f"{self.name}: data reach {y_max:.4g} ≥ ceiling {self.ceiling:.4g}; the ceiling "
                "must be the largest value the candidate list allows (pass ceiling=...)"
            )
        points = []
        k = len(self.inputs)
        for fa in _FLOOR_FRACTIONS[size]:
            a = y_max + (self.ceiling - y_max) * (1.0 - fa) * 0.5
            gap = max(a - y_min, 1e-6)
            axes = []
            for _ in range(k):
                axes.append(np.log(gap * np.asarray(_COEF_FRACTIONS[size]) / k))
                axes.append(np.asarray(_EXP_GRID[size]))
            mesh = np.meshgrid(*axes, indexing="ij")
            rest = np.column_stack([m.ravel() for m in mesh])
            points.append(np.column_stack([np.full(len(rest), a), rest]))
        return np.vstack(points)

    def vanishing(self, theta, U):
        P = self._penalties(theta[None, :], U)[0]
        scale = np.maximum(np.abs(theta[0] - P.sum(axis=1)), 1e-12)
        return [c for j, c in enumerate(self.coef_names) if (P[:, j] / scale).max() < VANISHING_SHARE]


class SaturatingLaw(_SaturatingPowerSum):
    """The paper's saturating form on a metric: y = a + b·x^c with b ≤ 0, c ≤ 0 (a metric that
    grows towards the asymptote a), i.e. y = a − |b|·x^−|c|.

    The ceiling a is bounded by ``ceiling`` (default 1): the largest value the candidate list
    allows (first-stage recall@depth for recall@k of a reranked fixed list; 1 for NDCG/MRR when
    every query has a relevant candidate). The authors bound a ∈ [0, 1] and c ∈ [−5, 0] and fit
    raw least squares; here the same form is fitted by Huber loss on log residuals.
    Reference: Seetharaman et al. 2026 (arXiv 2603.04816), data/model scaling fits.
    """

    name = "saturating"
    inputs = ("x",)
    coef_names = ("b",)
    exp_names = ("c",)
    formula = "y = a + b·x^c  (b ≤ 0, c ≤ 0, a ≤ ceiling)"
    reference = "Seetharaman et al. 2026 (arXiv 2603.04816)"


class JointSaturatingLaw(_SaturatingPowerSum):
    """The paper's joint form on a metric: y = a + b·N^c + d·D^e with b, d ≤ 0 and c, e ≤ 0,
    a ≤ ceiling. Additive and separable, like Chinchilla's form in the metric domain.
    Reference: Seetharaman et al. 2026 (arXiv 2603.04816), joint scaling.
    """

    name = "joint_saturating"
    inputs = ("N", "D")
    coef_names = ("b", "d")
    exp_names = ("c", "e")
    formula = "y = a + b·N^c + d·D^e  (b, d ≤ 0; c, e ≤ 0; a ≤ ceiling)"
    reference = "Seetharaman et al. 2026 (arXiv 2603.04816)"


# --------------------------------------------------------------------------- Kaplan


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
        self.theta_names = (("log_E",) if irreducible else ()) + ("log_N_c", "alpha", "log_D_c", "beta")
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

    def log_model(self, theta, U, floor=0.0):
        m, q, s, zn, r, al, be = self._parts(theta[None, :], U)
        m, q, s, zn = m[0], q[0], s[0], zn[0]
        r, al, be = float(r[0, 0]), float(al[0, 0]), float(be[0, 0])
        dm = np.column_stack([al * s[:, 0], s[:, 0] * zn, be * s[:, 1], q - r * s[:, 0] * zn])
        J = np.empty((U.shape[0], self.n_params))
        if self.irreducible:
            g, so = _lse(np.column_stack([np.full_like(m, theta[0]), m]))
            J[:, 0] = so[:, 0]
            J[:, 1:] = dm * so[:, 1:2]
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
        out.update(N_c=float(np.exp(theta[o])), alpha=float(theta[o + 1]),
                   D_c=float(np.exp(theta[o + 2])), beta=float(theta[o + 3]))
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
}


def get_law(name: str | Law, **kwargs) -> Law:
    """A law object from its name (``"power"``, ``"chinchilla"``, ...) or the object itself."""
    if isinstance(name, Law):
        return name
    try:
        return LAWS[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown law {name!r}; choose from {sorted(LAWS)}") from None
