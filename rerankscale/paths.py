"""Where outputs go: the project directory, which follows the user, not the install.

Relative paths the user gives or the presets name (``runs/<name>``, ``figures``, the caches
under ``.cache/``) resolve against the *project directory*:

1. ``$RERANKSCALE_HOME`` when it is set;
2. otherwise, when the working directory is inside a rerankscale checkout (a folder whose
   ``pyproject.toml`` names the ``rerankscale`` project), the root of that checkout, so
   ``make study`` from the root and a notebook opened in ``notebooks/`` (nbval, JupyterLab)
   both write to ``<checkout>/runs`` and ``<checkout>/figures``;
3. otherwise the working directory itself.

So a second checkout using the same environment writes into itself, and a non-editable
install never writes inside site-packages. The folder the package was installed from matters
only for what ships with it: the notebooks and the pretrained suite (``tokenizer.SUITE_DIR``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ENV_VAR = "RERANKSCALE_HOME"
_NAME = re.compile(r'^\s*name\s*=\s*["\']rerankscale["\']', re.MULTILINE)


def is_checkout(folder: Path) -> bool:
    """Whether ``folder`` is the root of a rerankscale checkout (its pyproject names it)."""
    pyproject = folder / "pyproject.toml"
    try:
        return bool(_NAME.search(pyproject.read_text()))
    except OSError:
        return False


def project_home() -> Path:
    """The project directory (``$RERANKSCALE_HOME``, the enclosing checkout, or the cwd)."""
    value = os.environ.get(ENV_VAR)
    if value:
        return Path(value).expanduser().resolve()
    cwd = Path.cwd().resolve()
    return next((p for p in (cwd, *cwd.parents) if is_checkout(p)), cwd)


def resolve(path: str | Path) -> Path:
    """``path`` as given when absolute, else relative to ``project_home()``."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else project_home() / path


PACKAGE_CHECKOUT = Path(__file__).resolve().parent.parent  # where the package was loaded from
SUITE_ENV_VAR = "RERANKSCALE_SUITE"


ROOT_SUITE = "stream"  # the first shipped suite lives in suite/ itself; any other in suite/<name>/


def named_suite_dir(name: str, root: Path | None = None) -> Path:
    """The folder of the shipped suite ``name`` (``rerankscale.models.suite.SUITES``): ``root`` (default
    ``suite_dir()``) for ``stream``, ``root/<name>`` for any other."""
    root = suite_dir() if root is None else root
    return root if name == ROOT_SUITE else root / name


def suite_dir() -> Path:
    """The pretrained suite's folder: ``$RERANKSCALE_SUITE`` when set; else ``suite/`` of the
    checkout the package runs from (the shipped suite; an editable install or the repository
    itself); else, for a package installed outside a checkout, ``<project>/suite``."""
    value = os.environ.get(SUITE_ENV_VAR)
    if value:
        return Path(value).expanduser().resolve()
    if is_checkout(PACKAGE_CHECKOUT):
        return PACKAGE_CHECKOUT / "suite"
    return project_home() / "suite"
