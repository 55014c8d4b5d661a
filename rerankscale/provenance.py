"""What produced a result: package versions, git commit, hardware. Recorded with every run."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from rerankscale.paths import PACKAGE_CHECKOUT

PACKAGES = (
    "torch",
    "transformers",
    "tokenizers",
    "accelerate",
    "ir_datasets",
    "ranx",
    "bm25s",
    "numpy",
    "scipy",
    "pandas",
)


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(repo: str | Path | None = None) -> dict[str, Any]:
    """The commit of the source tree and whether it had uncommitted changes."""
    repo = Path(repo) if repo else PACKAGE_CHECKOUT
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def cpu_model() -> str | None:
    """The CPU's model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def cpu_capability() -> str | None:
    """The vector instruction set torch's CPU kernels dispatch to ("AVX2", "AVX512", ...):
    float results are bitwise reproducible only between machines that share it."""
    try:
        import torch

        return torch.backends.cpu.get_cpu_capability()
    except ImportError:
        return None


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_model": cpu_model(),
        "cpu_capability": cpu_capability(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def environment_info() -> dict[str, Any]:
    """Everything needed to say what produced a result."""
    return {
        "python": sys.version.split()[0],
        "packages": package_versions(),
        "git": git_commit(),
        "hardware": hardware(),
    }
