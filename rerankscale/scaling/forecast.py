"""Forecast checks: fit on small models, predict larger held-out ones, judge by held-out error.

* ``forecast_split``     fit on one table, predict the rows of another (the primitive);
* ``forecast_holdout``   fit on all but the largest sizes, predict the held-out sizes at their
                         exposures, per (objective, eval set) and metric;
* ``rolling_backtest``   rolling origin: fit on sizes ≤ k-th, predict the (k+1)-th, for every k
                         with enough sizes;
* ``summarize_forecasts`` MAE, RMSE, signed bias and interval coverage per held-out size;
* ``compare_laws``       rank functional forms by held-out error.

Every forecast row reports the prediction, its 95% interval for the law (``lo``/``hi``), a
wider prediction interval that adds the run-to-run spread measured from seeds where there are
seeds (``pi_lo``/``pi_hi``: where a new seed-averaged run should land; ``parametric.py``), the
method that made them (``interval_method``: the ``"run bootstrap"`` over runs when every fitted
size has enough runs and most resamples are usable, else the ``"parametric bootstrap"``, with
the reason in ``interval_note``) and whether they are valid (``interval_status``),
the actual value (averaged over seeds at that checkpoint), error = prediction − actual,
absolute error, bias = actual − prediction (positive: the law under-predicts, as the paper's
"conservative" forecasts did) and whether each interval covers the actual. Degenerate or
failed fits appear as rows with their ``fit_status`` and NaN predictions, never dropped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .bootstrap import BootstrapResult, bootstrap_fit
from .fit import FitResult, fit_law
from .laws import Law, get_law
from .parallel import run_tasks
from .parametric import (
    PARAMETRIC_BOOTSTRAP,
    RUN_BOOTSTRAP,
    NoiseNotEstimable,
    estimate_noise,
    parametric_bootstrap,
    prediction_noise,
)
from .table import final_checkpoints, seed_average, size_label

Select = str | int | Callable[[pd.DataFrame], pd.DataFrame]
# fit on a train table, forecast a test table: (train, test, law, *, y, n, seed, **kw) ->
# (rows, fit, bootstrap), as ``forecast_split``
Split = Callable[..., tuple]


def select_rows(df: pd.DataFrame, select: Select = "all") -> pd.DataFrame:
    """``"all"`` checkpoints, the ``"final"`` one of each run, the last ``k`` (an int), or a
    callable DataFrame → DataFrame."""
    if callable(select):
        return select(df)
    if select == "all":
        return df
    if select == "final":
        return final_checkpoints(df, 1)
    if isinstance(select, int) and select > 0:
        return final_checkpoints(df, select)
    raise ValueError(f"select must be 'all', 'final', a positive int or a callable, got {select!r}")


def _aggregate_test(
    test: pd.DataFrame, cols: Sequence[str], y: str, average_seeds: bool
) -> pd.DataFrame:
    keys = [c for c in ("n_params", "step") if c in test.columns]
    if not average_seeds or not keys:
        out = test[[*dict.fromkeys([*keys, *cols, y])]].copy()
        out["n_seeds"] = 1
        out["size"] = test["size"] if "size" in test.columns else test["n_params"].map(size_label)
        return out.rename(columns={y: "actual"})
    # the law's inputs averaged geometrically, the metric arithmetically
    agg = seed_average(test, [y], by=keys, geometric=[c for c in cols if c not in keys])
    if "size" not in agg.columns:
        agg["size"] = agg["n_params"].map(size_label)
    agg = agg[[*dict.fromkeys([*keys, *cols, y]), "n_seeds", "size"]]
    return agg.rename(columns={y: "actual"})


MIN_USABLE_SHARE = 0.9  # below this share of usable resamples the run bootstrap is invalid
MIN_RUNS_PER_SIZE = 3  # the run bootstrap needs this many runs at every fitted size
MIN_RUNS = 8  # and this many runs in all
INTERVALS = ("auto", "run", "parametric")


def run_bootstrap_unsupported(result: FitResult, groups: str, size: str) -> str | None:
    """Why resampling runs cannot support an interval for ``result`` by design, or None:
    fewer than ``MIN_RUNS_PER_SIZE`` runs at some fitted size (resamples lose that size), or
    fewer than ``MIN_RUNS`` runs in all (G runs have only C(2G−1, G) distinct resamples, and
    the bootstrap variance is (G−1)/G of the sampling variance)."""
    data = result.data
    if data is None or groups not in data.columns or size not in data.columns:
        return f"no {groups!r}/{size!r} columns to resample runs by size"
    per_size = data.groupby(size)[groups].nunique()
    if per_size.min() < MIN_RUNS_PER_SIZE:
        return (
            f"{int(per_size.min())} run(s) at some fitted size; the run bootstrap needs "
            f"{MIN_RUNS_PER_SIZE}"
        )
    if per_size.sum() < MIN_RUNS:
        return f"{int(per_size.sum())} runs; the run bootstrap needs {MIN_RUNS}"
    return None


def choose_interval(
    result: FitResult,
    interval: str = "auto",
    *,
    groups: str = "run_id",
    size: str = "n_params",
    n_boot: int = 200,
    seed: int = 0,
    ci: float = 0.95,
    same_runs: bool = False,
) -> tuple[BootstrapResult | None, str, str]:
    """The bootstrap behind a forecast's intervals: (bootstrap or None, method, note).

    ``interval="run"``: the run bootstrap; ``"parametric"``: the parametric bootstrap;
    ``"auto"``: the run bootstrap when the design supports it (``run_bootstrap_unsupported``)
    and at least ``MIN_USABLE_SHARE`` of its resamples are usable, else the parametric
    bootstrap, with the reason in ``note``. When the parametric bootstrap cannot measure the
    noise, the bootstrap is None and ``note`` says why. ``same_runs``: the forecast continues
    the fitted runs (``estimate_noise``)."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, got {interval!r}")
    note = ""
    if interval in ("auto", "run"):
        why = run_bootstrap_unsupported(result, groups, size) if interval == "auto" else None
        if why is None:
            boot = bootstrap_fit(result, groups=groups, n_boot=n_boot, seed=seed, ci=ci)
            usable = int(boot.usable.sum())
            if interval == "run" or usable >= MIN_USABLE_SHARE * boot.n_boot:
                return boot, RUN_BOOTSTRAP, ""
            why = f"run bootstrap: {usable} of {boot.n_boot} resamples usable"
        note = why
    try:
        boot = parametric_bootstrap(
            result, groups=groups, size=size, n_boot=n_boot, seed=seed, ci=ci, same_runs=same_runs
        )
    except NoiseNotEstimable as e:
        return None, PARAMETRIC_BOOTSTRAP, "; ".join(filter(None, [note, str(e)]))
    return boot, PARAMETRIC_BOOTSTRAP, note


