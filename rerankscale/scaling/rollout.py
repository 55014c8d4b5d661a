"""Rollout validation: expanding-window forecasts over sizes and along exposure.

A hold-out of the two largest sizes is one test; a rollout repeats it from every origin and
at every horizon (the expanding-window evaluation of time-series forecasting, Tashman 2000,
"Out-of-sample tests of forecasting accuracy", IJF 16; used for scaling-law ladders, e.g.
Bhagia et al. 2024, arXiv 2412.04403, and Gadre et al. 2024, arXiv 2403.08540):

* ``rollout_sizes``     for every k ≥ 3, fit the size law on the k smallest sizes and forecast
                        **every** larger size (horizon h = 1, 2, … sizes ahead);
* ``rollout_exposure``  for every curve (objective × eval set × size, seeds pooled) and every
                        k ≥ 3, fit the law in exposure on the first k checkpoints and forecast
                        every later one (the same runs continued: ``same_runs=True``);
* ``summarize_rollout`` error, signed bias, relative error and coverage per horizon.

Each row is a ``forecast.forecast_split`` row (prediction, intervals, their method and status,
actual = seed mean, error = prediction − actual, bias = actual − prediction) plus ``axis``
(``"size"`` or ``"exposure"``), ``origin`` (k, points fitted), ``fit_up_to`` (the largest
fitted input), ``horizon`` (h), ``log_distance`` = ln(x / x_max fitted), the extrapolation
distance in log N or log D, and ``rel_error`` = (prediction − actual) / actual.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .forecast import Split, _loop, forecast_split, size_windows
from .laws import Law, get_law
from .parallel import run_tasks
from .table import size_label


def _annotate(
    rows: pd.DataFrame, axis: str, x: str, fitted: np.ndarray, grid: np.ndarray, origin: int
) -> pd.DataFrame:
    top = float(np.max(fitted))
    # nearest grid point: a seed-averaged test input is a geometric mean, not exactly on it
    lx = np.log(rows[x].to_numpy(dtype=float))
    pos = np.abs(lx[:, None] - np.log(grid)[None, :]).argmin(axis=1)
    rows.insert(0, "log_distance", np.log(rows[x].to_numpy(dtype=float) / top))
    rows.insert(0, "horizon", pos - origin + 1)
    rows.insert(0, "fit_up_to", size_label(top) if axis == "size" else f"{top:g}")
    rows.insert(0, "origin", origin)
    rows.insert(0, "axis", axis)
    rows["rel_error"] = rows["error"] / rows["actual"]
    return rows


def rollout_sizes(
    df: pd.DataFrame,
    law: Law | str,
    *,
    y: str | Sequence[str],
    by: Sequence[str] = ("objective", "eval_set"),
    select="final",
    n: str = "n_params",
    min_fit_sizes: int | None = None,
    max_horizon: int | None = None,
    seed: int = 0,
    split: Split = forecast_split,
    **kwargs,
) -> pd.DataFrame:
    """Expanding window over sizes: for k = ``min_fit_sizes`` (default the law's
    ``min_distinct``, 3) … K−1, fit on the k smallest sizes and forecast every larger one (up
    to ``max_horizon`` sizes ahead). Other keyword arguments go to ``split`` (default
    ``forecast_split``: ``x``, ``n_boot``, ``interval``, ``grid``, …); the law must depend on
    ``n``."""
    law, metrics, df, sizes, k0 = size_windows(
        df, law, y, select, n, min_fit_sizes, kwargs.get("x"), "a rollout"
    )
    frames = []
    for k in range(k0, len(sizes)):
        last = len(sizes) if max_horizon is None else min(len(sizes), k + max_horizon)
        sub = df[df[n].isin(sizes[:last])]

        def one(part, metric, i, k=k):
            train, test = part[part[n].isin(sizes[:k])], part[part[n].isin(sizes[k:])]
            rows, res, boot = split(
                train, test, law, y=metric, n=n, seed=seed + 1000 * k + i, **kwargs
            )
            return _annotate(rows, "size", n, sizes[:k], sizes, k), res, boot

        frames.append(_loop(sub, by, metrics, one)[0])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def rollout_exposure(
    df: pd.DataFrame,
    law: Law | str,
    *,
    y: str | Sequence[str],
    x: str = "queries_seen",
    by: Sequence[str] = ("objective", "eval_set", "n_params"),
    min_fit_points: int | None = None,
    origins: Sequence[int] | None = None,
    seed: int = 0,
    **kwargs,
) -> pd.DataFrame:
    """Expanding window along exposure, per curve (``by`` groups, seeds pooled): for k =
    ``min_fit_points`` (default the law's ``min_distinct``) … T−1 distinct values of ``x``
    (or only the k in ``origins``), fit the one-input ``law`` in ``x`` on the first k and
    forecast every later checkpoint.
    The forecast continues the fitted runs, so intervals treat their run effects as known
    (``same_runs=True``: only checkpoint noise is added). Other keyword arguments go to
    ``forecast_split``."""
    law = get_law(law)
    if len(law.inputs) != 1:
        raise ValueError(f"rollout_exposure fits a one-input law in {x!r}, not {law.name}")
    metrics = [y] if isinstance(y, str) else list(y)
    k0 = law.min_distinct if min_fit_points is None else int(min_fit_points)
    kwargs.setdefault("same_runs", True)
    by = [b for b in by if b in df.columns]

    def one(key, curve, grid, k, j, metric):
        train, test = curve[curve[x] <= grid[k - 1]], curve[curve[x] > grid[k - 1]]
        rows, _, _ = forecast_split(
            train, test, law, y=metric, x=x, seed=seed + 1000 * k + j, **kwargs
        )
        rows = _annotate(rows, "exposure", x, grid[:k], grid, k)
        for b, v in zip(by, key):
            if b not in rows.columns:
                rows.insert(0, b, v)
        return rows

    tasks = []
    for key, curve in df.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        grid = np.sort(curve[x].unique())
        ks = (
            range(k0, len(grid)) if origins is None else [k for k in origins if k0 <= k < len(grid)]
        )
        tasks += [
            functools.partial(one, key, curve, grid, k, j, metric)
            for k in ks
            for j, metric in enumerate(metrics)
        ]
    frames = run_tasks(tasks)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


SUMMARY_COLUMNS = (
    "n",
    "mean_log_distance",
    "min_log_distance",
    "max_log_distance",
    "mae",
    "bias",
    "mare",
    "rel_bias",
    "coverage",
    "coverage_pi",
    "n_valid_intervals",
    "interval_method",
    "n_failed",
)


def summarize_rollout(ro: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Per ``by`` (default: axis, eval set, objective, metric, law and horizon): ``n`` forecasts,
    ``mean_log_distance`` (and its min/max), MAE, mean signed bias (actual − predicted), mean
    relative error |prediction − actual|/actual (``mare``) and mean signed relative error
    (``rel_bias`` = −mean rel_error), coverage of the law's interval and of the prediction
    interval over the valid intervals (``n_valid_intervals``), and the interval methods used."""
    if by is None:
        by = [
            c
            for c in ("axis", "eval_set", "objective", "metric", "law", "horizon")
            if c in ro.columns
        ]
    by = list(by)
    if "prediction" not in ro.columns:  # no window to roll out (e.g. fewer than 3 sizes)
        return pd.DataFrame(columns=[*by, *SUMMARY_COLUMNS])
    ok = ro[ro["prediction"].notna()]
    valid = ok["interval_status"] == "ok"
    work = ok.assign(
        abs_rel_error=ok["rel_error"].abs(),
        covered_v=ok["covered"].where(valid).astype(float),
        covered_pi_v=ok["covered_pi"].where(valid).astype(float),
        valid=valid.astype(int),
    )
    out = (
        work.groupby(by, sort=True)
        .agg(
            n=("error", "size"),
            mean_log_distance=("log_distance", "mean"),
            min_log_distance=("log_distance", "min"),
            max_log_distance=("log_distance", "max"),
            mae=("abs_error", "mean"),
            bias=("bias", "mean"),
            mare=("abs_rel_error", "mean"),
            rel_bias=("rel_error", lambda v: -v.mean()),
            coverage=("covered_v", "mean"),
            coverage_pi=("covered_pi_v", "mean"),
            n_valid_intervals=("valid", "sum"),
            interval_method=("interval_method", lambda v: ", ".join(sorted(set(v)))),
        )
        .reset_index()
    )
    failed = ro[ro["prediction"].isna()].groupby(by, sort=True).size().rename("n_failed")
    out = out.merge(failed.reset_index(), on=by, how="left").fillna({"n_failed": 0})
    out["n_failed"] = out["n_failed"].astype(int)
    return out
