"""The sweep on SLURM.

Fast tests (no cluster needed): the preset's ``slurm`` block, its mapping onto submitit's
parameters, and the preflight's checks of it, against stand-in ``sinfo``/``sbatch`` commands.

Slow tests, on a real scheduler (``make test-slurm`` starts a single-node cluster with
tools/slurm/start.sh; skipped when there is none): the smoke grid through ``--executor slurm``
equals the local executor's results; a cell cancelled with ``scancel`` mid-training resumes
from its last checkpoint; ``scontrol requeue`` mid-evaluation duplicates no result; a failing
cell names its SLURM log in ``rerankscale status``; a finished sweep submits nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rerankscale import cli
from rerankscale.config import ConfigError, SlurmConfig, load_study
from rerankscale.evaluation import results
from rerankscale.orchestration import slurm, sweep
from rerankscale.orchestration.preflight import PreflightError, check


def study_file(tmp_path: Path, text: str, name: str = "mine") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"inherit: smoke\nname: {name}\nruns_dir: {tmp_path / 'runs'}\n" + text)
    return path


# ----------------------------------------------------------------------- the block, fast


def test_the_block_maps_onto_submitit_parameters(tmp_path):
    paper = load_study("paper").slurm
    params = slurm.executor_parameters(paper, workers=6)
    assert params == {
        "timeout_min": 1440,
        "cpus_per_task": 8,
        "mem_gb": 64.0,
        "gpus_per_node": 1,
        "slurm_array_parallelism": 6,
    }
    mine = SlurmConfig(cpus_per_task=2, mem_gb=1.5, partition="gpu", sbatch={"qos": "high"})
    params = slurm.executor_parameters(mine, workers=0)
    assert params["slurm_partition"] == "gpu" and params["slurm_array_parallelism"] == 1
    assert params["slurm_additional_parameters"] == {"qos": "high"}
    assert "gpus_per_node" not in params  # no GPU asked: no --gpus-per-node=0 line
    submitit = pytest.importorskip("submitit")
    # submitit checks the names and types (slurm_* against its SlurmExecutor) on any cluster
    ex = submitit.AutoExecutor(folder=tmp_path, cluster="debug")
    ex.update_parameters(**params)


def test_presets_without_a_block_keep_the_old_defaults():
    assert load_study("cpu").slurm == SlurmConfig(time_min=24 * 60)
    assert load_study("smoke").slurm == SlurmConfig(cpus_per_task=1, mem_gb=4, time_min=30)


def test_an_unknown_key_in_the_block_is_one_line(tmp_path, capsys):
    preset = study_file(tmp_path, "slurm: {cpus: 4}\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['cpus'\] in 'slurm'; known keys"):
        load_study(preset)
    assert cli.main(["sweep", "--preset", str(preset), "--executor", "slurm"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "'cpus'" in lines[0] and "cpus_per_task" in lines[0]
    assert not (tmp_path / "runs").exists()


def test_impossible_values_are_all_reported_before_any_cell(tmp_path):
    preset = study_file(
        tmp_path,
        "sizes: ['20k', '2x']\nheld_out: []\n"
        "slurm:\n  cpus_per_task: 0\n  mem_gb: -2\n  gpus_per_node: 2\n  time_min: 0\n"
        "  partition: ''\n  sbatch: {mem: 4G, output: x.log, 'bad name': 1, qos: [a, b]}\n",
    )
    with pytest.raises(PreflightError) as err:
        sweep.sweep(str(preset), analysis=False)  # the local executor checks the values too
    problems = str(err.value).splitlines()[1:]
    assert problems[0] == "  slurm.cpus_per_task: 0 is not a positive whole number of CPUs"
    assert problems[1].startswith("  slurm.mem_gb: -2 is not a positive number of GB")
    assert problems[2].startswith("  slurm.gpus_per_node: 2 GPUs for a cell that trains in one")
    assert "accelerate launch" in problems[2]
    assert problems[3] == "  slurm.time_min: 0 is not a positive number of minutes"
    assert problems[4].startswith("  slurm.partition: '' is not a partition name")
    sbatch = problems[5]
    assert sbatch.startswith("  slurm.sbatch: 'mem' is set by the block: use slurm.mem_gb; ")
    assert "'output' is set by the sweep" in sbatch and "'bad name' is not an sbatch" in sbatch
    assert "qos: ['a', 'b'] is not a single value" in sbatch
    assert problems[6].startswith("  cells 2x/pointwise/s0, 2x/pairwise/s0, 2x/listwise/s0: malf")
    assert not (tmp_path / "runs").exists()


def test_a_bool_or_text_is_not_a_number():
    found = slurm.value_problems(SlurmConfig(cpus_per_task=True, mem_gb="4G", time_min=1.5))
    assert set(found) == {"cpus_per_task", "mem_gb", "time_min"}
    assert slurm.value_problems(SlurmConfig(cpus_per_task=4, mem_gb=0.5, gpus_per_node=1)) == {}


def fake_slurm(tmp_path: Path, monkeypatch, sinfo: str, sbatch: str = "echo 'sbatch: Job 1'"):
    """Stand-in ``sinfo`` and ``sbatch`` scripts first on PATH; returns the file in which
    ``sbatch`` records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "sbatch_args"
    for name, body in (("sinfo", sinfo), ("sbatch", f'echo "$@" >> {calls}\n{sbatch}')):
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


