"""Sweep orchestration with stand-in notebooks: skip finished cells, resume interrupted ones,
report a failing cell and go on with the others; status; the submitit path."""

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from rerankscale import cli
from rerankscale.config import parse_size
from rerankscale.orchestration import sweep

PARAMS = 'preset = "x"\nsize = "1k"\nobjective = "listwise"\nseed = 0\nout_dir = "runs"'
BODY = """import json, pathlib
from rerankscale.config import parse_size
parse_size(size)  # an invalid size fails here, as in the real notebook
d = pathlib.Path(out_dir) / f"scratch-{size}-{objective}-s{seed}"
d.mkdir(parents=True, exist_ok=True)
log = d / "{stage}.log"
log.write_text(log.read_text() + "x" if log.exists() else "x")
(d / "config.json").write_text("{}")"""


def notebook(stage):
    nb = new_notebook()
    params = new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell(BODY.replace("{stage}", stage))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    return nb


@pytest.fixture
def fake_study(tmp_path, monkeypatch):
    books = tmp_path / "notebooks"
    books.mkdir()
    nbformat.write(notebook("train"), books / "02_train.ipynb")
    nbformat.write(notebook("eval"), books / "03_evaluate.ipynb")
    monkeypatch.setattr(sweep, "NOTEBOOKS", books)
    preset = tmp_path / "tiny.yaml"
    preset.write_text(
        f"inherit: smoke\nname: tiny\nsizes: ['1k', '2k']\nobjectives: [listwise]\n"
        f"held_out: []\nruns_dir: {tmp_path / 'runs'}\n"
    )
    return preset, tmp_path / "runs"


def runs_of(runs, run_id, stage):
    path = runs / run_id / f"{stage}.log"
    return len(path.read_text()) if path.exists() else 0


def fail_on(size):
    """Make the stand-in training notebook fail for ``size`` (a cell that fails as it runs)."""
    books = sweep.NOTEBOOKS
    nb = nbformat.read(books / "02_train.ipynb", as_version=4)
    nb.cells[1].source = f"assert size != {size!r}, 'cell broke'\n" + nb.cells[1].source
    nbformat.write(nb, books / "02_train.ipynb")


def test_failed_cell_is_reported_and_others_finish(fake_study):
    preset, runs = fake_study
    fail_on("2k")
    summary = sweep.sweep(str(preset), workers=2, analysis=False)
    assert summary["cells"] == 2 and summary["ran"] == 2
    assert list(summary["failed"]) == ["scratch-2k-listwise-s0"]
    assert "cell broke" in summary["failed"]["scratch-2k-listwise-s0"]
    assert runs_of(runs, "scratch-1k-listwise-s0", "train") == 1
    assert runs_of(runs, "scratch-1k-listwise-s0", "eval") == 1
    states = {r["run_id"]: r["status"] for r in sweep.status(str(preset))}
    assert states == {"scratch-1k-listwise-s0": "done", "scratch-2k-listwise-s0": "failed"}


def test_rerun_skips_done_and_resumes_interrupted(fake_study):
    preset, runs = fake_study
    fail_on("2k")
    sweep.sweep(str(preset), analysis=False)
    again = sweep.sweep(str(preset), analysis=False)
    assert again["ran"] == 1  # only the failing cell is tried again
    assert runs_of(runs, "scratch-1k-listwise-s0", "train") == 1
    # simulate a kill after training started: no cell.json, config.json present
    (runs / "scratch-1k-listwise-s0" / "cell.json").unlink()
    assert {r["run_id"]: r["status"] for r in sweep.status(str(preset))}[
        "scratch-1k-listwise-s0"
    ] == "interrupted"
    sweep.sweep(str(preset), analysis=False)
    assert runs_of(runs, "scratch-1k-listwise-s0", "train") == 2
    assert (
        json.loads((runs / "scratch-1k-listwise-s0" / "cell.json").read_text())["status"] == "done"
    )


