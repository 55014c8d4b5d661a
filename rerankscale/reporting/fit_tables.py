"""Notebook 04 (fit): is the study in the paper's regime (T7), the final metrics (T1), the
fitted size, exposure and joint laws (T2) and the figures drawn from them (F2, F3, F6).

Size laws use the paper's saturating form on the final checkpoint of each run, y = a + b·N^c
with a ≤ ceiling (``one_input_law``; the error form for contrastive entropy); the joint law is
Chinchilla's on the error 1 − metric, L(N, D) = E + A·N^−α + B·D^−β, fitted on every checkpoint
of the non-held-out sizes. The fits are memoised on the ``Analysis`` (``Analysis.cached_fits``),
so notebook 05 reuses ``size_fits`` for F1. Imports neither torch nor transformers.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from rerankscale import scaling as sc
from rerankscale.reporting import plots
from rerankscale.reporting.analysis import (
    EXPOSURE,
    FIRST_STAGE,
    Analysis,
    first_stage,
    first_stage_values,
)
from rerankscale.scaling import regime
from rerankscale.scaling.parallel import run_tasks

# --------------------------------------------------------------------------- T7


def t7_regime(a: Analysis, metric: str = "ndcg@10") -> pd.DataFrame:
    """T7: is the study in the paper's regime? (``regime.summary``, per eval set pooled)."""
    return regime.summary(a.table, first_stage_values(a, metric), metric)


# --------------------------------------------------------------------------- T1


def t1_final_metrics(a: Analysis) -> pd.DataFrame:
    """T1: final-checkpoint metrics per eval set × objective × size (mean ± sd over seeds),
    with the first-stage ranking as the baseline row of each eval set."""
    final = sc.final_checkpoints(a.table)
    rows = []
    for (eval_set, objective, size), g in final.groupby(["eval_set", "objective", "size"]):
        row = {
            "eval_set": eval_set,
            "objective": objective,
            "size": size,
            "n_params": int(g["n_params"].iloc[0]),
            "n_seeds": len(g),
            "queries_seen": int(g["queries_seen"].median()),
        }
        for m in a.metrics:
            row[m] = g[m].mean()
            row[f"{m} sd"] = g[m].std(ddof=1) if len(g) > 1 else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    if a.baseline is not None:
        base = a.baseline.assign(
            objective=FIRST_STAGE, size="-", n_params=0, n_seeds=1, queries_seen=0
        )
        out = pd.concat([base[[c for c in out.columns if c in base]], out], ignore_index=True)
    out = out.sort_values(["eval_set", "n_params", "objective"], kind="stable")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- fits (T2, F2, F3)


def one_input_law(metric: str) -> sc.Law:
    """The paper's saturating form y = a + b·x^c for ranking metrics; the error form
    L = E + A·x^−α for error quantities such as contrastive entropy."""
    return sc.PowerLaw() if sc.is_error_metric(metric) else sc.SaturatingLaw()


def size_fits(
    a: Analysis, metric: str = "ndcg@10", eval_set: str | None = None, grid: str = "coarse"
) -> dict[str, sc.FitResult]:
    """Per objective: the size law (``one_input_law``) on the final checkpoint of each run of
    the fitted sizes."""
    final = sc.final_checkpoints(a.fitted_rows(eval_set))
    return a.cached_fits(
        f"size-{grid}",
        metric,
        eval_set,
        lambda: {
            obj: sc.fit_law(g, one_input_law(metric), y=metric, x="n_params", grid=grid)
            for obj, g in final.groupby("objective")
        },
    )


def exposure_fits(
    a: Analysis, metric: str = "ndcg@10", eval_set: str | None = None, grid: str = "coarse"
) -> dict[tuple[str, float], sc.FitResult]:
    """Per (objective, size): the saturating law in training queries seen, seeds pooled."""
    rows = a.on(eval_set)
    return a.cached_fits(
        f"exposure-{grid}",
        metric,
        eval_set,
        lambda: {
            (obj, n): sc.fit_law(g, one_input_law(metric), y=metric, x=EXPOSURE, grid=grid)
            for (obj, n), g in rows.groupby(["objective", "n_params"])
        },
    )