# two partitions: cpu (default; 2 CPUs, 24 GB) and gpu (4 CPUs, 64 GB, 2 GPUs), and a warning
SINFO = (
    "printf 'cpu*|2|24105|(null)\\ngpu|4|65536|gpu:a100:2(S:0)\\n'; "
    "echo 'sinfo: warning: slurm.conf has changed' >&2"
)


def test_what_the_cluster_cannot_give_is_found_with_sinfo(tmp_path, monkeypatch):
    calls = fake_slurm(tmp_path, monkeypatch, SINFO)
    ask = SlurmConfig(cpus_per_task=3, mem_gb=30, gpus_per_node=1)
    assert slurm.problems(ask, "slurm") == {
        "cpus_per_task": "3 asked, but no node of partition cpu has more than 2 CPUs",
        "mem_gb": "30 asked, but no node of partition cpu has more than 23.54 GB of memory",
        "gpus_per_node": "1 asked, but no node of partition cpu has any GPUs (gres)",
    }
    assert not calls.exists()  # sbatch --test-only only once the rest is possible
    ask.partition = "gpu"
    assert slurm.problems(ask, "slurm") == {}
    args = calls.read_text().split()
    assert args[:2] == ["--test-only", "--cpus-per-task=3"] and "--gpus-per-node=1" in args
    assert "--mem=30720M" in args and "--partition=gpu" in args and args[-1] == "--wrap=true"
    ask.partition = "gpu,bigmem"
    assert slurm.problems(ask, "slurm") == {
        "partition": "bigmem is not a partition of this cluster (sinfo lists: cpu, gpu)"
    }
    assert slurm.problems(ask, "local") == {}  # the cluster is asked for --executor slurm only


def test_what_sbatch_refuses_is_one_line(tmp_path, monkeypatch):
    refuse = (
        "echo 'sbatch: error: Batch job submission failed: Invalid qos specification' >&2; exit 1"
    )
    fake_slurm(tmp_path, monkeypatch, SINFO, refuse)
    found = slurm.problems(SlurmConfig(sbatch={"qos": "nosuch", "exclusive": True}), "slurm")
    assert found == {
        "sbatch": "sbatch --test-only refuses the cell's options: sbatch: error: Batch job "
        "submission failed: Invalid qos specification"
    }
    assert slurm.sbatch_flags(SlurmConfig(sbatch={"exclusive": True, "mail_type": "END"}))[-2:] == [
        "--exclusive",
        "--mail-type=END",
    ]


def test_no_cluster_is_a_problem_for_the_slurm_executor_only(tmp_path, monkeypatch):
    down = "echo 'slurm_load_partitions: Unable to contact slurm controller' >&2; exit 1"
    fake_slurm(tmp_path, monkeypatch, down)
    preset = study_file(tmp_path, "sizes: ['20k']\nheld_out: []\nobjectives: [listwise]\n")
    study = load_study(preset)
    assert check(study, "local") == []
    problems = [str(p) for p in check(study, "slurm")]
    assert problems == [
        "slurm cluster: sinfo fails (slurm_load_partitions: Unable to contact slurm "
        "controller): is the cluster up? (tools/slurm/start.sh)"
    ]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    problems = [str(p) for p in check(study, "slurm")]
    assert problems[0].startswith("slurm cluster: sinfo is not on PATH: the slurm executor needs")
    with pytest.raises(PreflightError, match="sinfo is not on PATH"):
        sweep.sweep(str(preset), executor="slurm", analysis=False)
    assert not (tmp_path / "runs").exists()