def test_submitit_local_executor_runs_cells(fake_study, capsys):
    pytest.importorskip("submitit")
    preset, runs = fake_study
    fail_on("2k")
    summary = sweep.sweep(str(preset), executor="submitit-local", analysis=False)
    assert list(summary["failed"]) == ["scratch-2k-listwise-s0"]
    assert runs_of(runs, "scratch-1k-listwise-s0", "eval") == 1
    # each cell.json names its job and log; status shows a failed cell's log
    failed = json.loads((runs / "scratch-2k-listwise-s0" / "cell.json").read_text())
    log = Path(failed["log"])
    assert log.parent == runs / "_submitit" and log.name == f"{failed['job']}_0_log.err"
    assert log.exists()
    capsys.readouterr()
    assert cli.main(["status", "--preset", str(preset)]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line.startswith("failed       scratch-2k-listwise-s0  AssertionError: cell broke")
    assert line.endswith(f"  (log: {log})")


def test_an_invalid_cell_stops_the_sweep_before_any_cell(fake_study):
    """A malformed size is found by the preflight: nothing runs, the status says invalid."""
    from rerankscale.orchestration.preflight import PreflightError

    preset, runs = fake_study
    preset.write_text(preset.read_text().replace("'2k'", "'bad'"))
    with pytest.raises(PreflightError, match="malformed size string 'bad'"):
        sweep.sweep(str(preset), analysis=False)
    assert not runs.exists()
    states = {r["run_id"]: (r["status"], r.get("error", "")) for r in sweep.status(str(preset))}
    assert states["scratch-1k-listwise-s0"] == ("pending", "")
    status, error = states["invalid-bad-listwise-s0"]
    assert status == "invalid" and "malformed size string 'bad'" in error


def test_unknown_executor_and_preset(fake_study):
    from rerankscale.config import ConfigError

    with pytest.raises(ConfigError, match="executor"):
        sweep.sweep("smoke", executor="kubernetes")
    with pytest.raises(ConfigError, match="no preset"):
        sweep.sweep("no-such-preset")


@pytest.mark.slow
def test_smoke_study_end_to_end(tmp_path):
    """The real notebooks on the smoke preset: every cell trains and evaluates, the analysis
    notebooks write every artifact (degenerate fits reported, not crashed), and a second sweep
    runs nothing."""
    figures = tmp_path / "figures"
    summary = sweep.sweep("smoke", workers=2, runs_dir=tmp_path / "runs", figures_dir=figures)
    assert summary["failed"] == {} and summary["ran"] == 6
    for artifact in (
        "results.csv",
        "T0_first_stage.csv",
        "T1_final_metrics.csv",
        "T2_laws.csv",
        "T3_forecasts.csv",
        "T4_allocation.csv",
        "T5_equal_compute.csv",
        "F1_model_size.png",
        "F2_exposure_scaling.pdf",
        "F3_joint_law.csv",
        "F4_compute_optimal.png",
        "F5_equal_compute.png",
        "F6_contrastive_entropy.png",
        "README.md",
    ):
        assert (figures / artifact).exists(), artifact
    again = sweep.sweep("smoke", runs_dir=tmp_path / "runs", analysis=False)
    assert again["ran"] == 0


def test_cells_start_largest_first_in_grid_order_among_equals(tmp_path):
    study = sweep.load_preset("cpu")
    cells = sweep.expand("cpu", study, tmp_path)
    cells.append(sweep.Cell("cpu", "huge", "listwise", 0, "x", str(tmp_path)))
    order = sweep.largest_first(cells)
    sizes = [c.size for c in order]
    assert sizes[:9] == ["640k"] * 9 and sizes[-10:-1] == ["10k"] * 9 and sizes[-1] == "huge"
    assert [parse_size(s) for s in sizes[:-1]] == sorted(
        (parse_size(s) for s in sizes[:-1]), reverse=True
    )
    first = [c.run_id for c in cells if c.size == "640k"]
    assert [c.run_id for c in order[:9]] == first  # a stable sort: grid order among equals


def test_a_one_worker_sweep_runs_the_larger_cell_first(fake_study):
    preset, runs = fake_study
    sweep.sweep(str(preset), workers=1, analysis=False)
    started = {d.name: (d / "config.json").stat().st_mtime_ns for d in runs.iterdir()}
    assert started["scratch-2k-listwise-s0"] < started["scratch-1k-listwise-s0"]
