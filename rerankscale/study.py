"""One grid cell of a study, as the notebooks and the sweep address it.

A cell is (preset, size, objective, seed) plus optional overrides; its run directory is
``<out_dir>/<run_id>``. Notebook 02 calls ``train_cell``, notebook 03 ``evaluate_cell``; the
sweep runs those notebooks with papermill, one process per cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rerankscale.config import ConfigError, RunConfig, StudyConfig, load_study

REPO_ROOT = Path(__file__).resolve().parent.parent


def resolve(path: str | Path) -> Path:
    """A path as given, or relative to the repository root when relative (notebooks run from
    ``notebooks/`` under nbval and from the repo root under papermill: both resolve alike)."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


def cell_config(
    preset: str,
    size: str,
    objective: str,
    seed: int = 0,
    dataset: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> RunConfig:
    """The fully resolved config of one grid cell.

    ``overrides`` is a nested mapping over the run config, e.g.
    ``{"train": {"max_queries": 4096}, "model": {"family": "suite"}}``; ``dataset`` replaces the
    training dataset id.
    """
    if overrides is not None and not isinstance(overrides, dict):
        raise ConfigError(
            "overrides must be a mapping like {'train': {'max_queries': 4096}}, "
            f"got {type(overrides).__name__}"
        )
    study = load_study(_preset_path(preset), overrides={"base": overrides} if overrides else None)
    if dataset:
        study.base.data.train_dataset = dataset
    return study.cell(size, objective, seed)


def _preset_path(preset: str | Path) -> str | Path:
    path = Path(preset)
    if path.suffix in (".yaml", ".yml") and not path.is_absolute() and not path.exists():
        return resolve(path)
    return preset


def load_preset(preset: str | Path) -> StudyConfig:
    return load_study(_preset_path(preset))


def run_dir(out_dir: str | Path, cfg: RunConfig) -> Path:
    return resolve(out_dir) / cfg.run_id


def train_cell(cfg: RunConfig, out_dir: str | Path, progress: bool = True) -> dict:
    """Train (or resume, or skip when finished) one cell; returns the training summary."""
    from rerankscale.train import train

    return train(cfg, run_dir(out_dir, cfg), progress=progress)


def evaluate_cell(run_directory: str | Path, progress: bool = True):
    """Evaluate every checkpoint of a trained run on its eval sets (skips what is done)."""
    from rerankscale.evaluate import evaluate_run

    path = resolve(run_directory)
    if not (path / "config.json").exists():
        raise ConfigError(
            f"{path} is not a trained run (no config.json): run notebooks/02_train.ipynb with the "
            "same parameters first"
        )
    return evaluate_run(path, progress=progress)
