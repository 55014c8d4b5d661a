"""Independent fits on several cores, with the results a single process gives.

A forecast table is a loop over (group, metric) tasks, each one a fit and its bootstrap with
its own seed (``seed + i``): no task reads another's result or random stream, and each runs
single-threaded BLAS (``optimize.single_threaded_blas``). ``run_tasks`` runs such a list on
``workers`` forked processes and returns the results in task order, so a table is the same bit
for bit whatever the number of workers (``tests/scaling/test_parallel.py``).

The tasks are closures over tables and laws, which need not pickle: they are left in a module
global before the pool forks, and a worker receives only an index. Results travel back
pickled. Forking is used on Linux only (elsewhere, or with ``workers=1``, the tasks run in this
process). Workers: ``RERANKSCALE_WORKERS`` if set, else the cores this process may use; a
task list of one runs in place, and a worker never forks again.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from rerankscale.config import ConfigError

ENV_WORKERS = "RERANKSCALE_WORKERS"

_TASKS: Sequence[Callable[[], Any]] = ()
_IN_WORKER = False


def default_workers() -> int:
    """``RERANKSCALE_WORKERS`` (an integer ≥ 1) if set, else the cores available to us."""
    raw = os.environ.get(ENV_WORKERS)
    if raw is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    try:
        workers = int(raw)
    except ValueError:
        workers = 0
    if workers < 1:
        raise ConfigError(f"{ENV_WORKERS}={raw!r}: set it to a whole number of processes ≥ 1")
    return workers


def _run(index: int) -> Any:
    global _IN_WORKER
    _IN_WORKER = True
    return _TASKS[index]()


def run_tasks(tasks: Sequence[Callable[[], Any]], workers: int | None = None) -> list[Any]:
    """``[task() for task in tasks]``, on up to ``workers`` forked processes (default
    ``default_workers()``); the same results, in the same order, as running them here."""
    global _TASKS
    workers = min(default_workers() if workers is None else int(workers), len(tasks))
    if workers <= 1 or _IN_WORKER or not sys.platform.startswith("linux"):
        return [task() for task in tasks]
    _TASKS = tasks
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(_run, range(len(tasks))))
    finally:
        _TASKS = ()
