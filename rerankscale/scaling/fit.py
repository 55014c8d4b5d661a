"""Robust fitting of a scaling law: Huber loss on log residuals, L-BFGS-B from a grid of starts.

Objective (Hoffmann et al. 2022, Approach 3; Besiroglu et al. 2024):

    min_θ  Σ_i w_i · Huber_δ(log f(x_i; θ) − log y_i) / (δ · Σ_i w_i),    δ = 1e-3

with analytic gradients, minimised by L-BFGS-B (bounded) from every point of a start grid;
the best optimum is kept. Dividing by δ·Σw puts the objective on the scale of a mean absolute
log residual, and the optimiser stops on the projected gradient rather than on a relative
decrease of a tiny loss (the early stop Besiroglu et al. found in the original fit).

Every fit returns a ``FitResult`` whose ``status`` says what happened:

* ``"ok"``            converged, no parameter on a bound;
* ``"on_bound"``      converged with parameters on a bound (listed in ``on_bound``), e.g. the
                      asymptote at the ceiling or a vanished irreducible term — the estimate is
                      the bounded optimum, and bounded parameters are not identified by the data;
* ``"not_converged"`` the best start did not reach a stationary point (parameters reported);
* ``"degenerate"``    the data cannot identify the law (too few points or distinct inputs,
                      flat targets); no parameters;
* ``"fixed"``         parameters given by the user (``FitResult.from_params``), not fitted.

There is no fallback: a failed fit is returned as such, never replaced by another method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rerankscale.evaluation.results import ResultsError, is_error_metric, is_ranking_metric

from .lawbase import _as_log_inputs
from .laws import Law, get_law
from .optimize import BOUND_TOL, HuberLogObjective, minimize_many, single_threaded_blas
from .table import ErrorTransform, LogErrorTransform

STATUSES = ("ok", "on_bound", "not_converged", "degenerate", "fixed")
CONVERGED_PG = 1e-5  # a start counts as converged when its projected gradient is below this
BEST_RTOL, BEST_ATOL = 1e-6, 1e-10  # starts within this of the best loss "reach the optimum"


@dataclass
class FitResult:
    """The outcome of one fit: parameters, diagnostics and the data it used.

    ``params`` are the reported parameters (``law.param_names``; NaN when degenerate);
    ``theta`` the natural internal parameters; ``loss`` the scaled Huber objective at the
    optimum; ``converged``; ``status``; ``message``; ``on_bound`` (parameter names on a bound);
    ``n_starts`` and ``n_at_best`` (starts that reached the best loss); ``X`` (n, k) inputs,
    ``y`` targets, ``weights``; ``input_names`` / ``target`` (column names when fitted from a
    table); ``transform`` (metric → error map, if any); ``data`` (the table rows used).
    """

    law: Law
    params: dict[str, float]
    theta: np.ndarray
    loss: float
    converged: bool
    status: str
    message: str
    on_bound: tuple[str, ...]
    n_starts: int
    n_at_best: int
    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None = None
    delta: float = 1e-3
    log_x0: np.ndarray | None = None
    theta_centered: np.ndarray | None = None
    grad_norm: float = float("nan")
    nit: int = 0
    input_names: tuple[str, ...] = ()
    target: str = "y"
    transform: ErrorTransform | LogErrorTransform | None = None
    data: pd.DataFrame | None = field(default=None, repr=False)

    @classmethod
    def from_params(
        cls,
        law: Law | str,
        params: Mapping[str, float],
        *,
        input_names: Sequence[str] = (),
        transform: ErrorTransform | LogErrorTransform | None = None,
    ) -> FitResult:
        """A result holding given parameters (status ``"fixed"``: not fitted, no data), e.g. a
        published law to compare against or to feed ``compute_optimal``."""
        law = get_law(law)
        theta = law.theta_from_params(params)
        k = len(law.inputs)
        return cls(
            law=law,
            params=law.params(theta),
            theta=theta,
            loss=float("nan"),
            converged=True,
            status="fixed",
            message="parameters given, not fitted",
            on_bound=(),
            n_starts=0,
            n_at_best=0,
            X=np.empty((0, k)),
            y=np.empty(0),
            log_x0=np.zeros(k),
            theta_centered=theta,
            input_names=tuple(input_names),
            transform=transform,
        )

    @property
    def n_points(self) -> int:
        return int(len(self.y))

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def _log_inputs(self, inputs) -> np.ndarray:
        if len(inputs) == 1 and isinstance(inputs[0], pd.DataFrame):
            df = inputs[0]
            names = self.input_names or self.law.inputs
            missing = [c for c in names if c not in df.columns]
            if missing:
                raise ValueError(f"predict: DataFrame lacks input columns {missing}")
            inputs = tuple(df[c].to_numpy(dtype=float) for c in names)
        return _as_log_inputs(self.law, inputs)

    def predict(self, *inputs) -> np.ndarray:
        """The fitted law at ``inputs`` (one array per law input, an (n, k) array, or a
        DataFrame with the input columns), on the fitted target's scale."""
        if self.status == "degenerate":
            raise ValueError(f"cannot predict from a degenerate fit: {self.message}")
        return self.law.predict_many(self.theta[None, :], self._log_inputs(inputs))[0]

    def predict_metric(self, *inputs) -> np.ndarray:
        """Like ``predict`` but mapped back to the metric's scale (undoes ``transform``)."""
        pred = self.predict(*inputs)
        return self.transform.inverse(pred) if self.transform is not None else pred

    def residuals(self) -> np.ndarray:
        """Log residuals log f(x_i) − log y_i at the fitted parameters."""
        return np.log(self.predict(self.X)) - np.log(self.y)

    def summary(self) -> dict:
        """One flat record: law, target, status, diagnostics and parameters."""
        out = dict(
            law=self.law.name,
            target=self.target,
            status=self.status,
            converged=self.converged,
            on_bound=",".join(self.on_bound),
            loss=self.loss,
            n_points=self.n_points,
            n_starts=self.n_starts,
            n_at_best=self.n_at_best,
            grad_norm=self.grad_norm,
        )
        out.update(self.params)
        return out