def test_gpus_in_a_gres_field():
    assert slurm._gpus("gpu:a100:4(S:0-1),shard:8") == 4
    assert slurm._gpus("gpu:2,gpu:v100:1") == 3
    assert slurm._gpus("(null)") == 0


class LostJob:
    """A submitit job that ended without a result (for ``sweep._lost_job``)."""

    def __init__(self, job_id: str, state: str, log: Path):
        self.job_id, self.state = job_id, state
        self.paths = type("Paths", (), {"stderr": log})()


def test_a_lost_job_leaves_a_failed_cell_naming_state_and_log(tmp_path):
    cell = sweep.Cell("smoke", "20k", "listwise", 0, "scratch-20k-listwise-s0", str(tmp_path))
    cell.run_dir.mkdir()
    (cell.run_dir / "cell.json").write_text(
        json.dumps({"status": "interrupted", "error": "stopped by SIGTERM", "job": "7_1"})
    )
    log = tmp_path / "_submitit" / "7_1_0_log.err"
    status = sweep._lost_job(cell, LostJob("7_1", "TIMEOUT", log), RuntimeError("lost"))
    assert status == {
        "status": "failed",
        "error": "job 7_1 ended TIMEOUT before the cell finished (the cell said: stopped by SIGTERM)",
        "job": "7_1",
        "log": str(log),
    }
    assert sweep.cell_status(cell) == status
    (cell.run_dir / "cell.json").write_text(json.dumps({"status": "done", "job": "7_1"}))
    assert sweep._lost_job(cell, LostJob("7_1", "COMPLETED", log), RuntimeError())["status"] == (
        "done"
    )


# ------------------------------------------------------------------ a real scheduler, slow

TINY = """sizes: ['20k']
objectives: [listwise]
held_out: []
base:
  train:
    max_queries: 8192
    n_checkpoints: 6
"""


@pytest.fixture(scope="module")
def cluster():
    """A SLURM cluster that answers ``sinfo`` and ``sacct`` with a usable node, else skip."""
    if shutil.which("sinfo") is None or shutil.which("sacct") is None:
        pytest.skip("no SLURM commands on PATH: `make test-slurm` starts a single-node cluster")
    states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    usable = {"idle", "mixed", "allocated", "completing"}
    if states.returncode or not usable & set(states.stdout.split()):
        why = (states.stderr or states.stdout).strip().splitlines()[-1:] or ["no node"]
        pytest.skip(f"the SLURM cluster is not up ({why[0]}): `make test-slurm` starts one")
    if subprocess.run(["sacct", "-n", "-X"], capture_output=True).returncode:
        pytest.skip("sacct does not answer (submitit polls job states with it): no slurmdbd")
    return True


def rerankscale(*argv: str, cwd: Path, out: Path | None = None):
    """The real CLI in a subprocess: finished (``CompletedProcess``), or running in the
    background with its output in ``out`` (``Popen``)."""
    command = [sys.executable, "-m", "rerankscale.cli", *argv]
    if out is None:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=3600)
    with out.open("w") as sink:
        return subprocess.Popen(command, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, text=True)


def wait_until(what: str, predicate, timeout: float = 600.0, proc=None):
    """Poll ``predicate`` until it is true; fail after ``timeout`` s or if ``proc`` ends."""
    deadline = time.time() + timeout
    while not predicate():
        assert proc is None or proc.poll() is None, f"the sweep ended before {what}"
        assert time.time() < deadline, f"no {what} after {timeout:.0f} s"
        time.sleep(0.5)


def submitted_job(out: Path) -> str:
    """The job id the sweep printed (``submitted N cell(s) as slurm job ID``)."""
    for line in out.read_text().splitlines():
        if line.startswith("submitted "):
            return line.split()[-1]
    return ""


