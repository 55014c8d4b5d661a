"""Write the study's notebooks (``notebooks/*.ipynb``) from the cell lists below.

The notebooks hold parameters, calls and displays only; everything else lives in the
package. Regenerate after editing this file: ``.venv/bin/python tools/make_notebooks.py``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parent.parent / "notebooks"

CELL_PARAMS = """# Parameters (papermill): one grid cell. Defaults are the cheap smoke settings.
preset = "smoke"         # smoke | cpu | paper | path/to/preset.yaml
size = "20k"             # size string: "250k", "1.6m", "50m", "1b"
objective = "listwise"   # pointwise | pairwise | listwise | lambdaloss | listmle
seed = 0
dataset = None           # training dataset id (None: the preset default)
out_dir = "runs/notebook"
overrides = {}           # e.g. {"train": {"max_queries": 4096}}"""

ANALYSIS_PARAMS = """# Parameters (papermill). Defaults: the committed results of the CPU study; figures are only
# displayed unless figures_dir is set. `rerankscale figures` / the sweep run 01 and 04-06 with
# figures_dir set to a staging folder that replaces the whole set (figures/ or
# runs/<name>/figures) when the last notebook ends. By hand, point figures_dir at a folder of
# your own: a published set (one with manifest.json) is refused, it is only replaced whole.
preset = "cpu"
results_path = "figures/results.csv"
figures_dir = None
n_boot = 200             # bootstrap resamples over runs (size x seed)
seed = 0
# Slow tables (bootstrap intervals, T7's 36 curve fits) come through memo.cached: computed once per results table,
# settings and package source, then read from .cache/analysis/ (rerankscale/memo.py)."""

