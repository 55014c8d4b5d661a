"""Each cell's SLURM resources (the preset's ``slurm`` block, ``config.SlurmConfig``): what
submitit is asked for, and what the preflight checks before anything is submitted.

``executor_parameters`` maps the block onto ``submitit.AutoExecutor.update_parameters``
(cpus_per_task, mem_gb, gpus_per_node, timeout_min, slurm_partition,
slurm_additional_parameters). ``problems`` lists what cannot work, one line each: values that
are impossible anywhere (zero CPUs, two GPUs for a one-process cell, an sbatch option the block
or the sweep already sets) and, for ``--executor slurm``, what the cluster cannot give
(``sinfo``: an unknown partition, more CPUs, memory or GPUs than any of its nodes has; then
``sbatch --test-only`` for everything else, e.g. an unknown QOS or account).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

from rerankscale.config import SlurmConfig

CLUSTER_TIMEOUT = 30  # s for one sinfo or sbatch --test-only call
# sbatch options that the block sets (use its key) or that the sweep manages (logs, array)
BLOCK_OPTIONS = {
    "cpus-per-task": "cpus_per_task",
    "mem": "mem_gb",
    "gpus-per-node": "gpus_per_node",
    "time": "time_min",
    "partition": "partition",
}
SWEEP_OPTIONS = ("array", "output", "error", "open-mode")
_OPTION = re.compile(r"^[a-z][a-z0-9-]*$")


def executor_parameters(cfg: SlurmConfig, workers: int) -> dict:
    """Keyword arguments of ``AutoExecutor.update_parameters`` for cells with resources
    ``cfg``, at most ``workers`` of them running at once."""
    params = {
        "timeout_min": cfg.time_min,
        "cpus_per_task": cfg.cpus_per_task,
        "slurm_array_parallelism": max(1, workers),
    }
    if cfg.mem_gb is not None:
        params["mem_gb"] = float(cfg.mem_gb)
    if cfg.gpus_per_node:
        params["gpus_per_node"] = cfg.gpus_per_node
    if cfg.partition:
        params["slurm_partition"] = cfg.partition
    if cfg.sbatch:
        params["slurm_additional_parameters"] = dict(cfg.sbatch)
    return params


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def value_problems(cfg: SlurmConfig) -> dict[str, str]:
    """Key of the block → why its value is impossible on any cluster."""
    out = {}
    if not _is_int(cfg.cpus_per_task) or cfg.cpus_per_task < 1:
        out["cpus_per_task"] = f"{cfg.cpus_per_task!r} is not a positive whole number of CPUs"
    mem = cfg.mem_gb
    if mem is not None and (isinstance(mem, bool) or not isinstance(mem, int | float) or mem <= 0):
        out["mem_gb"] = f"{mem!r} is not a positive number of GB (or null: the cluster's default)"
    if not _is_int(cfg.gpus_per_node) or cfg.gpus_per_node < 0:
        out["gpus_per_node"] = f"{cfg.gpus_per_node!r} is not 0 or a positive number of GPUs"
    elif cfg.gpus_per_node > 1:
        out["gpus_per_node"] = (
            f"{cfg.gpus_per_node} GPUs for a cell that trains in one process on one GPU; use 1 "
            "(one cell per GPU) or train on several GPUs with accelerate launch (README: "
            "Running on a SLURM cluster)"
        )
    if not _is_int(cfg.time_min) or cfg.time_min < 1:
        out["time_min"] = f"{cfg.time_min!r} is not a positive number of minutes"
    if cfg.partition is not None and (not isinstance(cfg.partition, str) or not cfg.partition):
        out["partition"] = f"{cfg.partition!r} is not a partition name (or null: the default)"
    if not isinstance(cfg.sbatch, dict):
        out["sbatch"] = f"must map sbatch options to values, e.g. {{qos: high}}; got {cfg.sbatch!r}"
    else:
        bad = [why for key, value in cfg.sbatch.items() if (why := _option_problem(key, value))]
        if bad:
            out["sbatch"] = "; ".join(bad)
    return out


def _option_problem(key, value) -> str | None:
    """Why ``--key=value`` cannot be an extra sbatch option (None when it can)."""
    name = key.replace("_", "-") if isinstance(key, str) else ""
    if not _OPTION.match(name):
        return f"{key!r} is not an sbatch long option name (e.g. qos, account, constraint)"
    if name in BLOCK_OPTIONS:
        return f"{key!r} is set by the block: use slurm.{BLOCK_OPTIONS[name]}"
    if name in SWEEP_OPTIONS:
        return f"{key!r} is set by the sweep (job array and per-cell logs)"
    if isinstance(value, dict | list | tuple) or value is None:
        return f"{key}: {value!r} is not a single value"
    return None


class ClusterError(RuntimeError):
    """The SLURM cluster cannot be asked (commands missing, controller down)."""


@dataclass(frozen=True)
class NodeGroup:
    """Nodes of one partition that have the same CPUs, memory and GPUs (one ``sinfo`` line)."""

    partition: str
    default: bool
    cpus: int
    mem_mb: int
    gpus: int


def _run(command: list[str]) -> tuple[int, str]:
    """Exit status and output (stdout, then stderr) of a SLURM command; 127 when it is missing
    or hangs."""
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=CLUSTER_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        return 127, str(error)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def _gpus(gres: str) -> int:
    """GPUs in an sinfo GRES field such as ``gpu:a100:4(S:0-1),shard:8`` (0 for ``(null)``)."""
    total = 0
    for item in gres.split(","):
        parts = item.split("(")[0].split(":")
        if parts[0] == "gpu" and len(parts) > 1 and parts[-1].isdigit():
            total += int(parts[-1])
    return total


def node_groups() -> list[NodeGroup]:
    """The cluster's partitions and node shapes (``sinfo``); ``ClusterError`` when SLURM's
    commands are missing or the controller does not answer."""
    if shutil.which("sinfo") is None:
        raise ClusterError(
            "sinfo is not on PATH: the slurm executor needs a SLURM cluster's client commands "
            "(tools/slurm/start.sh starts a single-node cluster here)"
        )
    code, out = _run(["sinfo", "--noheader", "--format=%P|%c|%m|%G"])
    if code:
        last = out.splitlines()[-1] if out else f"exit status {code}"
        raise ClusterError(f"sinfo fails ({last}): is the cluster up? (tools/slurm/start.sh)")
    groups = []
    for line in out.splitlines():
        if line.count("|") != 3:
            continue  # a warning on stderr, not a partition line
        name, cpus, mem, gres = line.split("|")
        groups.append(
            NodeGroup(
                name.rstrip("*"),
                name.endswith("*"),
                _leading_int(cpus),
                _leading_int(mem),
                _gpus(gres),
            )
        )
    return groups


def _leading_int(text: str) -> int:
    match = re.match(r"\d+", text)
    return int(match.group()) if match else 0


def cluster_problems(cfg: SlurmConfig, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """Key of the block (or ``cluster``) → what this cluster cannot give a cell; keys in
    ``skip`` (invalid values) are not compared, and ``sbatch --test-only`` runs only when
    nothing else is wrong."""
    try:
        groups = node_groups()
    except ClusterError as error:
        return {"cluster": str(error)}
    names = sorted({g.partition for g in groups})
    if "partition" in skip:
        return {}
    wanted = [p for p in (cfg.partition or "").split(",") if p] or [
        g.partition for g in groups if g.default
    ]
    unknown = [p for p in wanted if p not in names]
    listed = f"(sinfo lists: {', '.join(names) or 'none'})"
    if unknown:
        return {"partition": f"{', '.join(unknown)} is not a partition of this cluster {listed}"}
    if not wanted:
        return {"partition": f"none given and the cluster has no default partition {listed}"}
    nodes = [g for g in groups if g.partition in wanted]
    out = {}
    for key, asked, most, unit in (
        ("cpus_per_task", cfg.cpus_per_task, max(g.cpus for g in nodes), "CPUs"),
        ("mem_gb", cfg.mem_gb, max(g.mem_mb for g in nodes) / 1024, "GB of memory"),
        ("gpus_per_node", cfg.gpus_per_node, max(g.gpus for g in nodes), "GPUs (gres)"),
    ):
        if key not in skip and asked is not None and asked > most:
            has = f"more than {most:g} {unit}" if most else f"any {unit}"
            out[key] = f"{asked} asked, but no node of partition {','.join(wanted)} has {has}"
    return out if out or skip else _test_only(cfg)


def sbatch_flags(cfg: SlurmConfig) -> list[str]:
    """The block as sbatch command-line options (what submitit writes as ``#SBATCH`` lines)."""
    flags = [f"--cpus-per-task={cfg.cpus_per_task}", f"--time={cfg.time_min}"]
    if cfg.mem_gb is not None:
        flags.append(f"--mem={int(round(cfg.mem_gb * 1024))}M")
    if cfg.gpus_per_node:
        flags.append(f"--gpus-per-node={cfg.gpus_per_node}")
    if cfg.partition:
        flags.append(f"--partition={cfg.partition}")
    for key, value in cfg.sbatch.items():
        name = key.replace("_", "-")
        flags.append(f"--{name}" if value is True else f"--{name}={value}")
    return flags


def _test_only(cfg: SlurmConfig) -> dict[str, str]:
    """``sbatch --test-only`` with the block's options: what the scheduler itself refuses
    (an unknown QOS or account, an impossible combination); nothing is submitted."""
    code, out = _run(["sbatch", "--test-only", *sbatch_flags(cfg), "--wrap=true"])
    if not code:
        return {}
    errors = [line for line in out.splitlines() if "error" in line] or out.splitlines()[-1:]
    return {
        "sbatch": f"sbatch --test-only refuses the cell's options: {errors[-1] if errors else code}"
    }


def problems(cfg: SlurmConfig, executor: str) -> dict[str, str]:
    """Key of the block → why a cell cannot get its resources: the values first; the cluster
    (``sinfo``, ``sbatch --test-only``) only for the slurm executor and valid values."""
    out = value_problems(cfg)
    if executor == "slurm":
        out.update(cluster_problems(cfg, frozenset(out)))
    return out


def current_job() -> dict[str, str]:
    """The submitit job running this process and its log (``job``, ``log``); empty outside
    one."""
    if not os.environ.get("SUBMITIT_EXECUTOR"):
        return {}
    import submitit

    env = submitit.JobEnvironment()
    return {"job": env.job_id, "log": str(env.paths.stderr)}


@contextlib.contextmanager
def sigterm_noted():
    """Inside a SLURM job's main thread: a list that gets an entry when SIGTERM arrives (the
    scheduler is cancelling, requeueing or preempting the job, or its time is up); submitit's
    own handler still runs. Elsewhere the list stays empty."""
    seen: list[float] = []
    if (
        os.environ.get("SUBMITIT_EXECUTOR") != "slurm"
        or threading.current_thread() is not threading.main_thread()
    ):
        yield seen
        return
    previous = signal.getsignal(signal.SIGTERM)

    def note(signum, frame):
        seen.append(time.time())
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, note)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGTERM, previous)


END_WAIT = 600  # s; SLURM sends SIGKILL KillWait seconds (30 by default) after SIGTERM


def wait_for_the_end(seconds: float = END_WAIT) -> None:
    """Wait for the scheduler's SIGKILL after its SIGTERM: a job that returned a result now
    would look finished to submitit even when SLURM is requeueing it."""
    time.sleep(seconds)
