"""The study's tables and figures (T1–T9, F1–F7) from a results table.

Notebooks 04 (fit), 05 (forecast) and 06 (compute) call these functions and display what they
return; ``save`` writes an artifact to ``figures/`` (PNG + PDF + the CSV behind a figure, CSV
for a table). Imports neither torch nor transformers: the analysis runs on a results table
alone.

Conventions (DESIGN.md §7):
- N is the non-embedding parameter count; the exposure axis D is training queries seen (the
  same for every objective, so objectives compare at equal data); compute is dense training
  FLOPs 6·N·tokens, the attention term reported separately.
- Size laws use the paper's saturating form on the final checkpoint of each run,
  y = a + b·N^c with a ≤ ceiling; the joint law is Chinchilla's on the error 1 − metric,
  L(N, D) = E + A·N^−α + B·D^−β, fitted on every checkpoint of the non-held-out sizes.
- Intervals are percentile intervals of a bootstrap over runs (size × seed), or of the
  parametric bootstrap where runs are too few (``scaling.forecast.choose_interval``); every
  forecast table names its ``interval_method``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rerankscale import scaling as sc
from rerankscale.config import StudyConfig, parse_size
from rerankscale.evaluation.results import ResultsError
from rerankscale.evaluation.results import load as load_results
from rerankscale.io import atomic_write_text
from rerankscale.orchestration.study import load_preset, resolve
from rerankscale.reporting import plots, rollout_plots
from rerankscale.reporting.artifacts import writable
from rerankscale.scaling import regime

FIRST_STAGE = "first stage (BM25)"
HEADLINE = ("ndcg@10", "mrr@10", "map")
EXPOSURE = "queries_seen"


@dataclass
class Analysis:
    """A results table with what the analysis needs to know about the study."""

    table: pd.DataFrame
    study: StudyConfig
    baseline: pd.DataFrame | None
    eval_sets: list[str]
    held_out: list[str]
    fits: dict = field(default_factory=dict)  # memo of fitted laws, see ``cached_fits``

    @property
    def primary(self) -> str:
        """The eval set the figures show (the study's first)."""
        return self.eval_sets[0]

    @property
    def ce(self) -> str:
        return next(c for c in self.table.columns if c.startswith("ce@"))

    @property
    def metrics(self) -> list[str]:
        return [*(m for m in HEADLINE if m in self.table), self.ce]

    def on(self, eval_set: str | None = None) -> pd.DataFrame:
        return self.table[self.table["eval_set"] == (eval_set or self.primary)]

    def cached_fits(self, kind: str, metric: str, eval_set: str | None, build) -> dict:
        """Fit once per (kind, metric, eval set, held-out sizes): the tables and figures of a
        notebook share the same fitted laws instead of refitting them."""
        key = (kind, metric, eval_set or self.primary, tuple(self.held_out))
        if key not in self.fits:
            self.fits[key] = build()
        return self.fits[key]

    def fitted_rows(self, eval_set: str | None = None) -> pd.DataFrame:
        """Rows of the sizes the laws are fitted on (the held-out sizes removed)."""
        t = self.on(eval_set)
        return t[~t["size"].isin(self.held_out)]


def load_analysis(preset: str, results_path: str | Path) -> Analysis:
    """Load and validate the results table; the first-stage baseline (``T0_first_stage.csv``)
    is read from beside it when present."""
    path = resolve(results_path)
    table = load_results(path)
    sc.validate_results_table(table)
    attention = table["attention_flops"] if "attention_flops" in table else 0.0
    table = table.assign(dense_flops=table["train_flops"] - attention)
    study = load_preset(preset)
    baseline_path = path.parent / "T0_first_stage.csv"
    baseline = pd.read_csv(baseline_path) if baseline_path.exists() else None
    eval_sets = list(dict.fromkeys(table["eval_set"]))
    ordered = sorted(eval_sets, key=lambda e: (not e.endswith("dev"), e))
    held = [s for s in study.held_out if s in set(table["size"])]
    return Analysis(table, study, baseline, ordered, held)


# --------------------------------------------------------------------------- saving


def save(
    artifact, figures_dir: str | Path | None, artifact_id: str, data: pd.DataFrame | None = None
) -> dict[str, Path]:
    """Write a table (CSV) or a figure (PNG, PDF and the CSV behind it) as ``<artifact_id>.*``;
    nothing when ``figures_dir`` is None (notebooks only display by default). A published set
    (``rerankscale.reporting.artifacts``: one with a manifest) is refused: it is only replaced whole."""
    if figures_dir is None:
        return {}
    figures = writable(figures_dir)
    if isinstance(artifact, pd.DataFrame):
        path = figures / f"{artifact_id}.csv"
        atomic_write_text(path, artifact.to_csv(index=False, float_format="%.6g"))
        return {"csv": path}
    return plots.save_figure(artifact, data, figures, artifact_id)


# --------------------------------------------------------------------------- T7


def first_stage_values(a: Analysis, metric: str = "ndcg@10") -> dict[str, float]:
    """The first stage's ``metric`` per eval set (from ``T0_first_stage.csv``)."""
    if a.baseline is None:
        raise ResultsError(
            "T0_first_stage.csv is not beside the results table; run notebooks/01_data.ipynb "
            "with figures_dir set to the results' folder first"
        )
    return dict(zip(a.baseline["eval_set"], a.baseline[metric].astype(float)))


def first_stage(a: Analysis, metric: str, eval_set: str | None = None) -> float | None:
    """The first stage's ``metric`` on ``eval_set`` (default: the primary), if known."""
    if a.baseline is None or metric not in a.baseline:
        return None
    row = a.baseline[a.baseline["eval_set"] == (eval_set or a.primary)]
    return float(row[metric].iloc[0]) if len(row) else None


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
    rows = []
    for eval_set in a.eval_sets:
        for metric in metrics or a.metrics:
            for kind, fits in (
                ("size", size_fits(a, metric, eval_set)),
                ("joint", joint_fits(a, metric, eval_set)),
            ):
                for obj, r in fits.items():
                    rows.extend(_law_rows(r, eval_set, obj, metric, kind, n_boot, seed))
    return pd.DataFrame(rows)


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


# --------------------------------------------------------------------------- forecasts (T3, F1)


def forecasts(a: Analysis, metrics=None, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """T3: forecasts of the held-out sizes from the others, per eval set × objective × metric,
    by two laws: the size law at the final checkpoint and the joint law at every checkpoint
    (reported at the final one). Columns: prediction, 95% interval (lo, hi), actual, error,
    abs_error, bias (actual − predicted: positive = the law under-predicts), covered."""
    keep = [
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
    return rollout_plots.plot_rollout(ro)


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
    points = sc.final_checkpoints(a.fitted_rows())
    size_rows = fc[(fc["kind"] == "size law, final checkpoint") & (fc["eval_set"] == a.primary)]
    return plots.plot_size_scaling(
        points,
        size_fits(a, metric),
        size_rows,
        metric=metric,
        baseline=first_stage(a, metric),
        eval_set=a.primary,
    )


# --------------------------------------------------------------------------- compute (T4-T6, F4, F5)


def tokens_per_query(a: Analysis) -> float:
    """Mean non-padding training tokens per training query (sets D in tokens)."""
    final = sc.final_checkpoints(a.on())
    return float((final["tokens_seen"] / final["queries_seen"]).median())


def compute_fits(a: Analysis, metric: str = "ndcg@10") -> dict[str, sc.FitResult]:
    """Joint law per objective in (N, training tokens) on every size and checkpoint, so that
    C = 6·N·D is dense training compute."""
    rows = a.on()
    return a.cached_fits(
        "compute",
        metric,
        None,
        lambda: {
            obj: sc.fit_law(
                g, sc.ChinchillaLaw(), y=metric, n="n_params", d="tokens_seen", grid="coarse"
            )
            for obj, g in rows.groupby("objective")
        },
    )


def has_interior_optimum(r: sc.FitResult) -> bool:
    """Whether a joint fit implies a compute-optimal split: both terms present (A, α, B, β > 0).
    When the size term vanishes (α or A at 0: larger models did not help) every FLOP should
    go to data and there is no N*(C) to report."""
    if r.status == "degenerate":
        return False
    return all(r.params[k] > 1e-9 for k in ("A", "alpha", "B", "beta"))


def compute_budgets(a: Analysis, n: int = 9) -> np.ndarray:
    """Log-spaced compute budgets spanning the study's measured dense training FLOPs."""
    flops = a.on()["dense_flops"]
    return np.geomspace(flops.min(), flops.max(), n)


def t4_allocation(
    a: Analysis, metric: str = "ndcg@10", n_boot: int = 200, seed: int = 0
) -> pd.DataFrame:
    """T4: allocation exponents N* ∝ C^a, D* ∝ C^b per objective (a = β/(α+β), b = α/(α+β)),
    with 95% bootstrap intervals over runs."""
    rows = []
    for obj, r in compute_fits(a, metric).items():
        row = {
            "objective": obj,
            "metric": metric,
            "status": r.status,
            "on_bound": ",".join(r.on_bound),
            "interior_optimum": has_interior_optimum(r),
        }
        if not row["interior_optimum"]:
            rows.append(row)  # no N*(C): exponents would be meaningless
            continue
        row.update(sc.allocation_exponents(r))
        row.update(alpha=r.params["alpha"], beta=r.params["beta"])
        if n_boot:
            draws = sc.bootstrap_fit(r, n_boot=n_boot, seed=seed).draws
            draws = draws[draws["status"].isin(["ok", "on_bound"])]
            share = draws["beta"] / (draws["alpha"] + draws["beta"])
            row.update(
                a_lo=share.quantile(0.025),
                a_hi=share.quantile(0.975),
                b_lo=1 - share.quantile(0.975),
                b_hi=1 - share.quantile(0.025),
                n_boot=len(draws),
            )
        rows.append(row)
    return pd.DataFrame(rows)


def f4_compute_optimal(a: Analysis, metric: str = "ndcg@10"):
    """F4: N*(C), D*(C) per objective and the iso-FLOP profiles of the joint law, with the
    measured iso-FLOP points (each size's curve interpolated at the budget)."""
    budgets = compute_budgets(a)
    fits = compute_fits(a, metric)
    optimal, iso = [], []
    for obj, r in fits.items():
        if not has_interior_optimum(r):
            continue
        optimal.append(sc.compute_optimal(r, budgets, k=6.0).assign(objective=obj))
        iso.append(sc.isoflop_profiles(r, budgets[::4], k=6.0).assign(objective=obj))
    empirical = sc.empirical_isoflop(a.on(), metric, budgets[::4], flops_col="dense_flops")
    missing = sorted(set(fits) - {o["objective"].iloc[0] for o in optimal})
    if not optimal:
        optimal = [pd.DataFrame(columns=["C", "N_opt", "D_opt", "objective"])]
        iso = [pd.DataFrame(columns=["C", "N", "prediction_metric", "N_opt", "objective"])]
    sizes = a.on()["n_params"]
    fig = plots.plot_compute_optimal(
        pd.concat(optimal),
        pd.concat(iso),
        empirical=empirical,
        metric=metric,
        trained=(sizes.min(), sizes.max()),
    )
    if missing:
        fig.suptitle(
            f"no interior optimum (size term vanished) for: {', '.join(missing)}", fontsize=8
        )
    if len(fig.axes) > 1 and sc.is_ranking_metric(metric):
        fig.axes[1].set_ylim(0, 1)  # the law extrapolated far below the data leaves [0, 1]
    return fig


def equal_compute(a: Analysis, metric: str = "ndcg@10") -> pd.DataFrame:
    """Every checkpoint of each size against each other size at matched training FLOPs."""
    return sc.equal_compute_comparison(a.on(), metric, flops_col="train_flops")


def t5_equal_compute(eq: pd.DataFrame) -> pd.DataFrame:
    """T5: per objective and size pair, how often the larger model wins at equal training
    FLOPs and by how much (mean difference large − small over matched checkpoints)."""
    keys = ["objective", "metric", "size_small", "size_large", "n_small", "n_large"]
    out = (
        eq.groupby(keys)
        .agg(
            matched=("difference", "size"),
            larger_wins=("winner", lambda w: float((w == "large").mean())),
            mean_difference=("difference", "mean"),
            at_max_flops=("difference", "last"),
        )
        .reset_index()
    )
    return out.sort_values(["objective", "n_small", "n_large"]).reset_index(drop=True)


def f5_equal_compute(eq: pd.DataFrame):
    """F5: larger − smaller at matched training FLOPs (adjacent size pairs)."""
    return plots.plot_equal_compute(eq, adjacent_only=True)


def t6_inference_aware(
    a: Analysis,
    metric: str = "ndcg@10",
    queries: float = 1e6,
    budgets_per_train: tuple[float, ...] = (1.0, 3.0, 10.0),
) -> pd.DataFrame:
    """T6 (beyond the paper): the best size when serving is paid for too. Total cost =
    6·N·D_tokens (training) + 2·N·tokens_per_pair·depth·queries (reranking ``queries``
    queries at the study's candidate depth); budgets are multiples of the largest measured
    training compute. ``N_train_only`` is the optimum when everything is spent on training."""
    depth = a.study.base.eval.depth
    final = sc.final_checkpoints(a.on())
    per_pair = float((final["tokens_seen"] / final["pairs_seen"]).median())
    top = a.on()["dense_flops"].max()
    frames = []
    for obj, r in compute_fits(a, metric).items():
        if not has_interior_optimum(r):
            continue
        serve_per_n = 2.0 * per_pair * depth * queries
        totals = [top * m + serve_per_n * parse_size(a.study.sizes[-1]) for m in budgets_per_train]
        frames.append(
            sc.inference_aware_optimum(
                r,
                totals,
                queries=queries,
                depth=depth,
                tokens_per_pair=per_pair,
                k=6.0,
            ).assign(objective=obj, queries=queries, depth=depth, tokens_per_pair=per_pair)
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------- figures/README.md

ARTIFACTS = {
    "T0_suite": ("the pretrained suite: members, held-out MLM loss, knowledge probe", "01_data"),
    "F0_suite_scaling": (
        "the suite's own scaling: MLM loss vs N (fitted law) and vs tokens, probe vs N",
        "01_data",
    ),
    "results": (
        "the consolidated results table: one row per run × checkpoint × eval set "
        "(`.csv` and `.parquet`)",
        "sweep (`rerankscale.evaluation.results.collect`)",
    ),
    "T0_first_stage": (
        "first-stage (BM25) metrics per eval set on the evaluated queries",
        "01_data",
    ),
    "T7_regime": (
        "is the study in the paper's regime: above BM25, power-law curves, larger "
        "is better (checks and worst cases)",
        "04_fit",
    ),
    "T1_final_metrics": (
        "final-checkpoint metrics per eval set × objective × size "
        "(mean and sd over seeds) with the first-stage baseline",
        "04_fit",
    ),
    "T2_laws": (
        "fitted size and joint laws per eval set × objective × metric: parameters, 95% "
        "bootstrap intervals over runs, fit status, parameters on a bound",
        "04_fit",
    ),
    "F2_exposure_scaling": (
        "metric vs training queries per size and objective, with per-size saturating fits",
        "04_fit",
    ),
    "F3_joint_law": (
        "slices of the joint law L(N, D) at every size; held-out sizes dashed",
        "04_fit",
    ),
    "F6_contrastive_entropy": (
        "contrastive entropy vs NDCG@10 and MRR@10, every checkpoint",
        "04_fit",
    ),
    "T3_forecasts": (
        "forecasts of the held-out sizes vs actual: prediction, 95% interval, "
        "error, signed bias, coverage",
        "05_forecast",
    ),
    "T3_forecast_summary": (
        "MAE, RMSE, bias and coverage per eval set × metric × objective",
        "05_forecast",
    ),
    "T3_backtests": (
        "rolling-origin backtests of the size law (fit ≤ k-th size, predict the next)",
        "05_forecast",
    ),
    "F1_model_size": (
        "metric vs model size per objective: the size law fitted without the "
        "held-out sizes and its forecasts with 95% intervals",
        "05_forecast",
    ),
    "T8_rollout": (
        "rollout validation: the size law fitted on the k smallest sizes (every "
        "k ≥ 3) forecasts every larger size, and each exposure curve fitted on its "
        "first half forecasts the rest; error, relative error, bias, coverage, "
        "interval method",
        "05_forecast",
    ),
    "T8_rollout_summary": (
        "rollout MAE, bias, relative error and coverage by axis, eval set, "
        "objective and horizon (extrapolation distance in log N / log D)",
        "05_forecast",
    ),
    "F7_rollout": (
        "rollout bias vs extrapolation distance (log N, log D) per eval set; "
        "hollow: the 95% prediction interval missed",
        "05_forecast",
    ),
    "T9_method_forecasts": (
        "four forecast methods (saturating law on NDCG@10, error form on 1 − NDCG@10, power "
        "law on −ln NDCG@10, two-stage through contrastive entropy) on the held-out sizes "
        "and in the size rollout: one row per forecast",
        "05_forecast",
    ),
    "T9_method_comparison": (
        "the four forecast methods side by side: MAE, RMSE, signed bias and 95% interval "
        "coverage per evaluation (hold-out, rollout), pooled and per eval set",
        "05_forecast",
    ),
    "T4_allocation": (
        "compute-allocation exponents N* ∝ C^a, D* ∝ C^b per objective with bootstrap intervals",
        "06_compute",
    ),
    "F4_compute_optimal": (
        "compute-optimal N*(C), D*(C) and iso-FLOP profiles with measured points",
        "06_compute",
    ),
    "T5_equal_compute": (
        "equal-compute checkpoint comparison per size pair: how often and by "
        "how much the larger model wins",
        "06_compute",
    ),
    "F5_equal_compute": (
        "larger − smaller model at matched training FLOPs (adjacent sizes)",
        "06_compute",
    ),
    "T6_inference_aware": (
        "the optimal size when serving cost is added to training cost",
        "06_compute",
    ),
}


def write_figures_readme(figures_dir: str | Path, preset: str) -> Path:
    """List every artifact present in ``figures_dir`` with what it shows and which notebook
    made it (a published set is refused, as by ``save``)."""
    figures = writable(figures_dir)
    lines = [
        "# Figures and tables",
        "",
        f"Generated by `rerankscale sweep --preset {preset}` (or `make study`); rebuild them "
        f"from the results with `rerankscale figures --preset {preset}`. Every figure is saved "
        "as PNG and PDF with the CSV of the data it draws. The folder is replaced as a whole; "
        "`manifest.json` records the preset, the sha256 of `results.csv`, the git commit, the "
        "time and the sha256 of every file (`rerankscale.reporting.artifacts`).",
        "",
        "| artifact | files | what | made by |",
        "|---|---|---|---|",
    ]
    for artifact_id, (what, notebook) in ARTIFACTS.items():
        files = sorted(p.suffix for p in figures.glob(f"{artifact_id}.*"))
        if files:
            lines.append(f"| `{artifact_id}` | {' '.join(files)} | {what} | `{notebook}` |")
    return atomic_write_text(figures / "README.md", "\n".join(lines) + "\n")
