"""Notebook 05 (forecast): forecasts of the held-out sizes (T3) and their summary, rolling-
origin backtests, rollout validation (T8, F7), the four forecast methods compared (T9) and the
size law with its forecasts (F1), and the same laws tested on sizes outside the grid (T10,
F8).

Every forecast table gives the prediction, its 95% interval, the actual value, the error and
the signed bias (actual − predicted: positive = the law under-predicts), and names its
``interval_method``. Imports neither torch nor transformers.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from rerankscale import scaling as sc
from rerankscale.reporting import plots
from rerankscale.reporting.analysis import (
    EXPOSURE,
    Analysis,
    first_stage,
    first_stage_values,
    offgrid_table,
)
from rerankscale.reporting.fit_tables import one_input_law, size_fits
from rerankscale.scaling import regime

# --------------------------------------------------------------------------- forecasts (T3, F1)

FORECAST_COLUMNS = [
    "kind",
    "law",
    "eval_set",
    "objective",
    "metric",
    "size",
    "n_params",
    "fit_sizes",
    "n_seeds",
    "prediction",
    "lo",
    "hi",
    "actual",
    "error",
    "abs_error",
    "bias",
    "covered",
    "pi_lo",
    "pi_hi",
    "covered_pi",
    "fit_status",
    "interval_method",
    "interval_status",
    "interval_note",
]


def forecasts(a: Analysis, metrics=None, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """T3: forecasts of the held-out sizes from the others, per eval set × objective × metric,
    by two laws: the size law at the final checkpoint and the joint law at every checkpoint
    (reported at the final one). Columns: prediction, 95% interval (lo, hi), actual, error,
    abs_error, bias (actual − predicted: positive = the law under-predicts), covered."""
    keep = FORECAST_COLUMNS
    if not a.held_out:
        return pd.DataFrame(columns=keep)
    metrics = list(metrics or a.metrics)
    size_fc = pd.concat(
        [
            sc.forecast_holdout(
                a.table,
                one_input_law(m),
                y=m,
                holdout=a.held_out,
                select="final",
                x="n_params",
                n_boot=n_boot,
                seed=seed,
                grid="coarse",
            )
            for m in metrics
        ],
        ignore_index=True,
    )
    joint_fc = sc.forecast_holdout(
        a.table,
        sc.ChinchillaLaw(),
        y=metrics,
        holdout=a.held_out,
        d=EXPOSURE,
        n_boot=n_boot,
        seed=seed,
        grid="coarse",
    )
    last = joint_fc.groupby(["objective", "eval_set", "metric", "size"])["step"].transform("max")
    joint_final = joint_fc[joint_fc["step"] == last]
    out = pd.concat(
        [
            size_fc.assign(kind="size law, final checkpoint"),
            joint_final.assign(kind="joint law, final checkpoint"),
        ],
        ignore_index=True,
    )
    return (
        out[[c for c in keep if c in out]]
        .sort_values(["eval_set", "metric", "objective", "kind", "n_params"])
        .reset_index(drop=True)
    )


def forecast_summary(fc: pd.DataFrame) -> pd.DataFrame:
    """MAE, RMSE, mean signed bias and interval coverage per eval set × metric × objective."""
    if fc.empty:
        return pd.DataFrame(
            columns=[
                "kind",
                "eval_set",
                "metric",
                "objective",
                "n",
                "mae",
                "rmse",
                "bias",
                "coverage",
            ]
        )
    return sc.summarize_forecasts(fc, by=["kind", "eval_set", "metric", "objective"])


# --------------------------------------------------------------------------- off-grid sizes (T10)

OFFGRID_FITS = ("every grid size", "the fitted sizes")


def offgrid_forecasts(a: Analysis, metrics=None, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """T10: the laws of T3 forecast sizes outside the study's grid (``a.offgrid``, another
    study of the same recipe; nothing is fitted on them). Two fits per law: on every grid size
    (the off-grid sizes between them are interpolations, those beyond extrapolations) and on
    the fitted sizes only (the held-out sizes removed, as T3). Columns as T3, plus ``fit_on``.
    Empty when the study names no off-grid table (``analysis.offgrid_table``)."""
    offgrid = offgrid_table(a)
    if offgrid is None:
        return pd.DataFrame(columns=["fit_on", *FORECAST_COLUMNS])
    offgrid_sizes = list(dict.fromkeys(offgrid["size"]))
    table = pd.concat([a.table, offgrid], ignore_index=True)
    frames = []
    for fit_on, held in zip(OFFGRID_FITS, ([], a.held_out)):
        grown = dataclasses.replace(a, table=table, held_out=[*held, *offgrid_sizes], fits={})
        fc = forecasts(grown, metrics, n_boot=n_boot, seed=seed)
        frames.append(fc[fc["size"].isin(offgrid_sizes)].assign(fit_on=fit_on))
    out = pd.concat(frames, ignore_index=True)
    return out[["fit_on", *(c for c in out if c != "fit_on")]].reset_index(drop=True)


def offgrid_summary(fc: pd.DataFrame) -> pd.DataFrame:
    """T10's MAE, RMSE, signed bias and coverage per fit × law × eval set × metric × objective."""
    if fc.empty:
        return pd.DataFrame(columns=["fit_on", *forecast_summary(fc).columns])
    return sc.summarize_forecasts(fc, by=["fit_on", "kind", "eval_set", "metric", "objective"])