# --------------------------------------------------------------------------- checks


def degeneracy(law: Law, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> str | None:
    """Why the data cannot identify ``law`` (a message), or None. Uses points with w > 0."""
    if w is not None:
        keep = w > 0
        X, y = X[keep], y[keep]
    p = law.n_params
    if len(y) <= p:
        return f"too few points: {len(y)} for {p} parameters (need at least {p + 1})"
    for j, name in enumerate(law.inputs):
        nd = len(np.unique(X[:, j]))
        if nd < law.min_distinct:
            return (
                f"too few distinct values of input {name!r}: {nd} "
                f"(need {law.min_distinct} to identify its exponent and coefficient)"
            )
    ly = np.log(y)
    if np.ptp(ly) <= 1e-9 * max(1.0, float(np.max(np.abs(ly)))):
        return "flat data: all targets are equal, so no exponent is identified"
    return None


def _check_arrays(law: Law, inputs, y, weights):
    if isinstance(inputs, list) and len(law.inputs) > 1 and len(inputs) == len(law.inputs):
        inputs = tuple(inputs)  # [N, D] means one array per input
    X = np.exp(_as_log_inputs(law, inputs if isinstance(inputs, tuple) else (inputs,)))
    y = np.asarray(y, dtype=float).ravel()
    if len(y) != len(X):
        raise ValueError(f"{len(X)} input rows but {len(y)} targets")
    bad = ~(np.isfinite(y) & (y > 0))
    if bad.any():
        raise ValueError(
            f"targets must be finite and positive (log residuals); rows {np.flatnonzero(bad)[:10].tolist()} "
            f"are not: {y[bad][:10].tolist()}. For a ranking metric fit the error form on "
            "1 − metric (table.to_error) or the saturating form on the metric."
        )
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=float).ravel()
        if len(w) != len(y) or not np.all(np.isfinite(w) & (w >= 0)) or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative, not all zero, one per point")
    return X, y, w


def _on_bound(law: Law, theta_c: np.ndarray, U: np.ndarray) -> tuple[str, ...]:
    names = []
    for i, (t, (lo, hi)) in enumerate(zip(theta_c, law.bounds())):
        if abs(t - lo) <= BOUND_TOL * max(1.0, abs(lo)) or abs(t - hi) <= BOUND_TOL * max(
            1.0, abs(hi)
        ):
            names.append(law.param_names[i])
    for name in law.vanishing(theta_c, U):
        if name not in names:
            names.append(name)
    return tuple(names)


