"""Run a study's grid: notebooks 02 (train) and 03 (evaluate) per cell with papermill, then the
analysis notebooks 01 and 04–06, which build the study's artifact set (``figures/`` or
``runs/<name>/figures``) in a staging folder that replaces the set whole at the end
(``rerankscale.reporting.artifacts``).

Before any cell starts, the preflight (``rerankscale.orchestration.preflight``) validates every cell's config
and checks every dataset and suite member; it reports every problem at once and nothing is
started or written. An invalid cell shows as ``invalid`` in ``status``.

Each cell runs in its own kernel process; its executed notebooks are saved in its run
directory, and ``cell.json`` there records ``done`` or ``failed`` (with the error). A finished
cell is skipped; an interrupted one is started again, and training and evaluation resume from
what they saved. A failed cell is reported and the others go on.

Executors: ``local`` (a thread pool of ``workers`` papermill processes) and ``slurm`` (one job
array through submitit, each cell's resources from the preset's ``slurm`` block, at most
``workers`` cells at once; ``submitit-local`` runs the same path with submitit's local
executor, for testing without a cluster). Under SLURM ``cell.json`` also names the job and its
log; a job that ends before its cell (cancelled, timed out, requeued away) leaves the cell
``failed`` with the scheduler's state, and the next sweep resumes it like any other.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from rerankscale.config import ConfigError, StudyConfig, load_preset, parse_size, preset_path
from rerankscale.io import atomic_write_json
from rerankscale.orchestration import preflight, slurm
from rerankscale.paths import PACKAGE_CHECKOUT, project_home, resolve

NOTEBOOKS = PACKAGE_CHECKOUT / "notebooks"  # the notebooks ship with the checkout
CELL_NOTEBOOKS = ("02_train.ipynb", "03_evaluate.ipynb")
EXECUTORS = ("local", "slurm", "submitit-local")


@dataclass(frozen=True)
class Cell:
    """One grid cell, where its results go and the project directory its kernels run in;
    ``invalid`` says why its config is invalid (such a cell is never run)."""

    preset: str
    size: str
    objective: str
    seed: int
    run_id: str
    runs_dir: str
    notebooks: str = str(NOTEBOOKS)
    home: str = ""
    invalid: str | None = None
    pinned: bool = False  # the kernels' floating-point environment (StudyConfig.cell_numerics)

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.run_id


def expand(preset: str, study: StudyConfig, runs_dir: Path) -> list[Cell]:
    """The study's cells; an invalid cell keeps a recognisable run id and says why."""
    from rerankscale.orchestration.preflight import invalid_cells

    bad = invalid_cells(study)
    preset, home = str(preset_path(preset)), str(project_home())
    cells = []
    for size, objective, seed in study.grid():
        why = bad.get((size, objective, seed))
        run_id = (
            f"invalid-{size}-{objective}-s{seed}"
            if why
            else study.cell(size, objective, seed).run_id
        )
        cells.append(
            Cell(
                preset,
                str(size),
                objective,
                seed,
                run_id,
                str(runs_dir),
                str(NOTEBOOKS),
                home,
                why,
                pinned=study.cell_numerics == "pinned",
            )
        )
    return cells


def largest_first(cells: list[Cell]) -> list[Cell]:
    """The cells by decreasing model size (grid order among equals): a cell's time grows with
    N, and starting the longest first (Graham's LPT rule) leaves the workers at most one small
    cell apart at the end instead of one large one (the cpu study's last 640k cell ran 3.5
    min alone on two workers in grid order). Unparseable sizes go last."""

    def size(cell: Cell) -> int:
        try:
            return parse_size(cell.size)
        except ConfigError:
            return -1

    return sorted(cells, key=lambda c: -size(c))


def cell_status(cell: Cell) -> dict:
    """invalid, pending, interrupted, done or failed (the last two from ``cell.json``)."""
    if cell.invalid:
        return {"status": "invalid", "error": cell.invalid}
    path = cell.run_dir / "cell.json"
    if not path.exists():
        started = (cell.run_dir / "config.json").exists()
        return {"status": "interrupted" if started else "pending"}
    return json.loads(path.read_text())