def offgrid_regime(a: Analysis, metric: str = "ndcg@10") -> pd.DataFrame:
    """T7's checks over the grid and the off-grid sizes together (``regime.summary``): is
    every size, fitted or not, above the first stage and in the power-law regime, and does
    the seed mean strictly increase with N over all of them? Empty without an off-grid table."""
    offgrid = offgrid_table(a)
    if offgrid is None:
        return pd.DataFrame(columns=["check", "metric", "units", "passed", "worst_value"])
    table = pd.concat([a.table, offgrid], ignore_index=True)
    return regime.summary(table, first_stage_values(a, metric), metric)


def f8_offgrid(a: Analysis, fc: pd.DataFrame, metric: str = "ndcg@10"):
    """F8: metric vs N per objective, the size law fitted on every grid size, and its
    forecasts of the off-grid sizes (stars: their actuals) with 95% intervals (primary eval
    set); ``fc``: T10."""
    whole = dataclasses.replace(a, held_out=[], fits={})
    return _size_figure(whole, fc[fc["fit_on"] == OFFGRID_FITS[0]], metric, "off-grid")


def backtests(a: Analysis, metric: str = "ndcg@10", n_boot: int = 100, seed: int = 0):
    """Rolling-origin backtests of the size law over all sizes: fit on the k smallest sizes,
    predict the next, for every k with enough sizes (final checkpoints)."""
    fc = sc.rolling_backtest(
        a.table,
        one_input_law(metric),
        y=metric,
        select="final",
        x="n_params",
        n_boot=n_boot,
        seed=seed,
        grid="coarse",
    )
    return fc