# --------------------------------------------------------------------------- fit


def fit(
    law: Law | str,
    inputs,
    y,
    *,
    weights=None,
    delta: float = 1e-3,
    grid: str | np.ndarray = "full",
    maxiter: int = 2000,
    log_x0: np.ndarray | None = None,
    input_names: Sequence[str] = (),
    target: str = "y",
    transform: ErrorTransform | LogErrorTransform | None = None,
    data: pd.DataFrame | None = None,
) -> FitResult:
    """Fit ``law`` to (inputs, y) by Huber loss on log residuals from a grid of L-BFGS-B starts.

    ``inputs``: one array per law input (a tuple), or an (n, k) array, or one array for a
    one-input law. ``y``: positive targets. ``weights``: optional per-point weights.
    ``grid``: ``"full"`` (default), ``"coarse"``, or an (S, p) array of starting points in the
    law's *natural internal* parametrisation (``law.theta_from_params`` of a parameter dict).
    Returns a ``FitResult``; its ``status`` reports degenerate data, non-convergence and
    parameters on bounds.
    """
    law = get_law(law)
    X, y, w = _check_arrays(law, inputs, y, weights)
    logX = np.log(X)
    if log_x0 is None:
        log_x0 = 0.5 * (logX.min(axis=0) + logX.max(axis=0))
    U = logX - log_x0
    common = dict(
        law=law,
        X=X,
        y=y,
        weights=w,
        delta=delta,
        log_x0=log_x0,
        input_names=tuple(input_names),
        target=target,
        transform=transform,
        data=data,
    )
    why = degeneracy(law, X, y, w)
    if why is not None:
        return _degenerate(law, why, common)
    obj = HuberLogObjective(law, U, y, np.ones_like(y) if w is None else w, delta)
    bounds = law.bounds()
    if isinstance(grid, str):
        starts = law.start_grid(U, y, grid)
    else:
        starts = np.atleast_2d(np.asarray(grid, dtype=float))
        starts = np.array([law.center(t, log_x0) for t in starts])
    with single_threaded_blas():  # every start at once (``optimize.lbfgsb_many``)
        runs = minimize_many(obj, starts, np.zeros(len(starts), dtype=int), bounds, maxiter)
    losses = np.array([r[1] for r in runs])
    losses[~np.isfinite(losses)] = np.inf
    best = int(np.argmin(losses))
    theta_c, f_best, pg, nit, msg = runs[best]
    n_at_best = int(np.sum(losses <= f_best + BEST_ATOL + BEST_RTOL * abs(f_best)))
    return _result(law, theta_c, f_best, pg, nit, msg, U, len(starts), n_at_best, common)


def _degenerate(law: Law, why: str, common: dict) -> FitResult:
    """The explicit failure result of a fit that cannot identify its parameters."""
    nan = np.full(law.n_params, np.nan)
    return FitResult(
        params={k: float("nan") for k in law.param_names},
        theta=nan,
        loss=float("nan"),
        converged=False,
        status="degenerate",
        message=why,
        on_bound=(),
        n_starts=0,
        n_at_best=0,
        theta_centered=nan,
        **common,
    )


def _result(law, theta_c, f, pg, nit, msg, U, n_starts, n_at_best, common) -> FitResult:
    converged = bool(np.isfinite(f) and pg <= CONVERGED_PG)
    on_bound = _on_bound(law, theta_c, U) if converged else ()
    if not converged:
        status = "not_converged"
        message = f"best of {n_starts} starts stopped with projected gradient {pg:.2e} ({msg})"
    elif on_bound:
        status = "on_bound"
        message = f"converged; parameters on a bound: {', '.join(on_bound)}"
    else:
        status, message = "ok", "converged"
    theta = law.uncenter(theta_c, common["log_x0"])
    return FitResult(
        params=law.params(theta),
        theta=theta,
        loss=float(f),
        converged=converged,
        status=status,
        message=message,
        on_bound=on_bound,
        n_starts=n_starts,
        n_at_best=n_at_best,
        theta_centered=theta_c,
        grad_norm=pg,
        nit=nit,
        **common,
    )


