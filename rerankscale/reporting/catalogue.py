"""The artifact catalogue: every table and figure the study writes (``ARTIFACTS``: id → what it
shows, which notebook or stage makes it) and ``write_figures_readme``, which lists the ones
present in a figures folder as its ``README.md``. Imports neither torch nor transformers.
"""

from __future__ import annotations

from pathlib import Path

from rerankscale.config import DEFAULT_PRESET
from rerankscale.io import atomic_write_text
from rerankscale.reporting.artifacts import writable

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
    "T10_offgrid_forecasts": (
        "the laws of T3 forecast sizes outside the grid (another study of the same recipe, "
        "never fitted on), fitted on every grid size and on the fitted sizes only: "
        "prediction, 95% interval, actual, error, bias, coverage",
        "05_forecast",
    ),
    "T10_offgrid_summary": (
        "off-grid MAE, RMSE, bias and coverage per fit × law × eval set × objective",
        "05_forecast",
    ),
    "T10_offgrid_regime": (
        "T7's checks over the grid and the off-grid sizes together: above BM25, power-law "
        "regime, strictly increasing in N over every size",
        "05_forecast",
    ),
    "F8_offgrid": (
        "metric vs model size per objective: the size law fitted on every grid size and its "
        "forecasts of the off-grid sizes (stars) with 95% intervals",
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
    make_study = "make study" if preset == DEFAULT_PRESET else f"make study PRESET={preset}"
    lines = [
        "# Figures and tables",
        "",
        f"Generated by `rerankscale sweep --preset {preset}` (or `{make_study}`); rebuild them "
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