def run_cell(cell: Cell) -> dict:
    """Train then evaluate one cell through notebooks 02 and 03; never raises. Under SLURM a
    cell stopped by the scheduler's SIGTERM (scancel, requeue, preemption, time limit) is
    recorded as ``interrupted`` and waits for the job's end instead of returning a result, so
    that a requeued job runs again and the sweep reports a cancelled one."""
    start = time.time()
    cell.run_dir.mkdir(parents=True, exist_ok=True)
    with slurm.sigterm_noted() as stopped:
        try:
            common = {
                "preset": cell.preset,
                "size": cell.size,
                "objective": cell.objective,
                "seed": cell.seed,
                "out_dir": cell.runs_dir,
            }
            for name in CELL_NOTEBOOKS:
                execute_notebook(
                    Path(cell.notebooks) / name,
                    cell.run_dir / name,
                    common,
                    cwd=cell.home or None,
                    pinned=cell.pinned,
                )
            status = {"status": "done", "seconds": round(time.time() - start, 1)}
        except Exception as error:  # noqa: BLE001 - a failed cell is reported, the sweep goes on
            status = {
                "status": "interrupted" if stopped else "failed",
                "error": ("stopped by SIGTERM from the scheduler: " if stopped else "")
                + _error_text(error),
                "seconds": round(time.time() - start, 1),
            }
    status.update(slurm.current_job())  # under SLURM: the job and its log
    atomic_write_json(cell.run_dir / "cell.json", status)
    if status["status"] == "interrupted":
        slurm.wait_for_the_end()
    return status


def _error_text(error: Exception) -> str:
    """The useful part of a papermill error: the exception name and message of the cell."""
    ename = getattr(error, "ename", type(error).__name__)
    evalue = getattr(error, "evalue", str(error))
    return f"{ename}: {evalue}".strip()


def sweep(
    preset: str = "cpu",
    workers: int = 1,
    executor: str = "local",
    runs_dir: str | Path | None = None,
    figures_dir: str | Path | None = None,
    analysis: bool = True,
) -> dict:
    """Check every cell and dataset first (``rerankscale.orchestration.preflight``: ``PreflightError`` with
    every problem, nothing started), run every unfinished cell, then the analysis notebooks;
    returns a summary."""
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of {EXECUTORS}")
    study = load_preset(preset)
    preflight.require_ok(study, executor)  # every problem at once, before anything is written
    require_notebooks(CELL_NOTEBOOKS + (ANALYSIS_NOTEBOOKS if analysis else ()))
    runs = resolve(runs_dir) if runs_dir else resolve(study.runs_path)
    cells = expand(preset, study, runs)
    todo = largest_first([c for c in cells if cell_status(c)["status"] != "done"])
    print(
        f"{study.name}: {len(cells)} cells, {len(cells) - len(todo)} done, {len(todo)} to run "
        f"({executor}, {workers} worker(s)); runs in {runs}",
        flush=True,
    )
    started = time.time()
    if executor == "local":
        outcomes = _run_local(todo, workers, total=len(cells))
    else:
        outcomes = _run_submitit(
            todo, runs, executor, slurm.executor_parameters(study.slurm, workers)
        )
    failed = {c.run_id: s["error"] for c, s in outcomes if s["status"] == "failed"}
    for run_id, error in failed.items():
        print(f"FAILED {run_id}: {error}", file=sys.stderr, flush=True)
    summary = {
        "preset": study.name,
        "cells": len(cells),
        "ran": len(todo),
        "failed": failed,
        "seconds": round(time.time() - started, 1),
    }
    if analysis and len(failed) < len(cells):
        summary["figures"] = str(run_analysis(preset, runs, figures_dir or study.figures_path))
    return summary


def _run_local(cells: list[Cell], workers: int, total: int) -> list[tuple[Cell, dict]]:
    outcomes = []
    with tqdm(total=total, initial=total - len(cells), desc="cells", unit="cell") as bar:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(run_cell, c): c for c in cells}
            for future in as_completed(futures):
                cell = futures[future]
                status = future.result()
                outcomes.append((cell, status))
                bar.set_postfix_str(f"{cell.run_id}: {status['status']}")
                bar.update(1)
    return outcomes