def rollout(
    a: Analysis,
    metric: str = "ndcg@10",
    n_boot: int = 50,
    seed: int = 0,
    exposure_n_boot: int | None = None,
) -> pd.DataFrame:
    """T8: rollout validation (``scaling.rollout``). Sizes: for every k ≥ 3 the size law on the
    k smallest sizes (final checkpoints, every eval set and objective) forecasts every larger
    size. Exposure: each curve (eval set × objective × size, seeds pooled) fitted on its first
    half of checkpoints forecasts the rest, with ``exposure_n_boot`` draws (default
    ``n_boot // 2``: one bootstrap per curve, 36 curves in the CPU study)."""
    law = one_input_law(metric)
    sizes = sc.rollout_sizes(
        a.table,
        law,
        y=metric,
        select="final",
        x="n_params",
        n_boot=n_boot,
        seed=seed,
        grid="coarse",
    )
    half = max(law.min_distinct, a.table[EXPOSURE].nunique() // 2)
    exposure = sc.rollout_exposure(
        a.table,
        law,
        y=metric,
        x=EXPOSURE,
        origins=(half,),
        n_boot=n_boot // 2 if exposure_n_boot is None else exposure_n_boot,
        seed=seed,
        grid="coarse",
    )
    keep = [
        "axis",
        "eval_set",
        "objective",
        "metric",
        "law",
        "origin",
        "fit_up_to",
        "size",
        "n_params",
        EXPOSURE,
        "horizon",
        "log_distance",
        "n_seeds",
        "prediction",
        "lo",
        "hi",
        "pi_lo",
        "pi_hi",
        "actual",
        "error",
        "abs_error",
        "rel_error",
        "bias",
        "covered",
        "covered_pi",
        "fit_status",
        "interval_method",
        "interval_status",
        "interval_note",
    ]
    out = pd.concat([sizes, exposure], ignore_index=True)
    return out[[c for c in keep if c in out]]


def rollout_summary(ro: pd.DataFrame) -> pd.DataFrame:
    """T8 summary: error, signed bias, relative error and coverage by axis, eval set,
    objective and horizon (with its extrapolation distance in log N or log D)."""
    return sc.summarize_rollout(ro, by=["axis", "eval_set", "objective", "metric", "horizon"])


def f7_rollout(ro: pd.DataFrame):
    """F7: rollout bias (actual − predicted) against extrapolation distance, per axis and
    eval set; hollow markers: the 95% prediction interval missed."""
    return plots.plot_rollout(ro)


def method_comparison(
    a: Analysis, metric: str = "ndcg@10", n_boot: int = 50, seed: int = 0
) -> pd.DataFrame:
    """T9: four ways to forecast ``metric`` compared on held-out error (``scaling.methods``):
    the paper's saturating law on the metric, the error form on 1 − metric, a power law on
    −ln metric, and the two-stage forecast through contrastive entropy (CE in N, then the
    metric from CE by a logistic link fitted on every checkpoint of the fitted sizes). Each
    forecasts the held-out sizes from the others and, in the rollout, every larger size from
    the k smallest (k ≥ 3), final checkpoint, every eval set and objective; one row per
    forecast."""
    fc = sc.compare_methods(
        a.table,
        sc.forecast_methods(metric, via=a.ce),
        y=metric,
        holdout=a.held_out or None,
        n_boot=n_boot,
        seed=seed,
        grid="coarse",
    )
    keep = [
        "evaluation",
        "method",
        "formula",
        "eval_set",
        "objective",
        "metric",
        "law",
        "target",
        "fit_sizes",
        "origin",
        "fit_up_to",
        "size",
        "n_params",
        "horizon",
        "log_distance",
        "n_seeds",
        "prediction",
        "lo",
        "hi",
        "pi_lo",
        "pi_hi",
        "actual",
        "error",
        "abs_error",
        "bias",
        "covered",
        "covered_pi",
        "fit_status",
        "link_status",
        "interval_method",
        "interval_status",
        "interval_note",
    ]
    return fc[[c for c in keep if c in fc]]


def method_comparison_summary(mc: pd.DataFrame) -> pd.DataFrame:
    """T9 summary: per evaluation (hold-out, rollout) and method, pooled over eval sets and
    objectives (``eval_set`` "all") and per eval set: forecasts, MAE, RMSE, signed bias
    (actual − predicted), coverage of the 95% law and prediction intervals, rank by MAE."""
    pooled = sc.summarize_methods(mc, by=["evaluation"]).assign(eval_set="all")
    per_set = sc.summarize_methods(mc, by=["evaluation", "eval_set"])
    out = pd.concat([pooled, per_set], ignore_index=True)
    lead = ["evaluation", "eval_set", "method"]
    out = out[lead + [c for c in out.columns if c not in lead]]
    return out.sort_values("evaluation", kind="stable").reset_index(drop=True)


def f1_model_size(a: Analysis, fc: pd.DataFrame, metric: str = "ndcg@10"):
    """F1: metric vs N per objective, the size law fitted without the held-out sizes, and its
    forecasts with 95% intervals at the held-out sizes (primary eval set)."""
    return _size_figure(a, fc, metric, "held out")


def _size_figure(a: Analysis, fc: pd.DataFrame, metric: str, forecast_of: str):
    """The size law fitted on ``a``'s fitted sizes (final checkpoints) with ``fc``'s size-law
    forecasts on the primary eval set (``plots.plot_size_scaling``)."""
    size_rows = fc[(fc["kind"] == "size law, final checkpoint") & (fc["eval_set"] == a.primary)]
    return plots.plot_size_scaling(
        sc.final_checkpoints(a.fitted_rows()),
        size_fits(a, metric),
        size_rows,
        metric=metric,
        baseline=first_stage(a, metric),
        eval_set=a.primary,
        forecast_of=forecast_of,
    )
