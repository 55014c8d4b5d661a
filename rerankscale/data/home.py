"""Where ir_datasets (and rerankscale's derived data caches) keep their files.

``IR_DATASETS_HOME`` defaults to the project-local folder ``<project>/.cache/ir_datasets`` instead
of ir_datasets' own default ``~/.ir_datasets``. The variable must be set *before* ir_datasets is
imported, because ir_datasets fixes each built-in dataset's folder at import time; importing
``rerankscale.data`` sets it (unless the user already did). Override it with the environment
variable::

    IR_DATASETS_HOME=/data/irds jupyter lab

rerankscale's own caches live under the same root, in ``$IR_DATASETS_HOME/rerankscale/``:
``synthetic/<config-hash>/`` (the generated eval splits) and ``bm25/<key>/`` (BM25 indexes and
candidate runs, keyed by corpus and parameters).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from ..paths import PACKAGE_CHECKOUT, project_home

ENV_VAR = "IR_DATASETS_HOME"
_log = logging.getLogger(__name__)


def repo_root() -> Path:
    """The project checkout (the folder holding ``pyproject.toml``), or the working directory
    when the package is installed elsewhere."""
    root = PACKAGE_CHECKOUT
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def default_home() -> Path:
    """``<project>/.cache/ir_datasets`` (the project directory of ``rerankscale.paths``: the
    enclosing checkout or the working directory, not the install)."""
    return project_home() / ".cache" / "ir_datasets"


def shared_data_dir() -> Path:
    """``<repo>/../shared/data``: the steering repo's data folder (SciFact), when present."""
    return repo_root().parent / "shared" / "data"


def ensure_home() -> Path:
    """Set ``IR_DATASETS_HOME`` to the project default if unset (before ir_datasets is imported).

    If ir_datasets was imported earlier without the variable, its built-in datasets already
    point at ``~/.ir_datasets``; the variable is then left alone (changing it now would split the
    cache in two) and a warning says how to get the project-local cache.
    """
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    if "ir_datasets" in sys.modules:
        fallback = Path.home() / ".ir_datasets"
        _log.warning(
            "ir_datasets was imported before rerankscale.data without %s set, so it uses %s. "
            "Import rerankscale.data first (or set %s) to use the project cache %s.",
            ENV_VAR,
            fallback,
            ENV_VAR,
            default_home(),
        )
        return fallback
    home = default_home()
    os.environ[ENV_VAR] = str(home)
    return home


def dataset_home() -> Path:
    """The ir_datasets home in effect (``$IR_DATASETS_HOME``, default
    ``<project>/.cache/ir_datasets``)."""
    value = os.environ.get(ENV_VAR)
    home = Path(value) if value else ensure_home()
    return home


def cache_dir(*parts: str) -> Path:
    """A folder for rerankscale's derived data under ``$IR_DATASETS_HOME/rerankscale/``."""
    path = dataset_home().joinpath("rerankscale", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


ensure_home()
