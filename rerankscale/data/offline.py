"""Offline use of ir_datasets: clear errors for missing files, and cache seeding.

ir_datasets fetches every source file through ``ir_datasets.util.download.Download.path()``
(``Download.stream()`` for streamed sources). Each ``Download`` holds its *mirrors*: a
``LocalDownload`` for ``$IR_DATASETS_HOME/downloads/<md5>`` (large files only), the
``RequestsDownload`` of the official URL and sometimes the ir-datasets.com mirror. Without
network the last mirror fails with a ``requests`` connection error deep inside an iterator.

This module wraps those two methods once (the wrapper only *records* which download failed and
re-raises, so ir_datasets behaves exactly as before), and ``offline_guard(dataset_id)`` turns an
error raised while a recorded download failed into a ``DatasetNotAvailableError`` whose message
names the dataset, the file ir_datasets wanted and how to pre-seed the cache.

``seed_beir_cache`` pre-seeds a BEIR dataset from a local BEIR-format folder (the layout of BEIR's
``<name>.zip``), e.g. the SciFact copy in ``../shared/data/scifact``.
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..io import atomic_write_bytes
from .errors import DataError, DatasetNotAvailableError, DataValueError
from .home import ENV_VAR, dataset_home

_state = threading.local()
_installed = False


def _record(download, exc: BaseException) -> None:
    _state.failure = (download, exc)


def install_download_hook() -> None:
    """Wrap ``Download.path``/``Download.stream`` to record failures (idempotent)."""
    global _installed
    if _installed:
        return
    from ir_datasets.util.download import Download

    original_path = Download.path
    original_stream = Download.stream

    def path(self, force=True):
        try:
            return original_path(self, force)
        except Exception as exc:
            _record(self, exc)
            raise

    def stream(self):
        context = original_stream(self)

        class _Recorded:
            def __enter__(inner):
                try:
                    return context.__enter__()
                except Exception as exc:
                    _record(self, exc)
                    raise

            def __exit__(inner, *exc_info):
                return context.__exit__(*exc_info)

        return _Recorded()

    path.__wrapped__ = original_path
    stream.__wrapped__ = original_stream
    Download.path = path
    Download.stream = stream
    _installed = True


def _describe(download) -> tuple[list[str], list[str]]:
    """(wanted, how-to-seed lines) for a failed ``Download``."""
    from ir_datasets.util.download import LocalDownload

    wanted, seed = [], []
    md5 = getattr(download, "expected_md5", None)
    for mirror in getattr(download, "mirrors", []):
        if isinstance(mirror, LocalDownload):
            local = str(mirror._path)
            message = getattr(mirror, "_message", None)
            if md5 and Path(local).name == md5:
                seed.append(f"copy or symlink the file to {local} (its content is md5-checked)")
            else:
                seed.append(f"place the file at {local}")
            if message and "symlink it here" not in message:
                seed.append(f"ir_datasets says: {message}")
        elif getattr(mirror, "url", None) and "mirror.ir-datasets.com" not in mirror.url:
            wanted.append(mirror.url + (f" (md5 {md5})" if md5 else ""))
    cache_path = getattr(download, "_cache_path", None)
    if cache_path:
        seed.append(f"or place the downloaded file itself at {cache_path}")
    if not wanted:
        wanted = [str(cache_path)] if cache_path else ["(a file with no download URL)"]
    return wanted, seed


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def not_available_error(dataset_id: str, download, exc: BaseException) -> DatasetNotAvailableError:
    wanted, seed = _describe(download)
    lines = [
        f"dataset {dataset_id!r} is not available offline: ir_datasets needed",
        *[f"    {w}" for w in wanted],
        f"and could not get it ({_short(exc)}).",
        f"To pre-seed the cache ({ENV_VAR}={dataset_home()}):",
        *[f"  - {s}" for s in seed],
        "  - or, on a machine with network, run the same code (or `ir_datasets export "
        f"{dataset_id} queries`) with {ENV_VAR} set to an empty folder and copy that folder here",
    ]
    if dataset_id.startswith("beir/"):
        name = dataset_id.split("/")[1]
        lines.append(
            f"  - or seed it from a local BEIR folder: rerankscale.data.seed_beir_cache({name!r}, "
            "'<folder with corpus.jsonl, queries.jsonl, qrels/>')"
        )
    return DatasetNotAvailableError("\n".join(lines), dataset_id, wanted)


def _caused_by(exc: BaseException, root: BaseException) -> bool:
    """Whether ``root`` is ``exc`` or in its ``__cause__``/``__context__`` chain."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if exc is root:
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