def forecast_split(
    train: pd.DataFrame,
    test: pd.DataFrame,
    law: Law | str,
    *,
    y: str,
    x: str | Sequence[str] | None = None,
    n: str = "n_params",
    d: str = "pairs_seen",
    error: bool | None = None,
    ceiling: float = 1.0,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    groups: str = "run_id",
    average_seeds: bool = True,
    interval: str = "auto",
    same_runs: bool = False,
    **fit_kwargs,
) -> tuple[pd.DataFrame, FitResult, BootstrapResult | None]:
    """Fit ``law`` to ``train``, predict ``test`` (seed-averaged per (n_params, step) unless
    ``average_seeds=False``) on the metric's scale, with intervals from ``choose_interval``
    (``interval``: "auto", "run" or "parametric"). ``same_runs=True`` when ``test`` continues
    the runs of ``train`` (later checkpoints): prediction intervals then add only the
    within-run noise. Returns (rows, fit, bootstrap)."""
    law = get_law(law)
    result = fit_law(train, law, y=y, x=x, n=n, d=d, error=error, ceiling=ceiling, **fit_kwargs)
    cols = list(result.input_names)
    rows = _aggregate_test(test, cols, y, average_seeds)
    X = tuple(rows[c].to_numpy(dtype=float) for c in cols)
    boot, method, note = None, "none", ""
    nan = np.full(len(rows), np.nan)
    pred, lo, hi, pi_lo, pi_hi = nan, nan, nan, nan, nan
    if result.status != "degenerate":
        pred = result.predict_metric(*X)
        if n_boot > 0:
            boot, method, note = choose_interval(
                result,
                interval,
                groups=groups,
                size=n,
                n_boot=n_boot,
                seed=seed,
                ci=ci,
                same_runs=same_runs,
            )
        if boot is not None and boot.usable.any():
            draws, pi_draws = forecast_draws(
                boot, X, rows["n_seeds"], seed=seed, groups=groups, size=n, same_runs=same_runs
            )
            keep = boot.usable
            lo, hi = metric_interval(result, draws[keep], ci)
            if pi_draws is not None:
                pi_lo, pi_hi = metric_interval(result, pi_draws[keep], ci)
    status = interval_status(
        None if boot is None else boot.usable, pred, lo, hi, why=note if boot is None else None
    )
    rows = forecast_columns(
        rows,
        pred,
        (lo, hi),
        (pi_lo, pi_hi),
        status,
        fit_status=result.status,
        interval_method=method,
        interval_note=note,
        n_boot_ok=0 if boot is None else int(boot.usable.sum()),
        metric=y,
        law=law.name,
        target=result.target,
    )
    return rows, result, boot


