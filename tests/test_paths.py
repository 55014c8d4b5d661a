"""Outputs follow the user: relative paths resolve against $RERANKSCALE_HOME, the checkout
that holds the working directory, or the working directory, never the install folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rerankscale import paths
from rerankscale.models.tokenizer import SUITE_DIR

REPO = Path(__file__).resolve().parents[1]


def test_project_home_rules(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    monkeypatch.chdir(REPO / "notebooks")  # nbval and JupyterLab run notebooks here
    assert paths.project_home() == REPO and paths.resolve("figures") == REPO / "figures"
    elsewhere = tmp_path / "project" / "sub"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert paths.project_home() == elsewhere
    assert paths.resolve("runs/x") == elsewhere / "runs" / "x"
    assert paths.resolve("/abs/figures") == Path("/abs/figures")
    other = tmp_path / "checkout"
    (other / "notebooks").mkdir(parents=True)
    (other / "pyproject.toml").write_text('[project]\nname = "rerankscale"\n')
    monkeypatch.chdir(other / "notebooks")
    assert paths.project_home() == other  # a second checkout writes into itself
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "home"))
    assert paths.resolve("figures") == tmp_path / "home" / "figures"


def test_the_shipped_suite_stays_findable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(paths.SUITE_ENV_VAR, raising=False)
    assert SUITE_DIR == REPO / "suite" == paths.suite_dir()
    monkeypatch.setenv(paths.SUITE_ENV_VAR, str(tmp_path / "mysuite"))
    assert paths.suite_dir() == tmp_path / "mysuite"


STAND_IN_CELL = """
import json, os, pathlib
from rerankscale.orchestration import study
cfg = study.cell_config(preset, size, objective, seed)
run = study.run_dir(out_dir, cfg)
(run / "eval").mkdir(parents=True, exist_ok=True)
(run / "kernel_cwd.txt").write_text(os.getcwd())
(run / "config.json").write_text(json.dumps({"run_id": cfg.run_id, "config": cfg.to_dict(),
    "model": {"n_params": 20000, "n_params_total": 30000}}))
row = {"step": 1, "eval_set": "synthetic-dev", "queries_seen": 256, "pairs_seen": 2048,
       "tokens_seen": 10**5, "train_flops": 1e9, "subset": False, "n_queries": 10,
       "ndcg@10": 0.5}
(run / "eval" / "metrics.jsonl").write_text(json.dumps(row) + "\\n")
"""
STAND_IN_ANALYSIS = """
import pandas as pd
from rerankscale.reporting import report
from rerankscale.evaluation import results
table = results.load(results_path)
report.save(pd.DataFrame({"rows": [len(table)]}), figures_dir, "T1_final_metrics")
"""
SCRIPT = """
import json, sys
from pathlib import Path
from rerankscale import cli
from rerankscale.orchestration import sweep
from rerankscale.models import tokenizer
from rerankscale.data import dataset_home
sweep.NOTEBOOKS = Path(sys.argv[1])
sweep.ANALYSIS_NOTEBOOKS = ("04_fit.ipynb",)
code = cli.main(["sweep", "--preset", "mine.yaml"])
print(json.dumps({"code": code, "cache": str(tokenizer.cache_root()),
                  "irds": str(dataset_home())}))
"""


def stand_in_notebooks(folder: Path) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    folder.mkdir()
    cell_params = 'preset = "x"\nsize = "1k"\nobjective = "listwise"\nseed = 0\nout_dir = "r"'
    analysis_params = 'preset = "x"\nresults_path = "r"\nfigures_dir = None'
    for name, params, body in (
        ("02_train.ipynb", cell_params, STAND_IN_CELL),
        ("03_evaluate.ipynb", cell_params, "pass"),
        ("04_fit.ipynb", analysis_params, STAND_IN_ANALYSIS),
    ):
        nb = new_notebook()
        first = new_code_cell(params)
        first.metadata["tags"] = ["parameters"]
        nb.cells = [first, new_code_cell(body)]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "python3",
            "language": "python",
        }
        nbformat.write(nb, folder / name)
    return folder


@pytest.mark.parametrize(
    "layout", [pytest.param("plain folder", marks=pytest.mark.slow), "inside another checkout"]
)
def test_a_sweep_from_another_folder_writes_there(tmp_path, layout):
    """The real CLI sweep (stand-in notebooks) run from a folder outside this checkout, with
    the preset given relative to it: runs, the artifact set and the caches land in the
    project directory (that folder, or the root of the other checkout holding it), and the
    kernels run there."""
    books = stand_in_notebooks(tmp_path / "books")
    home = tmp_path / "project"
    work = home if layout == "plain folder" else home / "studies"
    work.mkdir(parents=True)
    if layout != "plain folder":
        (home / "pyproject.toml").write_text('[project]\nname = "rerankscale"\n')
    (work / "mine.yaml").write_text(
        "inherit: smoke\nname: mine\nsizes: ['20k']\nobjectives: [listwise]\nheld_out: []\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("IR_DATASETS_HOME", "RERANKSCALE_CACHE", paths.ENV_VAR)
    }
    before = sorted((REPO / "runs").iterdir()) if (REPO / "runs").exists() else []
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(books)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {
        "code": 0,
        "cache": str(home / ".cache"),
        "irds": str(home / ".cache" / "ir_datasets"),
    }
    run = home / "runs" / "mine" / "scratch-20k-listwise-s0"
    assert json.loads((run / "cell.json").read_text())["status"] == "done"
    assert (run / "kernel_cwd.txt").read_text() == str(home)
    figures = home / "runs" / "mine" / "figures"
    assert {"manifest.json", "results.csv", "T1_final_metrics.csv"} <= {
        p.name for p in figures.iterdir()
    }
    manifest = json.loads((figures / "manifest.json").read_text())
    assert manifest["preset"] == str(work / "mine.yaml")
    after = sorted((REPO / "runs").iterdir()) if (REPO / "runs").exists() else []
    assert after == before and not (REPO / "runs" / "mine").exists()
