"""Write the study's notebooks (``notebooks/*.ipynb``) from the cell lists below.

The notebooks hold parameters, calls and displays only; everything else lives in the
package. Regenerate after editing this file: ``.venv/bin/python tools/make_notebooks.py``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parent.parent / "notebooks"

CELL_PARAMS = '''# Parameters (papermill): one grid cell. Defaults are the cheap smoke settings.
preset = "smoke"         # smoke | cpu | paper | path/to/preset.yaml
size = "20k"             # size string: "250k", "1.6m", "50m", "1b"
objective = "listwise"   # pointwise | pairwise | listwise | lambdaloss | listmle
seed = 0
dataset = None           # training dataset id; None = the preset's
out_dir = "runs/notebook"
overrides = {}           # e.g. {"train": {"max_queries": 4096}}'''

ANALYSIS_PARAMS = '''# Parameters (papermill). Defaults: the committed results of the CPU study; figures are only
# displayed unless figures_dir is set (the sweep sets it to "figures").
preset = "cpu"
results_path = "figures/results.csv"
figures_dir = None
n_boot = 200             # bootstrap resamples over runs (size x seed)
seed = 0'''

NOTEBOOKS = {
    "01_data.ipynb": [
        "# 01 · Data: the dataset and its first-stage baseline\n\n"
        "Statistics of the training and eval sets of a preset, and the first-stage (BM25) "
        "ranking scored with the same metrics as every reranker (the baseline of T1).",
        '''# Parameters (papermill). Defaults: the smoke preset (synthetic task, small eval subset).
preset = "smoke"
results_path = None      # unused here; accepted so the sweep can pass the same parameters
figures_dir = None       # the sweep writes T0_first_stage.csv here''',
        "from rerankscale import overview\n\nstudy = overview.load_preset(preset)\n"
        "stats = overview.dataset_statistics(study)\nstats",
        "examples = overview.example_records(study, n=3)\nexamples",
        "baseline = overview.first_stage_table(study)\nbaseline",
        "overview.save_first_stage(baseline, figures_dir)",
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
}


def build(name: str, cells: list[str]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (rerankscale)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, source in enumerate(cells):
        if i == 0:
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