def jobs_in_sacct() -> set[str]:
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-o", "JobID", "-S", "now-1days"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def results_table(runs: Path) -> pd.DataFrame:
    """The results table less its timings (the only column that may differ between runs)."""
    return results.collect(runs).drop(columns=["seconds"])


@pytest.mark.slow
def test_the_smoke_grid_on_slurm_equals_the_local_executor(cluster, tmp_path):
    started = time.time()
    local = sweep.sweep("smoke", workers=1, runs_dir=tmp_path / "local", analysis=False)
    local_s = time.time() - started
    assert local["failed"] == {} and local["ran"] == 6
    figures = tmp_path / "figures"
    started = time.time()
    proc = rerankscale(
        "sweep", "--preset", "smoke", "--executor", "slurm", "--workers", "1",
        "--runs-dir", str(tmp_path / "slurm"), "--figures-dir", str(figures), cwd=tmp_path,
    )  # fmt: skip
    slurm_s = time.time() - started
    assert proc.returncode == 0, proc.stderr[-2000:]
    job = next(line.split()[-1] for line in proc.stdout.splitlines() if "as slurm job" in line)
    assert {f"{job}_{i}" for i in range(6)} <= jobs_in_sacct()  # one array, a task per cell
    print(f"smoke grid: local {local_s:.0f} s, slurm (job array {job}) {slurm_s:.0f} s")
    cells = [json.loads(p.read_text()) for p in (tmp_path / "slurm").glob("*/cell.json")]
    assert len(cells) == 6 and {c["job"].split("_")[0] for c in cells} == {job}
    pd.testing.assert_frame_equal(
        results_table(tmp_path / "slurm"), results_table(tmp_path / "local")
    )
    for artifact in ("results.csv", "T1_final_metrics.csv", "F1_model_size.png", "README.md"):
        assert (figures / artifact).exists(), artifact
    summary = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert summary["figures"] == str(figures)  # not the repository's figures/


@pytest.fixture(scope="module")
def resumed(cluster, tmp_path_factory):
    """A one-cell sweep cancelled with scancel after its second checkpoint, then run again
    to the end; what each step showed."""
    tmp = tmp_path_factory.mktemp("resume")
    preset = study_file(tmp, TINY, "tiny")
    args = ("--preset", str(preset), "--runs-dir", str(tmp / "runs"))
    run = tmp / "runs" / "scratch-20k-listwise-s0"
    out = tmp / "first.txt"
    proc = rerankscale("sweep", *args, "--executor", "slurm", "--no-analysis", cwd=tmp, out=out)
    wait_until("second checkpoint", lambda: len(list(run.glob("checkpoints/q*"))) >= 2, proc=proc)
    job = submitted_job(out)
    subprocess.run(["scancel", job], check=True)
    cancelled = time.time()
    proc.wait(timeout=600)
    info = {
        "job": job,
        "first_rc": proc.returncode,
        "first_out": out.read_text(),
        "noticed_s": time.time() - cancelled,
        "status": rerankscale("status", *args, cwd=tmp).stdout,
        "args": args,
        "tmp": tmp,
        "run": run,
    }
    started = time.time()
    again = rerankscale("sweep", *args, "--executor", "slurm", "--no-analysis", cwd=tmp)
    info.update(second=again, second_s=time.time() - started)
    return info


@pytest.mark.slow
def test_a_cancelled_cell_resumes_from_its_last_checkpoint(resumed):
    assert resumed["first_rc"] == 1 and "CANCELLED" in resumed["first_out"]
    line = resumed["status"].splitlines()[0]
    log = f"{resumed['tmp']}/runs/_submitit/{resumed['job']}_0_log.err"
    assert line.startswith(f"failed       scratch-20k-listwise-s0  job {resumed['job']} ended")
    assert "CANCELLED" in line and line.endswith(f"(log: {log})") and Path(log).exists()
    second = resumed["second"]
    assert second.returncode == 0, second.stderr[-2000:]
    run = resumed["run"]
    status = json.loads((run / "status.json").read_text())
    assert status["finished"] and status["resumed_from"].startswith("q")  # not from scratch
    assert 0 < status["steps_run"] < status["step"] == 512
    steps = [json.loads(line)["step"] for line in (run / "train_log.jsonl").open()]
    assert steps == list(range(1, 513))  # each step logged once across the two jobs
    assert json.loads((run / "cell.json").read_text())["status"] == "done"
    print(
        f"cancel: sweep noticed in {resumed['noticed_s']:.0f} s; resumed from "
        f"{status['resumed_from']} ({status['steps_run']} of 512 steps) in {resumed['second_s']:.0f} s"
    )


