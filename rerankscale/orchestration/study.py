"""One grid cell of a study, as the notebooks and the sweep address it.

A cell is (preset, size, objective, seed) plus optional overrides; its run directory is
``<out_dir>/<run_id>``. Notebook 02 calls ``train_cell``, notebook 03 ``evaluate_cell``; the
sweep runs those notebooks with papermill, one process per cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rerankscale.config import ConfigError, RunConfig, load_study, preset_path
from rerankscale.paths import resolve  # relative paths follow the user: see rerankscale.paths


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
    overrides = parse_overrides(overrides)
    study = load_study(preset_path(preset), overrides={"base": overrides} if overrides else None)
    if dataset:
        study.base.data.train_dataset = dataset
    return study.cell(size, objective, seed)


OVERRIDES_HINT = (
    "pass a mapping over the run config: in Python {'train': {'max_queries': 4096}}; with "
    'papermill as JSON, -p overrides \'{"train": {"max_queries": 4096}}\', or as YAML, '
    "-y 'overrides: {train: {max_queries: 4096}}'"
)


def parse_overrides(overrides: Any) -> dict[str, Any] | None:
    """``overrides`` as a mapping: a dict as is, a JSON or YAML string (papermill's ``-p``
    passes strings) parsed; anything else is a ``ConfigError`` saying how to pass it."""
    if overrides is None or isinstance(overrides, dict):
        return overrides or None
    if isinstance(overrides, str):
        import yaml

        try:
            parsed = yaml.safe_load(overrides) if overrides.strip() else {}
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or "not valid JSON or YAML"
            raise ConfigError(
                f"overrides {overrides!r} cannot be parsed ({problem}); {OVERRIDES_HINT}"
            ) from None
        if isinstance(parsed, dict):
            return parsed or None
        overrides = parsed
    raise ConfigError(
        f"overrides must be a mapping, got {type(overrides).__name__} "
        f"{overrides!r}; {OVERRIDES_HINT}"
    )


def run_dir(out_dir: str | Path, cfg: RunConfig) -> Path:
    return resolve(out_dir) / cfg.run_id


def train_cell(cfg: RunConfig, out_dir: str | Path, progress: bool = True) -> dict:
    """Train (or resume, or skip when finished) one cell; returns the training summary."""
    from rerankscale.training.train import train

    return train(cfg, run_dir(out_dir, cfg), progress=progress)


def evaluate_cell(run_directory: str | Path, progress: bool = True):
    """Evaluate every checkpoint of a trained run on its eval sets (skips what is done)."""
    from rerankscale.evaluation.evaluate import evaluate_run

    path = resolve(run_directory)
    if not (path / "config.json").exists():
        raise ConfigError(
            f"{path} is not a trained run (no config.json): run notebooks/02_train.ipynb with the "
            "same parameters first"
        )
    return evaluate_run(path, progress=progress)
