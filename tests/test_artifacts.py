"""Artifact sets: the analysis publishes its tables and figures whole, with a manifest, and a
real SIGKILL at any step leaves the target a complete set (the old one or the new one)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
import traceback
from pathlib import Path

import pandas as pd
import pytest

from rerankscale.config import RunConfig
from rerankscale.io import sha256
from rerankscale.orchestration import sweep
from rerankscale.reporting import artifacts, catalogue, report
from rerankscale.reporting.artifacts import ArtifactError


def make_runs(root: Path) -> Path:
    """Two evaluated runs in the layout ``results.collect`` reads."""
    runs = root / "runs"
    for seed in (0, 1):
        cfg = RunConfig()
        cfg.train.seed = seed
        run = runs / cfg.run_id
        (run / "eval").mkdir(parents=True)
        (run / "config.json").write_text(
            json.dumps(
                {
                    "run_id": cfg.run_id,
                    "config": cfg.to_dict(),
                    "model": {"n_params": 50_000, "n_params_total": 80_000},
                }
            )
        )
        rows = [
            {
                "step": s,
                "eval_set": "synthetic-dev",
                "queries_seen": 256 * s,
                "pairs_seen": 2048 * s,
                "tokens_seen": 10**5 * s,
                "train_flops": 1e9 * s,
                "subset": False,
                "n_queries": 100,
                "ndcg@10": 0.3 + 0.01 * s + 0.001 * seed,
            }
            for s in (1, 2)
        ]
        (run / "eval" / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return runs


def _analysis(
    runs: Path, target: Path, log: Path, tag: str, kill_at: str | None, exchange: bool
) -> None:
    """The sweep's real ``run_analysis`` in a forked child, each notebook replaced by a
    stand-in that saves two tables through ``report.save`` as the notebooks do. Every step
    is logged; at ``kill_at`` the child waits to be killed."""

    def step(name: str) -> None:
        with open(log, "a") as f:
            f.write(name + "\n")
        if name == kill_at:
            time.sleep(60)

    def notebook(path, output, parameters, cwd=None, pinned=False):
        for i in range(2):
            step(f"{path.stem}-{i}")
            report.save(
                pd.DataFrame({"tag": [tag], "i": [i]}),
                parameters["figures_dir"],
                f"T_{path.stem}_{i}",
            )

    def announced(name, fn):
        def wrapped(*args, **kwargs):
            step(f"before {name}")
            out = fn(*args, **kwargs)
            step(f"after {name}")
            return out

        return wrapped

    def remove_slowly(path: Path) -> None:  # so that a kill can land mid-delete
        if not path.exists():
            return
        for child in sorted(path.iterdir()):
            step("delete a file")
            child.unlink()
        path.rmdir()

    rename = os.rename
    try:
        sweep.execute_notebook = notebook
        artifacts.build_manifest = announced("manifest", artifacts.build_manifest)
        artifacts._swap = announced("swap", artifacts._swap)
        artifacts._remove = remove_slowly
        os.rename = announced("rename", rename)
        if not exchange:
            artifacts._exchange = lambda a, b: False
        sweep.run_analysis("smoke", runs, target)
        step("done")
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def run_child(runs, target, log, tag, kill_at=None, exchange=True) -> None:
    """Run the analysis in a forked process; SIGKILL it when it reaches ``kill_at``."""
    log.write_text("")
    child = multiprocessing.get_context("fork").Process(
        target=_analysis, args=(runs, target, log, tag, kill_at, exchange)
    )
    child.start()
    deadline = time.time() + 60
    while kill_at and kill_at not in log.read_text().splitlines() and time.time() < deadline:
        time.sleep(0.01)
    if kill_at:
        assert kill_at in log.read_text().splitlines(), f"never reached {kill_at!r}"
        os.kill(child.pid, signal.SIGKILL)
    child.join(60)
    assert child.exitcode == (-signal.SIGKILL if kill_at else 0)


def tag_of(target: Path) -> str:
    """The one tag every table of the set carries (a mixed set fails here)."""
    tags = {pd.read_csv(p)["tag"].iloc[0] for p in target.glob("T_*.csv")}
    assert len(tags) == 1, f"a mixed set: {tags}"
    return tags.pop()


def test_manifest_describes_the_published_set(tmp_path):
    runs, target = make_runs(tmp_path), tmp_path / "figures"
    run_child(runs, target, tmp_path / "log", "first")
    manifest = json.loads((target / artifacts.MANIFEST).read_text())
    assert manifest["preset"] == "smoke"
    assert manifest["results_sha256"] == sha256(target / "results.csv")
    assert set(manifest["git"]) == {"commit", "dirty"} and manifest["created"].endswith("Z")
    on_disk = sorted(p.name for p in target.iterdir() if p.name != artifacts.MANIFEST)
    assert sorted(manifest["files"]) == on_disk
    assert {"results.csv", "results.parquet", "README.md", "T_04_fit_1.csv"} <= set(on_disk)
    assert "manifest.json" in (target / "README.md").read_text()
    assert artifacts.verify(target) == [] and artifacts.leftovers(target) == []
    (target / "T_04_fit_0.csv").write_text("tag,i\nedited,0\n")
    assert artifacts.verify(target) == ["T_04_fit_0.csv differs from the manifest"]


def test_a_published_set_is_not_written_file_by_file(tmp_path):
    runs, target = make_runs(tmp_path), tmp_path / "figures"
    run_child(runs, target, tmp_path / "log", "first")
    with pytest.raises(ArtifactError, match="rerankscale figures --preset smoke"):
        report.save(pd.DataFrame({"x": [1]}), target, "T1_final_metrics")
    assert not (target / "T1_final_metrics.csv").exists()
    readme = (target / "README.md").read_text()
    with pytest.raises(ArtifactError, match="only replaced whole"):
        catalogue.write_figures_readme(target, "smoke")
    assert (target / "README.md").read_text() == readme and artifacts.verify(target) == []
    assert report.save(pd.DataFrame({"x": [1]}), tmp_path / "mine", "T1")["csv"].exists()


def steps_of(runs, tmp_path, exchange) -> list[str]:
    target = tmp_path / "probe"
    run_child(runs, target, tmp_path / "log", "probe", exchange=exchange)  # a first set
    run_child(runs, target, tmp_path / "log", "probe", exchange=exchange)  # one replacing it
    return list(dict.fromkeys((tmp_path / "log").read_text().split("\n")[:-1]))


@pytest.mark.parametrize("exchange", [True, False], ids=["rename-exchange", "rename-aside"])
def test_a_kill_at_every_step_leaves_a_complete_set(tmp_path, exchange):
    """SIGKILL at each step of the analysis (during the notebooks, writing the manifest,
    around the swap, while deleting the old set): the target is the complete old or the
    complete new set, and the next run cleans what the killed one left. With the exchange
    this holds at the target path itself; with the rename-aside fallback after ``recover``,
    which the next run calls first."""
    runs, target = make_runs(tmp_path), tmp_path / "figures"
    steps = steps_of(runs, tmp_path, exchange)
    assert {"04_fit-1", "before swap", "after swap", "delete a file", "done"} <= set(steps)
    run_child(runs, target, tmp_path / "log", "old", exchange=exchange)
    current = "old"
    for k, kill_at in enumerate(s for s in steps if s != "done"):
        new = f"new-{k}"
        run_child(runs, target, tmp_path / "log", new, kill_at=kill_at, exchange=exchange)
        if not exchange:
            artifacts.recover(target)
        assert artifacts.verify(target) == [], kill_at
        seen = tag_of(target)
        assert seen in (current, new), kill_at
        if kill_at in ("after swap", "delete a file"):
            assert seen == new, kill_at  # swapped in before the kill
        if kill_at.endswith(("_data-0", "manifest")):
            assert seen == current, kill_at  # the kill came before the swap
        current = seen
        artifacts.recover(target)
        assert artifacts.leftovers(target) == [], kill_at
    run_child(runs, target, tmp_path / "log", "last", exchange=exchange)
    assert tag_of(target) == "last" and artifacts.verify(target) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".figures")) == []


def test_a_failed_analysis_keeps_the_old_set_and_no_staging(tmp_path, monkeypatch):
    runs, target = make_runs(tmp_path), tmp_path / "figures"
    run_child(runs, target, tmp_path / "log", "old")
    before = json.loads((target / artifacts.MANIFEST).read_text())

    def failing(path, output, parameters, cwd=None, pinned=False):
        report.save(pd.DataFrame({"tag": ["new"]}), parameters["figures_dir"], "T_half")
        raise RuntimeError("a notebook failed")

    monkeypatch.setattr(sweep, "execute_notebook", failing)
    with pytest.raises(RuntimeError, match="a notebook failed"):
        sweep.run_analysis("smoke", runs, target)
    assert json.loads((target / artifacts.MANIFEST).read_text()) == before
    assert artifacts.verify(target) == [] and artifacts.leftovers(target) == []


def test_a_failing_notebook_is_one_line_from_the_cli(tmp_path, monkeypatch, capsys):
    from papermill.exceptions import PapermillExecutionError

    from rerankscale import cli

    runs, target = make_runs(tmp_path), tmp_path / "figures"
    run_child(runs, target, tmp_path / "log", "old")

    def failing(path, output, parameters, cwd=None, pinned=False):
        raise PapermillExecutionError(1, 1, "fit()", "ValueError", "no usable fit", ["tb"])

    monkeypatch.setattr(sweep, "execute_notebook", failing)
    argv = ["figures", "--preset", "smoke", "--runs-dir", str(runs), "--figures-dir", str(target)]
    assert cli.main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "a notebook failed: ValueError: no usable fit" in lines[0]
    assert tag_of(target) == "old" and artifacts.verify(target) == []
    assert artifacts.leftovers(target) == []


STAND_IN_ANALYSIS = """
import os, time
import pandas as pd
from rerankscale.reporting import report
NAME = "STEM"
for i in range(3):
    report.save(pd.DataFrame({"tag": [os.environ["TEST_TAG"]], "i": [i]}), figures_dir,
                f"T_{NAME}_{i}")
    with open(os.environ["TEST_LOG"], "a") as f:
        f.write(f"{NAME}-{i}\\n")
    time.sleep(0.3)