@pytest.mark.slow
def test_resubmitting_a_finished_sweep_submits_nothing(resumed):
    before = jobs_in_sacct()
    folder = sorted(p.name for p in (resumed["tmp"] / "runs" / "_submitit").iterdir())
    again = rerankscale(
        "sweep", *resumed["args"], "--executor", "slurm", "--no-analysis", cwd=resumed["tmp"]
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert "1 done, 0 to run" in again.stdout and "submitted" not in again.stdout
    assert json.loads(again.stdout[again.stdout.index("{") :])["ran"] == 0
    assert jobs_in_sacct() == before
    assert sorted(p.name for p in (resumed["tmp"] / "runs" / "_submitit").iterdir()) == folder


@pytest.mark.slow
def test_a_requeued_job_duplicates_no_result(cluster, tmp_path):
    preset = study_file(tmp_path, TINY, "tiny")
    args = ("--preset", str(preset), "--runs-dir", str(tmp_path / "runs"))
    run = tmp_path / "runs" / "scratch-20k-listwise-s0"
    metrics = run / "eval" / "metrics.jsonl"
    out = tmp_path / "sweep.txt"
    proc = rerankscale(
        "sweep", *args, "--executor", "slurm", "--no-analysis", cwd=tmp_path, out=out
    )
    wait_until("evaluated checkpoint", lambda: metrics.exists() and metrics.read_text(), proc=proc)
    job = submitted_job(out)
    subprocess.run(["scontrol", "requeue", job], check=True)
    started = time.time()
    assert proc.wait(timeout=900) == 0, out.read_text()[-2000:]

    def history() -> list[str]:  # the sweep may see the result before SLURM ends the job
        return subprocess.run(
            ["sacct", "-n", "-X", "-P", "--duplicates", "-j", job, "-o", "State"],
            capture_output=True,
            text=True,
        ).stdout.split()

    wait_until("job end in sacct", lambda: history()[-1:] not in (["RUNNING"], ["COMPLETING"]), 60)
    assert history() == ["REQUEUED", "COMPLETED"]  # killed once, ran again to the end
    table = results.collect(tmp_path / "runs")
    keys = table[["run_id", "step", "eval_set"]]
    assert not keys.duplicated().any() and len(table) == 6  # 6 checkpoints x 1 eval set
    rows = [json.loads(line) for line in metrics.open()]
    assert len(rows) == 6 and len({r["checkpoint"] for r in rows}) == 6
    print(f"requeue: the requeued job finished {time.time() - started:.0f} s after the requeue")


@pytest.mark.slow
def test_a_failing_cell_names_its_slurm_log_in_status(cluster, tmp_path):
    preset = study_file(tmp_path, TINY, "tiny")
    args = ("--preset", str(preset), "--runs-dir", str(tmp_path / "runs"))
    broken = tmp_path / "runs" / "scratch-20k-listwise-s0"
    broken.mkdir(parents=True)
    (broken / "train_log.jsonl").write_text("")  # a folder that is not this run's: training refuses
    proc = rerankscale("sweep", *args, "--executor", "slurm", "--no-analysis", cwd=tmp_path)
    assert proc.returncode == 1
    assert "FAILED scratch-20k-listwise-s0: RunDirMismatchError" in proc.stderr
    job = next(line.split()[-1] for line in proc.stdout.splitlines() if "as slurm job" in line)
    lines = rerankscale("status", *args, cwd=tmp_path).stdout.splitlines()
    failed = lines[0]
    assert failed.startswith("failed       scratch-20k-listwise-s0  RunDirMismatchError: ")
    assert "holds ['train_log.jsonl'] but no run config.json" in failed
    log = tmp_path / "runs" / "_submitit" / f"{job}_0_log.err"
    assert failed.endswith(f"  (log: {log})") and log.exists()
    assert json.loads((broken / "cell.json").read_text())["job"] == job
    assert lines[-1] == "1 failed"