def refit(
    result: FitResult,
    weights: np.ndarray,
    start: np.ndarray | None = None,
    maxiter: int = 2000,
) -> FitResult:
    """Refit ``result``'s law on its own data with new point ``weights`` (e.g. bootstrap
    multiplicities), from one start (default: the full fit's optimum — a warm start).
    Same centring, bounds and status rules as ``fit``; ``refit_many`` with one problem."""
    w = np.asarray(weights, dtype=float)[None, :]
    return refit_many(result, weights=w, start=start, maxiter=maxiter)[0]


def refit_many(
    result: FitResult,
    *,
    weights: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    start: np.ndarray | None = None,
    maxiter: int = 2000,
) -> list[FitResult]:
    """Refit ``result``'s law B times on its own inputs, each problem ``b`` with point weights
    ``weights[b]`` (times the fit's own; e.g. bootstrap multiplicities) and/or targets
    ``targets[b]`` (e.g. a parametric bootstrap's simulations), all from one start (default:
    the full fit's optimum — a warm start) and solved together (``optimize.minimize_many``):
    problem ``b`` gets exactly what it would get alone. Same centring, bounds and status rules
    as ``fit``; a problem the data cannot identify is ``degenerate``."""
    law = result.law
    base = result.weights if result.weights is not None else np.ones(result.n_points)
    W = np.atleast_2d(base if weights is None else np.asarray(weights, dtype=float) * base)
    Y = np.atleast_2d(result.y if targets is None else np.asarray(targets, dtype=float))
    n_problems = max(len(W), len(Y))
    W = np.broadcast_to(W, (n_problems, result.n_points))
    Y = np.broadcast_to(Y, (n_problems, result.n_points))
    U = np.log(result.X) - result.log_x0
    theta0 = result.theta_centered if start is None else law.center(start, result.log_x0)

    def common(b: int) -> dict:
        return dict(
            law=law,
            X=result.X,
            y=Y[b] if targets is not None else result.y,
            weights=W[b] if weights is not None else result.weights,
            delta=result.delta,
            log_x0=result.log_x0,
            input_names=result.input_names,
            target=result.target,
            transform=result.transform,
            data=None,
        )

    why = [degeneracy(law, result.X, Y[b], W[b]) for b in range(n_problems)]
    fine = [b for b in range(n_problems) if why[b] is None]
    runs = {}
    if fine:
        obj = HuberLogObjective(law, U, Y[fine], W[fine], result.delta)
        starts = np.repeat(np.asarray(theta0, dtype=float)[None, :], len(fine), axis=0)
        with single_threaded_blas():
            runs = dict(
                zip(fine, minimize_many(obj, starts, range(len(fine)), law.bounds(), maxiter))
            )
    return [
        _degenerate(law, why[b], common(b))
        if why[b] is not None
        else _result(law, *runs[b], U, 1, 1, common(b))
        for b in range(n_problems)
    ]


def retry_unconverged(result: FitResult, grid: str = "coarse", maxiter: int = 2000) -> FitResult:
    """``result`` fitted again when it did not converge (a warm start that stalled on a
    far-off resample or simulation): first restarted from where it stopped (a fresh L-BFGS-B
    memory), then, if that does not converge either, from the law's start ``grid``; same
    points, weights and centring. ``result`` itself when it converged, or when the data leave
    the law's range (``start_grid`` refuses, e.g. simulated values above a saturating law's
    ceiling).

    Bootstrap replicates go through this. On the study's T2 bootstraps 6 % of the saturating
    laws' refits stalled and were lost to the intervals; a restart converges almost all of them
    (to the optimum the grid finds) at a fiftieth of the grid's cost. A replicate at the
    convergence threshold is also what makes the usable set, and with it every interval, differ
    between machines; after a retry such a replicate is rare."""
    if result.status != "not_converged":
        return result
    common = dict(weights=result.weights, delta=result.delta, maxiter=maxiter, log_x0=result.log_x0)
    again = fit(result.law, result.X, result.y, grid=result.theta[None, :], **common)
    if again.status != "not_converged":
        return again
    try:
        return fit(result.law, result.X, result.y, grid=grid, **common)
    except ValueError:
        return again


# --------------------------------------------------------------------------- from a table