PI_SEED_OFFSET = 7919  # prediction noise draws from seed + this (apart from the bootstrap's)


def noise_factors(
    boot: BootstrapResult,
    n_seeds,
    *,
    seed: int,
    groups: str = "run_id",
    size: str = "n_params",
    same_runs: bool = False,
) -> np.ndarray | None:
    """exp(v) per replicate of ``boot`` (B, m): where the seed mean of ``n_seeds[k]`` new runs
    lands relative to the law's draw, on the fitted scale (``parametric.prediction_noise`` from
    ``seed + PI_SEED_OFFSET``, with the bootstrap's noise model or one measured from its fit);
    None when the noise cannot be measured."""
    try:
        noise = getattr(boot, "noise", None) or estimate_noise(
            boot.fit, groups=groups, size=size, same_runs=same_runs
        )
    except NoiseNotEstimable:
        return None
    return np.exp(prediction_noise(boot, noise, np.asarray(n_seeds), seed + PI_SEED_OFFSET))


def forecast_draws(
    boot: BootstrapResult,
    X,
    n_seeds,
    *,
    seed: int,
    groups: str = "run_id",
    size: str = "n_params",
    same_runs: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per replicate of ``boot`` (all B rows, usable or not; callers keep ``boot.usable``),
    on the fitted scale at inputs ``X``: the law's draw (B, m), and where a new seed mean
    should land, the draw times ``noise_factors`` (None when the noise cannot be measured)."""
    draws = boot.fit.law.predict_many(boot.thetas, boot.fit._log_inputs(X))
    factors = noise_factors(boot, n_seeds, seed=seed, groups=groups, size=size, same_runs=same_runs)
    return draws, None if factors is None else draws * factors


def forecast_columns(
    rows: pd.DataFrame, pred, interval, prediction_interval, status, **labels
) -> pd.DataFrame:
    """``rows`` (with ``actual``) completed into forecast rows: prediction, ``lo``/``hi``,
    ``pi_lo``/``pi_hi``, error = prediction − actual, abs_error, bias = actual − prediction,
    ``covered``/``covered_pi`` (NaN unless ``status`` is ``"ok"``), ``interval_status`` and the
    constant ``labels`` (fit_status, interval_method, interval_note, n_boot_ok, metric, law,
    target); metric, law, size, n_params and step lead."""
    (lo, hi), (pi_lo, pi_hi) = interval, prediction_interval
    actual = rows["actual"].to_numpy(dtype=float)
    valid = np.asarray(status) == "ok"
    rows = rows.assign(
        prediction=pred,
        lo=lo,
        hi=hi,
        pi_lo=pi_lo,
        pi_hi=pi_hi,
        error=pred - actual,
        abs_error=np.abs(pred - actual),
        bias=actual - pred,
        covered=np.where(valid, (lo <= actual) & (actual <= hi), np.nan),
        covered_pi=np.where(valid, (pi_lo <= actual) & (actual <= pi_hi), np.nan),
        interval_status=status,
    ).assign(**labels)
    order = [
        "fit_status",
        "interval_method",
        "interval_status",
        "interval_note",
        "n_boot_ok",
        "metric",
        "law",
        "target",
    ]
    rows = rows[[c for c in rows.columns if c not in order] + [c for c in order if c in rows]]
    lead = [c for c in ("metric", "law", "size", "n_params", "step") if c in rows.columns]
    return rows[lead + [c for c in rows.columns if c not in lead]]


def interval_status(usable: np.ndarray | None, pred, lo, hi, why: str | None = None) -> np.ndarray:
    """Per forecast: ``"ok"`` when the bootstrap (its ``usable`` replicates; None: no
    bootstrap) supports an interval, else why not.

    Resampling runs needs several runs per size: with one seed at each of 4 sizes most
    resamples miss a size and are degenerate, and the few usable ones are the original data, so
    the "interval" collapses onto the prediction. Such an interval is never reported as valid:
    ``"no bootstrap"`` (or ``"invalid: <why>"`` when none could be made),
    ``"invalid: k of B resamples usable"`` (share < ``MIN_USABLE_SHARE``) or
    ``"invalid: zero width"``; its ``covered`` is NaN, so it never counts towards coverage."""
    pred, lo, hi = (np.asarray(v, dtype=float) for v in (pred, lo, hi))
    if usable is None:
        return np.full(len(pred), f"invalid: {why}" if why else "no bootstrap", dtype=object)
    ok, total = int(np.sum(usable)), len(usable)
    if ok < MIN_USABLE_SHARE * total:
        return np.full(len(pred), f"invalid: {ok} of {total} resamples usable", dtype=object)
    width = hi - lo
    tiny = ~np.isfinite(width) | (width <= 1e-9 * np.maximum(np.abs(pred), 1e-12))
    return np.where(tiny, "invalid: zero width", "ok").astype(object)


def metric_interval(result: FitResult, draws: np.ndarray, ci: float = 0.95):
    """Percentile interval at level ``ci`` of ``draws`` (fitted scale, one row per replicate),
    mapped to the metric's scale (bounds swap under 1 − metric)."""
    a, b = np.quantile(draws, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
    if result.transform is not None:
        a, b = result.transform.inverse(a), result.transform.inverse(b)
    return np.minimum(a, b), np.maximum(a, b)


def _sizes(df: pd.DataFrame, n: str) -> np.ndarray:
    return np.sort(df[n].unique())


def _resolve_sizes(df: pd.DataFrame, n: str, which) -> list[float]:
    sizes = _sizes(df, n)
    if isinstance(which, int):
        if not 0 < which < len(sizes):
            raise ValueError(
                f"holdout={which} with {len(sizes)} sizes: must be between 1 and {len(sizes) - 1}"
            )
        return list(sizes[-which:])
    out = []
    for w in which:
        if isinstance(w, str):
            match = df.loc[df["size"] == w, n].unique() if "size" in df.columns else []
            if len(match) != 1:
                raise ValueError(f"size label {w!r} does not name exactly one size")
            out.append(match[0])
        elif w in set(sizes):
            out.append(w)
        else:
            raise ValueError(f"size {w!r} not in the table's sizes {sizes.tolist()}")
    return out


def _loop(df, by, metrics, fn):
    """``fn(part, metric, i)`` for every ``by`` group × metric (``i`` counts the tasks), run on
    several cores by ``parallel.run_tasks`` (the same results as one process); returns the rows
    (with the group's columns in front) and ``{(group..., metric): (fit, bootstrap)}``."""
    by = [b for b in by if b in df.columns]
    groups = df.groupby(by, sort=True) if by else [((), df)]
    keys, tasks = [], []
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        for metric in metrics:
            keys.append((key, metric))
            tasks.append(functools.partial(fn, part, metric, len(tasks)))
    frames, fits = [], {}
    for (key, metric), (rows, res, boot) in zip(keys, run_tasks(tasks)):
        for b, v in zip(by, key):
            rows.insert(0, b, v)
        frames.append(rows)
        fits[(*key, metric)] = (res, boot)
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), fits


def forecast_holdout(
    df: pd.DataFrame,
    law: Law | str,
    *,
    y: str | Sequence[str],
    holdout: int | Sequence = 2,
    by: Sequence[str] = ("objective", "eval_set"),
    select: Select = "all",
    n: str = "n_params",
    seed: int = 0,
    return_fits: bool = False,
    split: Split = forecast_split,
    **kwargs,
):
    """Fit on all sizes but the ``holdout`` largest (or the listed sizes: labels or N values)
    and forecast the held-out sizes, per ``by`` group and metric ``y``. Rows are chosen by
    ``select`` ("all", "final", last k, or a callable). Other keyword arguments go to
    ``split`` (default ``forecast_split``: ``x``, ``d``, ``n_boot``, ``ci``, ``error``,
    ``ceiling``, ``grid``...; ``twostage.two_stage_split`` forecasts through a link).
    Returns the forecast DataFrame, or (DataFrame, {(group..., metric): (fit, bootstrap)})."""
    law = get_law(law)
    metrics = [y] if isinstance(y, str) else list(y)
    df = select_rows(df, select)
    held = _resolve_sizes(df, n, holdout)

    def one(part, metric, i):
        train, test = part[~part[n].isin(held)], part[part[n].isin(held)]
        rows, res, boot = split(train, test, law, y=metric, n=n, seed=seed + i, **kwargs)
        fit_sizes = _sizes(train, n)
        rows.insert(0, "fit_sizes", ",".join(size_label(s) for s in fit_sizes))
        return rows, res, boot

    out, fits = _loop(df, by, metrics, one)
    return (out, fits) if return_fits else out


def size_windows(
    df: pd.DataFrame,
    law: Law | str,
    y: str | Sequence[str],
    select: Select,
    n: str,
    min_fit_sizes: int | None,
    x,
    what: str,
):
    """What every forecast over sizes starts from: the law (checked to depend on ``n``), the
    metrics, the selected rows, their sorted distinct sizes and the first window ``k0``
    (``min_fit_sizes``, default the law's ``min_distinct``)."""
    law = get_law(law)
    x_cols = (x,) if isinstance(x, str) else tuple(x or ())
    if len(law.inputs) == 1 and n not in x_cols:
        raise ValueError(
            f"{law.name} with x={x!r} does not depend on {n!r}: "
            f"{what} over sizes needs a law in N (x=n or a joint law)"
        )
    metrics = [y] if isinstance(y, str) else list(y)
    df = select_rows(df, select)
    k0 = law.min_distinct if min_fit_sizes is None else int(min_fit_sizes)
    return law, metrics, df, _sizes(df, n), k0


def rolling_backtest(
    df: pd.DataFrame,
    law: Law | str,
    *,
    y: str | Sequence[str],
    by: Sequence[str] = ("objective", "eval_set"),
    select: Select = "all",
    n: str = "n_params",
    min_fit_sizes: int | None = None,
    seed: int = 0,
    **kwargs,
) -> pd.DataFrame:
    """Rolling-origin backtest over sizes: for k = min_fit_sizes .. K−1, fit on the k smallest
    sizes and forecast the (k+1)-th. ``min_fit_sizes`` defaults to the law's ``min_distinct``
    (3: fewer sizes cannot identify an exponent, a coefficient and a floor). Columns as in
    ``forecast_holdout`` plus ``origin`` (k) and ``fit_up_to`` (the largest fitted size)."""
    law, metrics, df, sizes, k0 = size_windows(
        df, law, y, select, n, min_fit_sizes, kwargs.get("x"), "a backtest"
    )
    frames = []
    for k in range(k0, len(sizes)):
        sub = df[df[n].isin(sizes[: k + 1])]

        def one(part, metric, i, k=k):
            train, test = part[part[n].isin(sizes[:k])], part[part[n] == sizes[k]]
            rows, res, boot = forecast_split(
                train, test, law, y=metric, n=n, seed=seed + 1000 * k + i, **kwargs
            )
            rows.insert(0, "fit_up_to", size_label(sizes[k - 1]))
            rows.insert(0, "origin", k)
            return rows, res, boot

        frames.append(_loop(sub, by, metrics, one)[0])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def summarize_forecasts(fc: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """MAE, RMSE, mean signed bias (actual − predicted), interval coverage and counts per
    ``by`` (default: the grouping columns present plus metric, law and held-out size)."""
    if by is None:
        by = [
            c
            for c in ("origin", "objective", "eval_set", "metric", "law", "size")
            if c in fc.columns
        ]
    by = list(by)

    def agg(g):
        ok = g["prediction"].notna()
        e = g.loc[ok, "error"]
        return pd.Series(
            dict(
                n=int(ok.sum()),
                n_failed=int((~ok).sum()),
                mae=e.abs().mean(),
                rmse=float(np.sqrt((e**2).mean())) if ok.any() else np.nan,
                bias=g.loc[ok, "bias"].mean(),
                coverage=g.loc[ok, "covered"].astype(float).mean(),
                coverage_pi=g.loc[ok, "covered_pi"].astype(float).mean(),
                n_valid_intervals=int(
                    (g.get("interval_status", pd.Series("ok", g.index))[ok] == "ok").sum()
                ),
                interval_method=", ".join(sorted(set(g.get("interval_method", pd.Series(["-"]))))),
            )
        )

    keys = fc[by].drop_duplicates().reset_index(drop=True)
    rows = [agg(fc.loc[(fc[by] == keys.loc[i]).all(axis=1)]) for i in range(len(keys))]
    out = pd.concat([keys, pd.DataFrame(rows)], axis=1)
    return out.sort_values(by).reset_index(drop=True)


def compare_laws(
    fc: pd.DataFrame, by: Sequence[str] = ("objective", "eval_set", "metric")
) -> pd.DataFrame:
    """Compare functional forms by held-out error: per ``by`` group and law, MAE, RMSE, bias and
    coverage over all held-out points (concatenate the forecast frames of several laws first),
    with ``rank`` by MAE within each group (1 = best). Laws whose fits failed on some points
    carry ``n_failed`` > 0."""
    by = [b for b in by if b in fc.columns]
    s = summarize_forecasts(fc, [*by, "law"])
    s["rank"] = s.groupby(by)["mae"].rank(method="min") if by else s["mae"].rank(method="min")
    return s.sort_values([*by, "rank"]).reset_index(drop=True)
