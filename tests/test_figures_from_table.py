"""``rerankscale figures --results TABLE``: an artifact set rebuilt from a saved results table
(a fresh clone has ``figures/results.csv`` but no ``runs/``), swapped in whole, and never from a
table of another preset.

The notebooks are replaced by a stand-in that writes one real table (T1, from the results
table the analysis hands it), so the test checks the plumbing in seconds; the notebooks
themselves are checked by nbval and ``tests/analysis/test_reproducible.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from rerankscale import cli
from rerankscale.io import sha256
from rerankscale.orchestration import sweep
from rerankscale.reporting import artifacts, report

SLICE = Path(__file__).resolve().parent / "data" / "repro" / "results.csv"  # 60 rows, cpu-10m runs
PRESET = "cpu-10m"  # the study the slice is of


@pytest.fixture
def notebooks(monkeypatch):
    """Stand-in for the analysis notebooks: notebook 04 writes T1 of the table it is given;
    every call's parameters are recorded."""
    calls = []

    def execute(notebook, output, parameters, cwd=None, pinned=False):
        assert pinned, "the analysis notebooks run in the pinned floating-point environment"
        calls.append((Path(notebook).name, dict(parameters)))
        if Path(notebook).name == "04_fit.ipynb":
            a = report.load_analysis(parameters["preset"], parameters["results_path"])
            t1 = report.t1_final_metrics(a)
            t1.to_csv(Path(parameters["figures_dir"]) / "T1_final_metrics.csv", index=False)

    monkeypatch.setattr(sweep, "execute_notebook", execute)
    return calls


def _old_set(folder: Path) -> None:
    """A published set with a file the rebuild does not make (it must disappear)."""
    with artifacts.new_set(folder, PRESET) as stage:
        (stage / "T99_stale.csv").write_text("x\n1\n")


def test_a_set_is_rebuilt_whole_from_a_saved_table(tmp_path, notebooks, capsys):
    figures = tmp_path / "figures"
    _old_set(figures)
    code = cli.main(
        ["figures", "--preset", PRESET, "--results", str(SLICE), "--figures-dir", str(figures)]
    )
    assert code == 0, capsys.readouterr().err
    assert [name for name, _ in notebooks] == list(sweep.ANALYSIS_NOTEBOOKS)
    # every notebook read the table inside the staging folder, not the one passed in
    staged = {params["results_path"] for _, params in notebooks}
    assert len(staged) == 1 and ".figures.tmp-" in staged.pop()
    assert artifacts.verify(figures) == []
    # the results table is carried over byte for byte and the manifest names it
    assert (figures / "results.csv").read_bytes() == SLICE.read_bytes()
    manifest = pd.read_json(figures / "manifest.json", typ="series")
    assert manifest["results_sha256"] == sha256(SLICE)
    assert manifest["preset"] == PRESET
    assert not (figures / "T99_stale.csv").exists()  # the old set went as a whole
    t1 = pd.read_csv(figures / "T1_final_metrics.csv")
    # listwise on synthetic-dev, seed means at 4,096 queries (the README's table)
    assert t1["size"].tolist() == ["10k", "23k", "53k", "120k", "280k"]
    assert t1["n_seeds"].tolist() == [3] * 5
    assert t1["ndcg@10"].tolist() == pytest.approx(
        [0.528907, 0.690885, 0.765325, 0.802569, 0.829100], abs=1e-6
    )
    assert not list(tmp_path.glob(".figures.*"))  # no staging folder left


def test_the_set_rebuilds_itself_from_its_own_table(tmp_path, notebooks):
    """The fresh-clone case: figures/results.csv is inside the set it rebuilds."""
    figures = tmp_path / "figures"
    figures.mkdir()
    shutil.copy(SLICE, figures / "results.csv")
    assert cli.main(["figures", "--preset", PRESET, "--results", str(figures / "results.csv"),
                     "--figures-dir", str(figures)]) == 0  # fmt: skip
    assert (figures / "results.csv").read_bytes() == SLICE.read_bytes()
    assert artifacts.verify(figures) == []


def test_a_table_of_another_preset_is_refused(tmp_path, notebooks, capsys):
    figures = tmp_path / "figures"
    _old_set(figures)
    before = {p.name: p.read_bytes() for p in figures.iterdir()}
    table = pd.read_csv(SLICE)
    table["run_id"] = table["run_id"].str.replace("suite-", "scratch-")  # not a cpu cell
    stranger = tmp_path / "other.csv"
    table.to_csv(stranger, index=False)
    code = cli.main(
        ["figures", "--preset", "cpu", "--results", str(stranger), "--figures-dir", str(figures)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "15 run(s) that are not cells of preset 'cpu'" in err
    assert "scratch-10k-listwise-s0" in err and "and 12 more" in err
    # the cpu slice is no smoke study either: a quick preset cannot take the study's table
    code = cli.main(["figures", "--preset", "smoke", "--results", str(SLICE)])
    assert code == 2 and "not cells of preset 'smoke'" in capsys.readouterr().err
    assert notebooks == []
    assert {p.name: p.read_bytes() for p in figures.iterdir()} == before


def test_without_runs_the_error_names_the_saved_table(tmp_path, notebooks, capsys):
    figures = tmp_path / "figures"
    figures.mkdir()
    shutil.copy(SLICE, figures / "results.csv")
    code = cli.main(
        ["figures", "--runs-dir", str(tmp_path / "runs"), "--figures-dir", str(figures)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert f"--results {figures / 'results.csv'}" in err
    assert notebooks == []


def test_runs_and_a_saved_table_are_exclusive(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["figures", "--runs-dir", "runs/cpu", "--results", "figures/results.csv"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_run_folders_of_another_grid_are_left_out_of_the_collected_table(
    tmp_path, notebooks, monkeypatch, capsys
):
    """A runs folder that still holds runs of the preset's previous grid (here fine-tuning seed
    1 of pretraining member 0, where the study now pairs seed 1 with member 1) analyses only the
    preset's own cells, and says what it left out."""
    from rerankscale.evaluation import results

    table = pd.read_csv(SLICE)
    stale = table[table["seed"] == 1].assign(run_id=lambda t: t["run_id"] + "-p7")
    monkeypatch.setattr(results, "collect", lambda runs: pd.concat([table, stale]))
    figures = tmp_path / "figures"
    sweep.run_analysis(PRESET, tmp_path / "runs", figures)
    out = capsys.readouterr().out
    assert f"{stale['run_id'].nunique()} run folder(s) under {tmp_path / 'runs'}" in out
    assert "are not cells of preset 'cpu-10m' and are left out" in out
    kept = pd.read_csv(figures / "results.csv")
    assert sorted(kept["run_id"].unique()) == sorted(table["run_id"].unique())
