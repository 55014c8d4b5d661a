"""A monotone link from a loss-like quantity to a ranking metric, fitted like any law.

The second stage of a two-stage forecast (``twostage.py``): language-model ladders forecast a
task's accuracy from the model's loss with a sigmoid, Acc(L) = a / (1 + e^{−k(L − L₀)}) + b
(Bhagia et al. 2024, "Establishing Task Scaling Laws via Compute-Efficient Model Ladders",
arXiv 2412.04403, eq. 2; k < 0 there). Here the loss is the reranker's contrastive entropy and
the metric NDCG@10, which falls as CE grows:

    y = b + a / (1 + exp(k·(x − x₀))),    a, b ≥ 0,  a + b ≤ ceiling,  k > 0,

monotone decreasing in x for every parameter value, between b (x → ∞) and a + b (x → −∞), so
that an extrapolation to a loss below the fitted ones stays under the ceiling. An isotonic fit
would be monotone too but flat beyond the data, which is where a forecast needs it.

Internal parametrisation (``fit.py`` minimises Huber loss on log residuals, on inputs scaled
by their geometric centre x̄, x = x̄·e^u): y = top·(s + (1 − s)·σ(κ·(m − e^u))) with
top = a + b ∈ (0, ceiling], s = b / top ∈ [0, 1], κ = k·x̄ (fitted as log κ) and m = x₀/x̄;
log y and its Jacobian are computed in log space (log σ = −softplus(−z)).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .lawbase import Law

LOG_SLOPE_BOUNDS = (-8.0, 8.0)  # log κ: from flat to a step over 0.03 % of the centre
MIDPOINT_BOUNDS = (-20.0, 20.0)  # m = x₀ / x̄


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    """log σ(z) = −log(1 + e^−z), without overflow."""
    return -np.logaddexp(0.0, -z)


class LogisticLink(Law):
    """Monotone decreasing logistic link y = b + a / (1 + exp(k·(x − x₀))) (a, b ≥ 0,
    a + b ≤ ``ceiling``, k > 0), e.g. NDCG@10 as a function of contrastive entropy.
    Reference: Bhagia et al. 2024 (arXiv 2412.04403), the accuracy-from-loss step."""

    name = "logistic_link"
    formula = "y = b + a / (1 + exp(k·(x − x0)))  (a, b ≥ 0, a + b ≤ ceiling, k > 0)"
    reference = "Bhagia et al. 2024 (arXiv 2412.04403)"
    kind = "metric"
    inputs = ("x",)
    param_names = ("a", "b", "k", "x0")
    theta_names = ("top", "floor_share", "log_k", "x0")

    def __init__(self, ceiling: float = 1.0):
        if not ceiling > 0:
            raise ValueError(f"ceiling must be positive, got {ceiling}")
        self.ceiling = float(ceiling)

    def bounds(self):
        return [(1e-9, self.ceiling), (0.0, 1.0), LOG_SLOPE_BOUNDS, MIDPOINT_BOUNDS]

    def log_model_many(self, thetas, U, floor=None):
        # z = κ·(m − v) and g = s + (1 − s)·σ(z) in logs, for scaled inputs v; (B, 1) params
        top, s, log_k, m = (thetas[:, i : i + 1] for i in range(4))
        z = np.exp(log_k) * (m - np.exp(U[None, :, 0]))
        with np.errstate(divide="ignore"):
            log_s, log_1ms = np.log(s), np.log1p(-s)
        log_sig = _log_sigmoid(z)
        log_g = np.logaddexp(log_s, log_1ms + log_sig)
        g = np.log(top) + log_g
        w = np.exp(log_1ms + log_sig - log_g)  # (1 − s)·σ / g ∈ [0, 1]
        one_minus_sig = np.exp(_log_sigmoid(-z))
        J = np.empty((*g.shape, 4))
        J[:, :, 0] = 1.0 / top
        J[:, :, 1] = np.exp(_log_sigmoid(-z) - log_g)  # (1 − σ) / g
        J[:, :, 2] = w * one_minus_sig * z  # ∂z/∂log κ = z
        J[:, :, 3] = w * one_minus_sig * np.exp(log_k)  # ∂z/∂m = κ
        return g, J

    def predict_many(self, thetas, logX):
        thetas = np.atleast_2d(thetas)
        x = np.exp(logX[:, 0])
        top, s, log_k, x0 = (thetas[:, i : i + 1] for i in range(4))
        return top * (s + (1.0 - s) * expit(np.exp(log_k) * (x0 - x[None, :])))

    def _shift(self, theta, log_x0, sign):
        # centring (sign −1): κ = k·x̄, m = x₀/x̄; uncentring (sign +1) the inverse
        t = np.array(theta, dtype=float, copy=True)
        t[2] -= sign * log_x0[0]
        t[3] *= np.exp(sign * log_x0[0])
        return t

    def params(self, theta):
        top, s, log_k, x0 = (float(v) for v in theta)
        return {"a": top * (1.0 - s), "b": top * s, "k": float(np.exp(log_k)), "x0": x0}

    def theta_from_params(self, params):
        a, b, k = float(params["a"]), float(params["b"]), float(params["k"])
        if a < 0 or b < 0 or a + b <= 0 or k <= 0:
            raise ValueError(f"{self.name}: needs a, b ≥ 0, a + b > 0 and k > 0, got {params}")
        return np.array([a + b, b / (a + b), np.log(k), float(params["x0"])])

    def start_grid(self, U, y, size="full"):
        y_min, y_max = float(np.min(y)), float(np.max(y))
        if y_max >= self.ceiling:
            raise ValueError(
                f"{self.name}: data reach {y_max:.4g} ≥ ceiling {self.ceiling:.4g}; pass the "
                "largest value the metric can take as ceiling=..."
            )
        v = np.exp(U[:, 0])
        tops = (0.5, 0.9) if size == "full" else (0.7,)
        slopes = (0.5, 2.0, 8.0) if size == "full" else (1.0, 4.0)
        mids = np.quantile(v, (0.25, 0.5, 0.75) if size == "full" else (0.5, 0.9))
        rows = []
        for f in tops:
            top = y_max + f * (self.ceiling - y_max)
            for share in (0.0, 0.5 * y_min / top):
                for kappa in slopes:
                    for m in mids:
                        rows.append([top, share, np.log(kappa), m])
        return np.asarray(rows)