def joint_fits(
    a: Analysis,
    metric: str = "ndcg@10",
    eval_set: str | None = None,
    d: str = EXPOSURE,
    grid: str = "coarse",
) -> dict[str, sc.FitResult]:
    """Per objective: Chinchilla's law on 1 − metric (or CE) in (N, D), every checkpoint of the
    fitted sizes."""
    rows = a.fitted_rows(eval_set)
    return a.cached_fits(
        f"joint-{d}-{grid}",
        metric,
        eval_set,
        lambda: {
            obj: sc.fit_law(g, sc.ChinchillaLaw(), y=metric, n="n_params", d=d, grid=grid)
            for obj, g in rows.groupby("objective")
        },
    )


def t2_laws(a: Analysis, metrics=None, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """T2: fitted size and joint laws per eval set × objective × metric, each parameter with
    its 95% bootstrap interval over runs, the fit status and the parameters on a bound."""
    tasks = []  # one bootstrap per fit, on several cores (``scaling.parallel``)
    for eval_set in a.eval_sets:
        for metric in metrics or a.metrics:
            for kind, fits in (
                ("size", size_fits(a, metric, eval_set)),
                ("joint", joint_fits(a, metric, eval_set)),
            ):
                tasks += [
                    functools.partial(_law_rows, r, eval_set, obj, metric, kind, n_boot, seed)
                    for obj, r in fits.items()
                ]
    return pd.DataFrame([row for rows in run_tasks(tasks) for row in rows])


def _law_rows(r: sc.FitResult, eval_set, objective, metric, kind, n_boot, seed) -> list[dict]:
    base = {
        "eval_set": eval_set,
        "objective": objective,
        "metric": metric,
        "law": r.law.name,
        "kind": kind,
        "target": r.target,
        "status": r.status,
        "on_bound": ",".join(r.on_bound),
        "n_points": r.n_points,
        "n_runs": int(r.data["run_id"].nunique()) if r.data is not None else 0,
    }
    if r.status == "degenerate":
        return [{**base, "param": "-", "estimate": np.nan, "lo": np.nan, "hi": np.nan}]
    intervals = sc.bootstrap_fit(r, n_boot=n_boot, seed=seed).param_intervals() if n_boot else None
    out = []
    for name in r.law.param_names:
        row = {**base, "param": name, "estimate": r.params[name], "lo": np.nan, "hi": np.nan}
        if intervals is not None:
            iv = intervals.set_index("param").loc[name]
            row.update(lo=iv["lo"], hi=iv["hi"])
        out.append(row)
    return out


def f2_exposure(a: Analysis, metric: str = "ndcg@10"):
    """F2: metric against training queries per size and objective, with per-size fits."""
    return plots.plot_exposure_scaling(
        a.on(),
        exposure_fits(a, metric),
        metric=metric,
        exposure=EXPOSURE,
        baseline=first_stage(a, metric),
        eval_set=a.primary,
    )


def f3_joint(a: Analysis, metric: str = "ndcg@10"):
    """F3: the joint law's slice at every size (dashed: held-out sizes, not fitted)."""
    return plots.plot_joint_slices(
        a.on(),
        joint_fits(a, metric),
        metric=metric,
        exposure=EXPOSURE,
        heldout_sizes=a.held_out,
        baseline=first_stage(a, metric),
        eval_set=a.primary,
    )


def f6_contrastive_entropy(a: Analysis):
    """F6: contrastive entropy against NDCG@10 and MRR@10, every checkpoint."""
    return plots.plot_ce_vs_metric(
        a.on(), ce=a.ce, metrics=("ndcg@10", "mrr@10"), eval_set=a.primary
    )