def _run_submitit(cells: list[Cell], runs: Path, executor: str, parameters: dict):
    """Submit ``cells`` as one job array (``parameters``: ``slurm.executor_parameters``) and
    wait for each; a job that ends without the cell's own status (cancelled, timed out, node
    failure) is a failed cell whose ``cell.json`` names the job, its state and its log."""
    try:
        import submitit
        from submitit.core.utils import FailedJobError
    except ImportError as error:
        raise ConfigError(
            "the slurm executor needs submitit: pip install 'rerankscale[slurm]'"
        ) from error
    if not cells:
        return []
    cluster = "local" if executor == "submitit-local" else "slurm"
    ex = submitit.AutoExecutor(folder=str(runs / "_submitit"), cluster=cluster)
    ex.update_parameters(**parameters)
    try:
        jobs = ex.map_array(run_cell, cells)
    except FailedJobError as error:  # sbatch refused the array: nothing was submitted
        raise ConfigError(f"sbatch refused the job array: {preflight.one_line(error)}") from None
    print(
        f"submitted {len(jobs)} cell(s) as {cluster} job {jobs[0].job_id.split('_')[0]}", flush=True
    )
    outcomes = []
    for cell, job in tqdm(list(zip(cells, jobs)), desc="cells", unit="cell"):
        try:
            outcomes.append((cell, job.result()))
        except Exception as error:  # noqa: BLE001 - a lost job is a failed cell
            outcomes.append((cell, _lost_job(cell, job, error)))
    return outcomes


def _lost_job(cell: Cell, job, error: Exception) -> dict:
    """The status of a cell whose job ended before the cell did, written to its ``cell.json``:
    the scheduler's state, what the cell itself said if it got to say it, the job's log."""
    try:
        state = job.state
    except Exception:  # noqa: BLE001 - sacct is unreachable: the error says enough
        state = "UNKNOWN"
    said = cell_status(cell)
    if said.get("job") == job.job_id and said["status"] == "done":
        return said  # the cell finished; only the job's result was lost
    reason = (
        f"job {job.job_id} ended {state} before the cell finished"
        if state not in ("UNKNOWN", "COMPLETED")
        else (_error_text(error).splitlines() or [""])[0]
    )
    if said.get("job") == job.job_id and said.get("error"):
        reason += f" (the cell said: {said['error']})"
    status = {"status": "failed", "error": reason, "job": job.job_id, "log": str(job.paths.stderr)}
    atomic_write_json(cell.run_dir / "cell.json", status)
    return status


ANALYSIS_NOTEBOOKS = ("01_data.ipynb", "04_fit.ipynb", "05_forecast.ipynb", "06_compute.ipynb")


def run_analysis(
    preset: str,
    runs: Path,
    figures_dir: str | Path = "figures",
    table_path: str | Path | None = None,
) -> Path:
    """Collect the results table from ``runs`` (or read the saved one at ``table_path``:
    ``saved_results``) and run notebooks 01 and 04–06 on it. Everything is written into a
    staging folder beside ``figures_dir`` that replaces it whole once the last notebook has
    finished (``rerankscale.reporting.artifacts``): an interrupted analysis leaves the previous set."""
    from rerankscale.evaluation import results
    from rerankscale.reporting import artifacts
    from rerankscale.reporting.catalogue import write_figures_readme

    target = resolve(figures_dir)
    require_notebooks(ANALYSIS_NOTEBOOKS)
    # a missing or bad results table fails before any writing
    if table_path is not None:
        table = saved_results(preset, table_path)
    elif not results.run_dirs(runs) and (target / artifacts.RESULTS).is_file():
        raise results.ResultsError(
            f"no runs under {runs} to collect; to rebuild {target} from its saved results "
            f"table: rerankscale figures --preset {preset} --results {target / artifacts.RESULTS}"
        )
    else:
        table = study_runs_only(preset, results.collect(runs), runs)
    out = runs / "_analysis"
    out.mkdir(parents=True, exist_ok=True)
    preset = str(preset_path(preset))  # a YAML path made absolute: kernels run elsewhere
    with artifacts.new_set(target, preset) as stage:
        results.save(table, stage / "results")
        for name in ANALYSIS_NOTEBOOKS:
            print(f"analysis: {name}", flush=True)
            execute_notebook(
                NOTEBOOKS / name,
                out / name,
                {
                    "preset": preset,
                    "results_path": str(stage / artifacts.RESULTS),
                    "figures_dir": str(stage),
                },
                pinned=True,
            )
        write_figures_readme(stage, preset)
    return target