def fit_law(
    df: pd.DataFrame,
    law: Law | str,
    *,
    y: str,
    x: str | Sequence[str] | None = None,
    n: str = "n_params",
    d: str = "pairs_seen",
    weights: str | np.ndarray | None = None,
    error: bool | None = None,
    ceiling: float = 1.0,
    transform: ErrorTransform | LogErrorTransform | None = None,
    **fit_kwargs,
) -> FitResult:
    """Fit ``law`` to columns of a results table.

    ``y``: the metric column. ``x``: the input column(s); default ``x`` for one-input laws is
    required, for joint laws it is ``(n, d)`` — N the non-embedding count (``n="n_params_total"``
    for total) and D any exposure column or ``"train_flops"``. ``error``: fit ``to_error(y)``
    (1 − metric for ranking metrics, CE as is); ``None`` means "when the law is an error form",
    and the fitted target is named accordingly (e.g. ``"1 - ndcg@10"``); ``predict_metric``
    maps predictions back. ``transform``: fit ``transform.forward(y)`` instead, with an error
    form (e.g. ``LogErrorTransform(y)``: −ln y, a power law on the log-metric); it overrides
    ``error`` and ``ceiling``. ``weights``: a column name or an array. Rows listed as frozen
    metrics (reranking cannot change them) are refused. Returns a ``FitResult`` whose ``data``
    holds the rows used.
    """
    law = get_law(law)
    if x is None:
        if len(law.inputs) == 1:
            raise ValueError(f"{law.name} has one input: pass x='n_params' or an exposure column")
        x = (n, d)
    cols = (x,) if isinstance(x, str) else tuple(x)
    if len(cols) != len(law.inputs):
        raise ValueError(f"{law.name} takes inputs {law.inputs}; got columns {cols}")
    missing = [c for c in (*cols, y) if c not in df.columns]
    if missing:
        raise ResultsError(f"columns {missing} are not in the table; have {list(df.columns)}")
    if "frozen_metrics" in df.columns:
        frozen = df["frozen_metrics"].map(
            lambda v: y in (v or ()) if not isinstance(v, float) else False
        )
        if frozen.any():
            raise ResultsError(
                f"{y!r} is frozen for {int(frozen.sum())} rows: its cutoff reaches the candidate "
                "depth, so reranking cannot change it. Fix: fit a metric with a smaller cutoff."
            )
    if transform is not None:
        if law.kind != "error" or transform.metric != y:
            raise ValueError(
                f"transform {transform.name!r} is for {transform.metric!r} fitted by an error "
                f"form; got {y!r} and {law.name} (a {law.kind} form)"
            )
        error = True
    if error is None:
        error = law.kind == "error" and not is_error_metric(y)
    if law.kind == "metric" and (error or is_error_metric(y)):
        raise ValueError(
            f"{law.name} models a metric that grows to a ceiling; {y!r} is an error quantity. "
            "Use an error form (PowerLaw, ChinchillaLaw, KaplanLaw) instead."
        )
    if error and not (is_ranking_metric(y) or is_error_metric(y)):
        raise ValueError(
            f"cannot turn {y!r} into an error quantity: unknown metric direction. Pass "
            "error=False to fit the column as it is (it must be positive and decreasing)."
        )
    values = df[[*cols, y]].to_numpy(dtype=float)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise ResultsError(
            f"{int(bad.sum())} rows have NaN/inf in {[*cols, y]}; drop or repair them first:\n"
            f"{df.loc[bad].head(10).to_string()}"
        )
    if transform is None and error:
        transform = ErrorTransform(y, ceiling)
    target = transform.forward(values[:, -1]) if error else values[:, -1]
    if isinstance(weights, str):
        weights = df[weights].to_numpy(dtype=float)
    return fit(
        law,
        tuple(values[:, i] for i in range(len(cols))),
        target,
        weights=weights,
        input_names=cols,
        target=transform.name if transform else y,
        transform=transform,
        data=df.copy(),
        **fit_kwargs,
    )


def fit_table(results: Mapping[str, FitResult] | Sequence[FitResult]) -> pd.DataFrame:
    """A DataFrame of ``FitResult.summary()`` records (keys of a mapping become an index)."""
    if isinstance(results, Mapping):
        rows = []
        for key, r in results.items():
            rec = r.summary()
            key = key if isinstance(key, tuple) else (key,)
            rec.update({f"key{i}": k for i, k in enumerate(key)})
            rows.append(rec)
        return pd.DataFrame(rows)
    return pd.DataFrame([r.summary() for r in results])
