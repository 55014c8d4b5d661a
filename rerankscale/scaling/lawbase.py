"""The ``Law`` base class and the numerical helpers shared by every functional form
(centred log inputs, log-sum-exp, start-grid constants). The forms are in ``laws.py`` and
``saturating.py``."""

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
        raise ValueError(
            f"{law.name} takes inputs {law.inputs}; got an array with {X.shape[1]} columns"
        )
    if not np.all(X > 0):
        raise ValueError(
            f"{law.name}: inputs {law.inputs} must be positive (the law uses their logs)"
        )
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

    def log_model_many(self, thetas: np.ndarray, U: np.ndarray, floor: np.ndarray):
        """(g, J) for a batch: log predictions (B, n) of the centred parameters ``thetas``
        (B, p) at centred log-inputs ``U`` (n, k) and their Jacobians (B, n, p); ``floor``
        (B,) is each problem's positive floor (``HuberLogObjective``). Every operation is
        element-wise along the batch, so a row's (g, J) does not depend on the other rows
        (the lockstep fits of ``scaling.optimize`` rely on it)."""
        raise NotImplementedError

    # ---- shared
    def log_model(self, theta: np.ndarray, U: np.ndarray, floor: float = 0.0):
        """(g, J): log prediction at centred log-inputs ``U`` (n, k) and its Jacobian (n, p);
        ``log_model_many`` on a batch of one."""
        thetas = np.asarray(theta, dtype=float)[None, :]
        g, J = self.log_model_many(thetas, U, np.array([floor], dtype=float))
        return g[0], J[0]

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