@contextmanager
def offline_guard(dataset_id: str) -> Iterator[None]:
    """Turn a failed ir_datasets download inside the block into ``DatasetNotAvailableError``."""
    install_download_hook()
    outer = getattr(_state, "depth", 0) == 0
    if outer:
        _state.failure = None
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    except DataError:
        raise
    except Exception as exc:
        failure = getattr(_state, "failure", None)
        if failure is None or not _caused_by(exc, failure[1]):
            raise
        _state.failure = None
        raise not_available_error(dataset_id, failure[0], failure[1]) from exc
    finally:
        _state.depth -= 1


def guarded_iter(dataset_id: str, make_iter) -> Iterator:
    """Iterate ``make_iter()`` (e.g. ``ds.queries_iter``) under ``offline_guard``."""
    with offline_guard(dataset_id):
        yield from make_iter()


# --------------------------------------------------------------------------- seeding

_BEIR_FILES = ("corpus.jsonl", "queries.jsonl")


def _beir_zip(name: str, folder: Path) -> bytes:
    missing = [f for f in _BEIR_FILES if not (folder / f).is_file()]
    qrels = sorted((folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
    if missing or not qrels:
        what = missing + ([] if qrels else ["qrels/<split>.tsv"])
        raise DataError(
            f"{folder} is not a BEIR dataset folder: missing {what}. Expected BEIR's layout: "
            "corpus.jsonl, queries.jsonl and qrels/<split>.tsv (e.g. ../shared/data/scifact)"
        )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel in [*_BEIR_FILES, *(f"qrels/{p.name}" for p in qrels)]:
            info = zipfile.ZipInfo(f"{name}/{rel}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, (folder / rel).read_bytes())
    return buf.getvalue()


def seed_beir_cache(dataset_name: str, beir_folder: str | Path, overwrite: bool = False) -> Path:
    """Pre-seed ``beir/<dataset_name>`` from a local BEIR-format folder; returns the zip path.

    ir_datasets reads BEIR dataset ``X`` from ``$IR_DATASETS_HOME/beir/X/source.zip`` when that
    file exists (no md5 check on that path). This writes exactly that zip (members
    ``X/corpus.jsonl``, ``X/queries.jsonl``, ``X/qrels/<split>.tsv``), atomically and
    reproducibly (fixed timestamps). Call it before the dataset is first loaded in a process
    whose ``IR_DATASETS_HOME`` differs from the one ir_datasets was imported with.

    Example::

        seed_beir_cache("scifact", "../shared/data/scifact")
        load_eval_set("beir/scifact/test", depth=100)

    Raises:
        DataError: the folder lacks BEIR files, or a different zip is already there (pass
            ``overwrite=True``; the dataset's derived caches are then removed).
    """
    if not dataset_name or "/" in dataset_name or dataset_name.startswith("beir"):
        raise DataValueError(
            f"dataset_name {dataset_name!r} must be a top-level BEIR name such as 'scifact' "
            "(the dataset id is then 'beir/scifact')"
        )
    folder = Path(beir_folder)
    if not folder.is_dir():
        raise DataError(
            f"BEIR folder {folder} does not exist; pass the folder holding corpus.jsonl"
        )
    data = _beir_zip(dataset_name, folder)
    target = dataset_home() / "beir" / dataset_name / "source.zip"
    if target.exists():
        if target.read_bytes() == data:
            return target
        if not overwrite:
            raise DataError(
                f"{target} already exists with different content; pass overwrite=True to replace "
                "it (the dataset's derived caches in that folder are removed too)"
            )
        for derived in target.parent.iterdir():
            if derived != target and derived.is_file():
                derived.unlink()
            elif derived.is_dir() and derived.name.endswith(".pklz4"):
                import shutil

                shutil.rmtree(derived)
    atomic_write_bytes(target, data)
    return target
