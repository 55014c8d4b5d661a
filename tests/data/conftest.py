"""Fixtures of the data-layer tests.

The whole test session uses a temporary ``IR_DATASETS_HOME`` (set here, before ir_datasets is
imported, unless the caller set one), so tests never write into the project cache and the
synthetic task is generated from scratch once per session. Tests that need a *fresh* home
(offline errors, SciFact seeding) run in a subprocess.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_SCIFACT = REPO.parent / "shared" / "data" / "scifact"

if "ir_datasets" not in sys.modules and not os.environ.get("RERANKSCALE_TEST_KEEP_HOME"):
    _home = tempfile.mkdtemp(prefix="rerankscale-test-irds-")
    os.environ["IR_DATASETS_HOME"] = _home
    atexit.register(shutil.rmtree, _home, ignore_errors=True)
os.environ.pop("RERANKSCALE_SYNTHETIC", None)


def run_python(code: str, env: dict[str, str] | None = None, timeout: int = 180) -> str:
    """Run ``code`` in a fresh interpreter with the repo importable; return its stdout."""
    full_env = {k: v for k, v in os.environ.items() if k != "RERANKSCALE_SYNTHETIC"}
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=str(REPO),
    )
    if proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


@pytest.fixture(autouse=True)
def _default_synthetic_config():
    """Every test starts (and ends) with the default synthetic config."""
    from rerankscale.data import configure_synthetic

    configure_synthetic(None)
    yield
    configure_synthetic(None)