NOTEBOOKS = {
    "01_data.ipynb": [
        "# 01 · Data: the dataset and its first-stage baseline\n\n"
        "Statistics of the training and eval sets of a preset, and the first-stage (BM25) "
        "ranking scored with the same metrics as every reranker (the baseline of T1).",
        """# Parameters (papermill). Defaults: the default CPU study (synthetic task).
preset = "cpu"
results_path = None      # unused here; accepted so the sweep can pass the same parameters
figures_dir = None       # the sweep writes T0_first_stage.csv here""",
        "%matplotlib inline\nfrom rerankscale import overview\n\nstudy = overview.load_preset(preset)\n"
        "stats = overview.dataset_statistics(study)\nstats",
        "examples = overview.example_records(study, n=3)\nexamples",
        "baseline = overview.first_stage_table(study)\nbaseline",
        "overview.save_first_stage(baseline, figures_dir)",
        "## The pretrained suite\n\n"
        "The `cpu` preset fine-tunes the shipped mini-suite `mixed8k-40m-a27` "
        "(`suite/mixed8k-40m-a27/`, `docs/suite.md`): six ModernBERT sizes, 2 to 4 layers deep "
        "(depth grows with width at d_model / n_layers = 27: 2 layers to 53k, 3 from 120k, 4 at "
        "640k), "
        "attention heads about 32 dims wide (one head below 53k), every member pretrained with "
        "whole-word MLM on the same 40M tokens of the pretraining collection of a world with "
        "8,000 relations, whose question-answer documents word each relation in either "
        "register half the time (a preset names its suite in `model.suite`). Each size has three "
        "pretrained members (pretraining seeds 0–2, below); the study's seed s fine-tunes "
        "member s with fine-tuning seed s (`model.suite_seed: paired`), so a seed mean averages "
        "pretraining luck as well as fine-tuning luck; `cpu-10m` fine-tunes the "
        "10M-token suite `mixed8k`, three of five pretraining seeds per size screened by the "
        "readiness probe below (`model.suite_seed: ready`). "
        "Below, each member's held-out MLM loss, the law L(N) = E + A·N^−α fitted to all of "
        "them, the pretraining curves, and two probes taken before any fine-tuning: the cloze "
        "probe of the query→passage register mapping, read through the MLM head, and the "
        "readiness probe, how well a linear listwise scorer on the member's frozen states ranks "
        "a training query's positive above its BM25 negatives (mean reciprocal rank of 8, "
        "chance 0.34). The readiness probe ranks the members as their fine-tuned rerankers "
        "rank (`docs/suite.md`), so its seed means show, before fine-tuning, where the size "
        "order of the study breaks; `kept` marks the members a study fine-tunes.",
        "from rerankscale import report, suite_report\n\n"
        "suite = study.base.model.suite\n"
        "members = suite_report.suite_table(suite)\nmembers",
        "suite_law = suite_report.size_law(members)\n"
        '{"status": suite_law.status, **suite_law.params}',
        "fig = suite_report.f0_suite_scaling(members, suite_report.suite_curves(suite), suite_law)\n"
        'report.save(members, figures_dir, "T0_suite")\n'
        'report.save(fig, figures_dir, "F0_suite_scaling")\nfig',
    ],
    "02_train.ipynb": [
        "# 02 · Train one grid cell\n\n"
        "Trains one cross-encoder (size × objective × seed) on the preset's training data and "
        "checkpoints it on the exposure schedule. Run it for any cell:\n\n"
        "`papermill notebooks/02_train.ipynb out.ipynb -p size 50m -p objective pairwise`\n\n"
        "A finished run is not retrained; an interrupted one resumes from its last checkpoint.",
        CELL_PARAMS,
        "from rerankscale import runplots, study\n\n"
        "cfg = study.cell_config(preset, size, objective, seed, dataset, overrides)\n"
        "cfg.to_dict()",
        "summary = study.train_cell(cfg, out_dir)\nsummary",
        "runplots.training_curves(study.run_dir(out_dir, cfg));",
    ],
    "03_evaluate.ipynb": [
        "# 03 · Evaluate one run\n\n"
        "Reranks each eval set's first-stage candidates with every checkpoint of the run "
        "(a seeded query subset for intermediate checkpoints, the full set where configured), "
        "writes TREC runs and `eval/metrics.jsonl`, and plots metrics against exposure.",
        CELL_PARAMS,
        "from rerankscale import overview, runplots, study\n\n"
        "cfg = study.cell_config(preset, size, objective, seed, dataset, overrides)\n"
        "run_dir = study.run_dir(out_dir, cfg)\n"
        "metrics = study.evaluate_cell(run_dir)\n"
        "overview.summarize(metrics)",
        "baseline = overview.first_stage_by_eval_set(cfg)\n"
        "runplots.metrics_vs_exposure(run_dir, baseline=baseline);",
    ],
    "04_fit.ipynb": [
        "# 04 · Fit: model-size, exposure and joint scaling laws\n\n"
        "Per objective, metric and eval set: the paper's saturating law in model size "
        "(y = a + b·N^c, final checkpoints), the same form in training exposure per size, and "
        "Chinchilla's joint law on the error, L(N, D) = E + A·N^−α + B·D^−β, fitted without "
        "the held-out sizes. Intervals: 95% bootstrap over runs (size × seed). Also T1 (final "
        "metrics with the first-stage baseline) and F6 (contrastive entropy vs ranking metrics).",
        ANALYSIS_PARAMS,
        "%matplotlib inline\nfrom rerankscale import memo, report\n\n"
        "a = report.load_analysis(preset, results_path)\n"
        'print(f"{len(a.table)} rows, {a.table.run_id.nunique()} runs, eval sets {a.eval_sets}, '
        'held out {a.held_out}")',
        't1 = report.t1_final_metrics(a)\nreport.save(t1, figures_dir, "T1_final_metrics")\nt1',
        "## Is the study in the paper's regime?\n\nEvery seed-mean learning curve above the first "
        "stage from its second checkpoint on; every curve a power law in exposure (R² ≥ 0.9, "
        "not convex in log exposure, ≥ 16× span); the seed mean strictly increasing in N at "
        "every checkpoint from mid-training on (held-out sizes included).",
        't7 = memo.cached(report.t7_regime, a)\nreport.save(t7, figures_dir, "T7_regime")\nt7',
        "t2 = memo.cached(report.t2_laws, a, n_boot=n_boot, seed=seed)\n"
        'report.save(t2, figures_dir, "T2_laws")\n'
        't2[t2.param.isin(["c", "alpha", "beta"])]',
        'fig = report.f2_exposure(a)\nreport.save(fig, figures_dir, "F2_exposure_scaling")\nfig',
        'fig = report.f3_joint(a)\nreport.save(fig, figures_dir, "F3_joint_law")\nfig',
        "fig = report.f6_contrastive_entropy(a)\n"
        'report.save(fig, figures_dir, "F6_contrastive_entropy")\nfig',
    ],
    "05_forecast.ipynb": [
        "# 05 · Forecast the largest models from the smaller ones\n\n"
        "Laws fitted without the held-out sizes predict them; each forecast is judged by its "
        "error, signed bias (actual − predicted; positive = conservative) and whether its 95% "
        "interval covers the actual. Each interval names its method (`interval_method`): the "
        "bootstrap over runs where every fitted size has enough runs, else the parametric "
        "bootstrap (`docs/forecasting.md`). Rolling-origin backtests repeat the check at every "
        "size; the rollout forecasts every larger size from every origin, and every exposure "
        "curve's second half from its first. Four forecast methods are compared on the same "
        "windows.",
        ANALYSIS_PARAMS,
        "%matplotlib inline\nfrom rerankscale import memo, report\n\n"
        "a = report.load_analysis(preset, results_path)",
        "t3 = memo.cached(report.forecasts, a, n_boot=n_boot, seed=seed)\n"
        'report.save(t3, figures_dir, "T3_forecasts")\n'
        't3[t3.metric == "ndcg@10"]',
        "summary = report.forecast_summary(t3)\n"
        'report.save(summary, figures_dir, "T3_forecast_summary")\nsummary',
        "bt = memo.cached(report.backtests, a, n_boot=n_boot // 2, seed=seed)\n"
        'report.save(bt, figures_dir, "T3_backtests")\n'
        'report.forecast_summary(bt.assign(kind="backtest"))',
        'fig = report.f1_model_size(a, t3)\nreport.save(fig, figures_dir, "F1_model_size")\nfig',
        "## Rollout: every origin, every horizon\n\nThe size law fitted on the k smallest sizes "
        "(every k ≥ 3) forecasts every larger size; each exposure curve fitted on its first half "
        "forecasts the rest. Error, relative error, signed bias and coverage by extrapolation "
        "distance (ln N or ln D beyond the largest fitted value); fewer bootstrap draws here "
        "(`n_boot // 4`) keep the notebook fast.",
        "ro = memo.cached(report.rollout, a, n_boot=n_boot // 4, seed=seed)\n"
        'report.save(ro, figures_dir, "T8_rollout")\n'
        't8 = report.rollout_summary(ro)\nreport.save(t8, figures_dir, "T8_rollout_summary")\nt8',
        'fig = report.f7_rollout(ro)\nreport.save(fig, figures_dir, "F7_rollout")\nfig',
        "## Which forecast method?\n\nFour ways to forecast NDCG@10 of the larger models, judged "
        "on the same held-out sizes and the same rollout windows (final checkpoints, every eval "
        "set and objective): the paper's saturating law on the metric, the error form on "
        "1 − NDCG@10, a power law on −ln NDCG@10, and a two-stage forecast that fits contrastive "
        "entropy in N and maps it to NDCG@10 with a logistic link fitted on every checkpoint of "
        "the fitted sizes (Bhagia et al. 2024). MAE, signed bias and coverage of the 95% "
        "intervals per method; which one to trust: `docs/forecasting.md`.",
        "mc = memo.cached(report.method_comparison, a, n_boot=n_boot // 4, seed=seed)\n"
        'report.save(mc, figures_dir, "T9_method_forecasts")\n'
        "t9 = report.method_comparison_summary(mc)\n"
        'report.save(t9, figures_dir, "T9_method_comparison")\nt9',
        "## Sizes outside the grid\n\nThe same laws forecast sizes the study never trained: "
        "another study of the same recipe at sizes between the grid's (the preset's "
        "`offgrid_results`, for `cpu` the `cpu-offgrid` study in `figures-offgrid/`). Nothing "
        "is fitted on them. Each law is fitted twice: on every grid size, and on the fitted "
        "sizes only (as T3). A world or recipe tuned to the grid's numbers would show here.",
        "t10 = memo.cached(report.offgrid_forecasts, a, n_boot=n_boot, seed=seed)\n"
        'report.save(t10, figures_dir, "T10_offgrid_forecasts")\n'
        "s10 = report.offgrid_summary(t10)\n"
        'report.save(s10, figures_dir, "T10_offgrid_summary")\n'
        's10[s10.metric == "ndcg@10"]',
        "r10 = memo.cached(report.offgrid_regime, a)\n"
        'report.save(r10, figures_dir, "T10_offgrid_regime")\nr10',
        'fig = report.f8_offgrid(a, t10)\nreport.save(fig, figures_dir, "F8_offgrid")\nfig',
    ],
    "06_compute.ipynb": [
        "# 06 · Compute: allocation rules, iso-FLOP profiles, equal-compute checkpoints\n\n"
        "The joint law in (N, training tokens) gives the compute-optimal N*(C) and D*(C) under "
        "C = 6·N·D; equal-compute comparisons match checkpoints of every size pair at equal "
        "measured training FLOPs; the inference-aware optimum adds the cost of serving.",
        ANALYSIS_PARAMS,
        "%matplotlib inline\nfrom rerankscale import memo, report\n\n"
        "a = report.load_analysis(preset, results_path)",
        "t4 = memo.cached(report.t4_allocation, a, n_boot=n_boot, seed=seed)\n"
        'report.save(t4, figures_dir, "T4_allocation")\nt4',
        'fig = report.f4_compute_optimal(a)\nreport.save(fig, figures_dir, "F4_compute_optimal")\nfig',
        "eq = report.equal_compute(a)\nt5 = report.t5_equal_compute(eq)\n"
        'report.save(t5, figures_dir, "T5_equal_compute")\nt5',
        'fig = report.f5_equal_compute(eq)\nreport.save(fig, figures_dir, "F5_equal_compute")\nfig',
        't6 = report.t6_inference_aware(a)\nreport.save(t6, figures_dir, "T6_inference_aware")\nt6',
    ],
}


def build(name: str, cells: list[str]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "rerankscale (.venv)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, source in enumerate(cells):
        if i == 0 or source.startswith("## "):  # the title, and section headings with prose
            nb.cells.append(new_markdown_cell(source))
            continue
        cell = new_code_cell(source)
        if i == 1:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name.split('_')[0]}-{i:02d}"
    return nb


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(name, cells), OUT / name)
        print("wrote", OUT / name)


if __name__ == "__main__":
    main()