def saved_results(preset: str, path: str | Path):
    """The saved results table at ``path`` (csv or parquet; relative to the project directory)
    to rebuild ``preset``'s artifact set from: validated (``results.load``), and every run in it
    a cell of the preset, so that a table of another study (a quick preset's) is never analysed
    as this one's and never replaces its set (``ConfigError`` naming the strangers)."""
    from rerankscale.evaluation import results

    table = results.load(resolve(path))
    name, strangers = runs_outside(preset, table)
    if strangers:
        raise ConfigError(
            f"{path} holds {len(strangers)} run(s) that are not cells of preset {name!r} "
            f"({preflight.name_some(strangers)}): pass the preset that made the table (--preset)"
        )
    return table


def runs_outside(preset: str, table) -> tuple[str, list[str]]:
    """The preset's study name and the run ids of ``table`` that are none of its valid cells,
    sorted."""
    study = load_preset(preset)
    cells = {c.run_id for c in expand(preset, study, resolve(study.runs_path)) if not c.invalid}
    return study.name, sorted(set(table["run_id"]) - cells)


def study_runs_only(preset: str, table, runs: Path):
    """The rows of ``table`` (collected from ``runs``) that are the preset's cells. A run folder
    of another grid under the same runs folder (a study whose preset changed since: other sizes,
    or fine-tuning seeds of another suite member) is left out, and a line says how many and
    where, so a stale folder never enters the study's laws."""
    name, strangers = runs_outside(preset, table)
    if strangers:
        print(
            f"analysis: {len(strangers)} run folder(s) under {runs} are not cells of preset "
            f"{name!r} and are left out ({preflight.name_some(strangers)})",
            flush=True,
        )
    return table[~table["run_id"].isin(strangers)].reset_index(drop=True)


def require_notebooks(names: tuple[str, ...]) -> None:
    """``ConfigError`` naming the notebooks that are not in ``NOTEBOOKS`` (they ship with a
    checkout, not with a wheel)."""
    missing = [name for name in names if not (Path(NOTEBOOKS) / name).is_file()]
    if missing:
        raise ConfigError(
            f"the study's notebooks {missing} are not in {NOTEBOOKS}: run rerankscale from a "
            "checkout of the project (pip install -e <checkout>), where notebooks/ ships"
        )


KERNEL_START_TIMEOUT = 300  # s; papermill's 60 s is too short for a kernel on a busy machine


def execute_notebook(
    notebook: Path, output: Path, parameters: dict, cwd: str | None = None, pinned: bool = False
):
    """Run one notebook with papermill in a fresh kernel (cwd: the project directory), started
    by ``kernels.QuietKernelManager`` (encrypted sockets, no interrupt at shutdown: no kernel
    warnings in a successful run's terminal); ``pinned``: by ``kernels.PinnedKernelManager``, in
    the analysis's pinned floating-point environment (``numerics``)."""
    import papermill as pm

    from rerankscale.orchestration.kernels import PinnedKernelManager, QuietKernelManager

    return pm.execute_notebook(
        str(notebook),
        str(output),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=cwd or str(project_home()),
        start_timeout=KERNEL_START_TIMEOUT,
        kernel_manager_class=PinnedKernelManager if pinned else QuietKernelManager,
    )


def status(preset: str = "cpu", runs_dir: str | Path | None = None) -> list[dict]:
    """Each cell's status: invalid (its config; with the error), pending, interrupted, done or
    failed (with its error)."""
    study = load_preset(preset)
    runs = resolve(runs_dir) if runs_dir else resolve(study.runs_path)
    rows = []
    for cell in expand(preset, study, runs):
        rows.append({"run_id": cell.run_id, **cell_status(cell)})
    return rows
