"""Saturating forms for metrics that grow towards a ceiling (the paper's forms):

* ``SaturatingLaw``       y = a + b·x^c, b ≤ 0, c ≤ 0, 0 ≤ a ≤ ceiling
* ``JointSaturatingLaw``  y = a + b·N^c + d·D^e

Parametrised as (a, log|b|, −c) on centred log inputs; see ``laws.py`` for the conventions
and references (Seetharaman et al. 2026, arXiv 2603.04816)."""

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
)


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

    def log_model_many(self, thetas, U, floor):
        P = self._penalties(thetas, U)
        yhat = thetas[:, :1] - P.sum(axis=2)
        # log, continued linearly below ``floor`` (> 0) so that a candidate predicting y ≤ 0
        # gets a finite residual and a gradient pointing back to positive predictions
        tau = np.maximum(np.asarray(floor, dtype=float), 1e-12)[:, None]
        safe = np.maximum(yhat, tau)
        g = np.where(yhat >= tau, np.log(safe), np.log(tau) + (yhat - tau) / tau)
        dg = 1.0 / safe
        J = np.empty((*g.shape, self.n_params))
        J[:, :, 0] = dg
        for j in range(len(self.inputs)):
            J[:, :, 1 + 2 * j] = -dg * P[:, :, j]
            J[:, :, 2 + 2 * j] = dg * P[:, :, j] * U[None, :, j]
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
        return [
            c for j, c in enumerate(self.coef_names) if (P[:, j] / scale).max() < VANISHING_SHARE
        ]


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