"""
CLI_SCRIPT = """
import sys
from pathlib import Path
from rerankscale import cli
from rerankscale.orchestration import sweep
sweep.NOTEBOOKS = Path(sys.argv[1])
sys.exit(cli.main(["figures", "--preset", "smoke", "--runs-dir", sys.argv[2],
                   "--figures-dir", sys.argv[3]]))
"""


@pytest.mark.slow
def test_killing_the_real_cli_mid_analysis_keeps_a_complete_set(tmp_path):
    """``rerankscale figures`` in a subprocess with papermill kernels running stand-in analysis
    notebooks, SIGKILLed in the second notebook, in the last one, and just after it."""
    import subprocess
    import sys

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    books = tmp_path / "books"
    books.mkdir()
    for name in sweep.ANALYSIS_NOTEBOOKS:
        nb = new_notebook()
        params = new_code_cell('preset = "x"\nresults_path = None\nfigures_dir = None')
        params.metadata["tags"] = ["parameters"]
        body = STAND_IN_ANALYSIS.replace("STEM", Path(name).stem)
        nb.cells = [params, new_code_cell(body)]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "python3",
            "language": "python",
        }
        nbformat.write(nb, books / name)
    runs, target, log = make_runs(tmp_path), tmp_path / "figures", tmp_path / "log"

    def start(tag):
        log.write_text("")
        env = {**os.environ, "TEST_TAG": tag, "TEST_LOG": str(log)}
        return subprocess.Popen(
            [sys.executable, "-c", CLI_SCRIPT, str(books), str(runs), str(target)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    assert start("old").wait(300) == 0
    current = "old"
    for k, (kill_at, delay) in enumerate(
        [("04_fit-1", 0), ("06_compute-2", 0), ("06_compute-2", 0.6)]
    ):
        proc, deadline = start(f"new-{k}"), time.time() + 300
        while kill_at not in log.read_text().splitlines() and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)
        assert artifacts.verify(target) == [], kill_at
        seen = tag_of(target)
        assert seen in (current, f"new-{k}"), kill_at
        current = seen
    assert start("last").wait(300) == 0
    assert tag_of(target) == "last" and artifacts.verify(target) == []
    time.sleep(2)  # kernels orphaned by the kills notice and exit
    artifacts.recover(target)
    assert artifacts.leftovers(target) == []
