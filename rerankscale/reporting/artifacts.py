"""Artifact sets: an analysis's tables and figures are published whole, never file by file.

A *set* is the folder the analysis writes (``figures/`` for the committed study,
``runs/<name>/figures`` for the other presets): the results table, every T*/F* artifact, its
``README.md`` and ``manifest.json`` (preset, sha256 of ``results.csv``, git commit, time, and
the sha256 of every file in the set).

``new_set(target, preset)`` builds the next set in a staging folder beside the target,
``.<name>.tmp-<pid>``; when the block finishes, ``publish`` writes the manifest and swaps the
staging folder in with one ``renameat2(RENAME_EXCHANGE)`` (Linux), so the target path holds
the complete old set until that call and the complete new set after it. The old set, now at
the staging path, is then deleted. Where the exchange is not available the old set is renamed
aside (``.<name>.old-<pid>``) and the new one renamed in; a kill between those two renames
leaves no target, and the next ``new_set`` puts the old set back (``recover``).

Leftovers of a killed build (staging or aside folders of a process that no longer runs) are
removed by the next ``new_set`` on the same target; a reader never looks at them.
``writable`` refuses to add files to a published set (one with a manifest): a set changes only
as a whole.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rerankscale.io import atomic_write_json, sha256
from rerankscale.paths import resolve

MANIFEST = "manifest.json"
RESULTS = "results.csv"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class ArtifactError(RuntimeError):
    """An artifact set cannot be written as asked; the message names the fix."""


def _leftover(target: Path) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(target.name)}\.(tmp|old)-(\d+)$")


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def leftovers(target: str | Path) -> list[tuple[Path, str, int]]:
    """(folder, "tmp" or "old", pid) of every staging/aside folder beside ``target``."""
    target = resolve(target)
    pattern = _leftover(target)
    if not target.parent.is_dir():
        return []
    found = []
    for path in sorted(target.parent.iterdir()):
        match = pattern.match(path.name)
        if match and path.is_dir():
            found.append((path, match.group(1), int(match.group(2))))
    return found


def recover(target: str | Path) -> None:
    """Undo what a kill left beside ``target``: put an aside set back when the target is
    missing, then delete the staging and aside folders of processes that no longer run."""
    target = resolve(target)
    if not target.exists():
        aside = [p for p, kind, pid in leftovers(target) if kind == "old" and not _alive(pid)]
        if aside:
            os.rename(aside[-1], target)
    for path, _kind, pid in leftovers(target):
        if pid != os.getpid() and not _alive(pid):
            _remove(path)


def staging_dir(target: str | Path) -> Path:
    """A fresh, empty staging folder beside ``target`` (leftovers cleaned first)."""
    target = resolve(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    stage = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    _remove(stage)
    stage.mkdir()
    return stage


@contextmanager
def new_set(target: str | Path, preset: str) -> Iterator[Path]:
    """Build the next set of ``target`` in the yielded staging folder; it replaces the target
    whole when the block ends, and is discarded when the block raises."""
    target = resolve(target)
    stage = staging_dir(target)
    try:
        yield stage
        publish(stage, target, preset)
    except BaseException:
        _remove(stage)
        raise


def _files(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST
    )


def build_manifest(folder: Path, preset: str) -> dict:
    """What made the set in ``folder``: preset, results checksum, commit, time, its files."""
    from rerankscale.provenance import git_commit

    results = folder / RESULTS
    return {
        "preset": str(preset),
        "results_sha256": sha256(results) if results.is_file() else None,
        "git": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": {name: sha256(folder / name) for name in _files(folder)},
    }


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where that is not supported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap(stage: Path, target: Path) -> Path | None:
    """Put ``stage`` at ``target``; returns where the old set now is (None if there was none)."""
    if not target.exists():
        os.rename(stage, target)
        return None
    if _exchange(stage, target):
        return stage
    aside = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.rename(target, aside)
    os.rename(stage, target)
    return aside


def publish(stage: Path, target: Path, preset: str) -> Path:
    """Write the manifest into ``stage`` and swap it in at ``target`` whole."""
    atomic_write_json(stage / MANIFEST, build_manifest(stage, preset))
    _fsync_dir(stage)
    old = _swap(stage, target)
    _fsync_dir(target.parent)
    if old is not None:
        _remove(old)
    return target


def verify(folder: str | Path) -> list[str]:
    """What is wrong with the set in ``folder`` (empty when it is complete): no manifest, a
    listed file missing or changed, a file the manifest does not list."""
    folder = resolve(folder)
    path = folder / MANIFEST
    if not path.is_file():
        return [f"{folder} has no {MANIFEST}: not a published artifact set"]
    files = json.loads(path.read_text())["files"]
    problems = [f"{name} is missing" for name in files if not (folder / name).is_file()]
    problems += [
        f"{name} differs from the manifest"
        for name, digest in files.items()
        if (folder / name).is_file() and sha256(folder / name) != digest
    ]
    problems += [f"{name} is not in the manifest" for name in _files(folder) if name not in files]
    return problems


def writable(folder: str | Path) -> Path:
    """``folder`` resolved, for writing artifacts one by one; ``ArtifactError`` when it is a
    published set (a set is only replaced whole)."""
    folder = resolve(folder)
    if (folder / MANIFEST).is_file():
        preset = json.loads((folder / MANIFEST).read_text()).get("preset")
        how = f"rerankscale figures --preset {preset}" if preset else "rerankscale figures"
        raise ArtifactError(
            f"{folder} is a published artifact set ({MANIFEST}) and is only replaced whole: "
            f"rebuild it with `{how}`, or set figures_dir to another folder"
        )
    return folder
