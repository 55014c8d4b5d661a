"""Preflight: what a sweep needs is checked before any cell starts, every problem at once.

``check(study)`` resolves and validates every cell's run config (sizes, objectives, schedules,
checkpoints, the synthetic task's knobs), then checks every dataset id the cells use:
registered with ir_datasets, providing what it is used for (training: queries and docs;
evaluation: queries, qrels and docs) and available, i.e. its first query (and, for an eval set,
its first judgment) can be read here and now: offline, a missing file is a ``DatasetNotAvailableError`` naming the file
and how to pre-seed the cache. The built-in synthetic ids are generated locally and always
available. Cells that fine-tune the shipped suite need their member in ``suite/`` with
matching checksums. The preset's ``slurm`` block (each cell's resources) is checked too, and
with ``--executor slurm`` against the cluster (``rerankscale.orchestration.slurm``: partition, CPUs, memory,
GPUs, ``sbatch --test-only``).

``PreflightError`` carries every problem found (each one line: where, what, the fix); the
sweep raises it before it creates any run directory, so nothing is half-written.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import defaultdict
from dataclasses import dataclass

from rerankscale.config import ConfigError, RunConfig, StudyConfig
from rerankscale.schedule import checkpoint_points

SYNTHETIC_PREFIX = "rerankscale/synthetic"
MAX_NAMED = 3  # cells named in a problem shared by many cells


@dataclass(frozen=True)
class Problem:
    """One thing that would fail: where (cells, a dataset, a suite member) and the message."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class PreflightError(ConfigError):
    """Every problem the preflight found; nothing was started."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [
            f"{len(self.problems)} problem(s) found before any cell started "
            "(nothing was run or written):"
        ]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


def one_line(error: BaseException) -> str:
    """An error's message on one line (multi-line messages joined)."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def name_some(items: list[str], limit: int = MAX_NAMED) -> str:
    """The first ``limit`` of ``items``, comma-separated, then "and k more"."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def invalid_cells(study: StudyConfig) -> dict[tuple[str, str, int], str]:
    """(size, objective, seed) → why the cell's config is invalid, for every invalid cell."""
    out = {}
    for size, objective, seed in study.grid():
        try:
            cfg = study.cell(size, objective, seed)
            checkpoint_points(cfg)  # the checkpoints as training computes them
            if cfg.data.synthetic:  # the synthetic task's knobs, checked as training reads them
                from rerankscale.data.synthetic.config import SyntheticConfig

                SyntheticConfig.from_overrides(cfg.data.synthetic)
        except ConfigError as error:
            out[(size, objective, seed)] = one_line(error)
    return out


def _cell_problems(study: StudyConfig) -> list[Problem]:
    by_message: dict[str, list[str]] = defaultdict(list)
    for (size, objective, seed), message in invalid_cells(study).items():
        by_message[message].append(f"{size}/{objective}/s{seed}")
    problems = []
    for message, cells in by_message.items():
        named = name_some(cells)
        problems.append(Problem(f"cell{'s' if len(cells) > 1 else ''} {named}", message))
    return problems


def _dataset_problem(dataset_id: str, purpose: str, kinds: tuple[str, ...]) -> str | None:
    """Why ``dataset_id`` cannot serve ``purpose`` (None when it can)."""
    from rerankscale.data import DataError, load_dataset
    from rerankscale.data.registry import iter_qrels, iter_queries, require

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # ir_datasets notices: a failure is in our message
    try:
        ds = load_dataset(dataset_id)
        for kind in kinds:
            require(dataset_id, ds, kind, purpose)
        if dataset_id.startswith(SYNTHETIC_PREFIX):
            return None  # generated locally
        next(iter_queries(dataset_id, ds), None)
        if "qrels" in kinds:
            next(iter_qrels(dataset_id, ds), None)
    except DataError as error:
        return one_line(error)
    finally:
        logging.disable(previous)
    return None


def _datasets(cells: list[RunConfig]) -> dict[str, tuple[str, tuple[str, ...]]]:
    wanted: dict[str, tuple[str, tuple[str, ...]]] = {}
    for cfg in cells:
        for dataset_id in cfg.data.eval_sets:
            wanted[dataset_id] = ("an evaluation set", ("queries", "qrels", "docs"))
        wanted.setdefault(cfg.data.train_dataset, ("training", ("queries", "docs")))
    return wanted


def _suite_problems(cells: list[RunConfig]) -> list[Problem]:
    """The suite's world against each cell's synthetic config, then every member the cells
    fine-tune (size × pretraining seed) against the manifest."""
    cells = [
        c
        for c in cells
        if c.model.family == "suite" and c.data.train_dataset.startswith(SYNTHETIC_PREFIX)
    ]
    if not cells:
        return []
    from rerankscale.data.synthetic.config import SyntheticConfig
    from rerankscale.models.suite import check_world, member_name, member_path, suite_folder

    problems = []
    folders = {}
    for name in sorted({c.model.suite for c in cells}):
        try:
            folders[name] = suite_folder(name)
        except ConfigError as error:
            problems.append(Problem("model.suite", one_line(error)))
    worlds = {(c.model.suite, json.dumps(c.data.synthetic, sort_keys=True)) for c in cells}
    for name, world in sorted(w for w in worlds if w[0] in folders):
        try:
            check_world(SyntheticConfig.from_overrides(json.loads(world)), folders[name])
        except ConfigError as error:
            problems.append(Problem("suite world", one_line(error)))
    members = {(c.model.suite, c.model.size, c.member_seed()) for c in cells}
    for name, size, seed in sorted(m for m in members if m[0] in folders):
        try:
            member_path(size, folders[name], seed=seed)
        except ConfigError as error:
            problems.append(Problem(f"suite member {member_name(size, seed)}", one_line(error)))
    return problems


def _slurm_problems(study: StudyConfig, executor: str) -> list[Problem]:
    """The ``slurm`` block's impossible values and, for the slurm executor, what the cluster
    cannot give (``rerankscale.orchestration.slurm``), in the block's key order."""
    from rerankscale.orchestration.slurm import problems

    found = problems(study.slurm, executor)
    order = [f.name for f in dataclasses.fields(study.slurm)]
    keys = sorted(found, key=lambda k: order.index(k) if k in order else -1)
    return [
        Problem("slurm cluster" if key == "cluster" else f"slurm.{key}", found[key]) for key in keys
    ]


def check(study: StudyConfig, executor: str = "local") -> list[Problem]:
    """Every problem that would make a cell of ``study`` fail before it trains, run by
    ``executor`` (``slurm``: the cluster is asked too)."""
    problems = _slurm_problems(study, executor) + _cell_problems(study)
    bad = invalid_cells(study)
    cells = [study.cell(*c) for c in study.grid() if c not in bad]
    for dataset_id, (purpose, kinds) in _datasets(cells).items():
        message = _dataset_problem(dataset_id, purpose, kinds)
        if message:
            problems.append(Problem(f"dataset {dataset_id}", message))
    return problems + _suite_problems(cells)


def require_ok(study: StudyConfig, executor: str = "local") -> None:
    """Raise ``PreflightError`` with every problem of ``study`` run by ``executor``, if there
    is any."""
    problems = check(study, executor)
    if problems:
        raise PreflightError(problems)
