"""Load ir_datasets datasets by id, with clear errors, and read their records offline-safely.

Every record read by the data layer goes through the ``iter_*`` helpers here: each runs under
``offline_guard`` so a missing file becomes a ``DatasetNotAvailableError`` (naming the dataset,
the wanted file and how to seed the cache) instead of a connection traceback.
"""

from __future__ import annotations

import atexit
import difflib
import functools
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import MissingDataError, UnknownDatasetError
from .home import ensure_home
from .offline import guarded_iter, offline_guard

ensure_home()  # before the first ``import ir_datasets``

SYNTHETIC_PREFIX = "rerankscale/synthetic"
KINDS = ("docs", "queries", "qrels", "scoreddocs", "docpairs")


class _DocstoreOpened(logging.Filter):
    """Drops ir_datasets' ``Opening <docstore> with direct file access`` records: logged at INFO
    each time a local docs store is opened (twice per eval set in notebook 01), they tell a user
    nothing to act on. ir_datasets' other INFO records (downloads, builds) still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Opening ") and message.endswith("with direct file access"))


@functools.cache
def _quiet_ir_datasets() -> None:
    """Attach ``_DocstoreOpened`` to ir_datasets' logger. ir_datasets configures its logger
    (handler, level INFO) lazily on first use, so the logger is made through ir_datasets' own
    ``log.easy()`` first; a filter added before that would still hold, a level would not."""
    import ir_datasets

    ir_datasets.log.easy().logger().addFilter(_DocstoreOpened())


def load_dataset(dataset_id: str):
    """The ir_datasets ``Dataset`` for ``dataset_id`` (registers the synthetic ids first).

    Loading is lazy in ir_datasets: nothing is downloaded until records are read.

    Raises:
        UnknownDatasetError: the id is not registered; the message lists close matches.
    """
    # deferred on purpose: ir_datasets (which synthetic.irds imports) is heavy and must load
    # after ``ensure_home``; importing the data package does not load it
    import ir_datasets

    from .synthetic.irds import register_synthetic

    register_synthetic()  # the one place the synthetic ids are registered
    _quiet_ir_datasets()
    if not isinstance(dataset_id, str) or not dataset_id.strip():
        raise UnknownDatasetError(
            f"dataset id must be a non-empty string like 'beir/scifact/test', got {dataset_id!r}"
        )
    try:
        return ir_datasets.load(dataset_id)
    except KeyError:
        known = list(ir_datasets.registry)
        close = difflib.get_close_matches(dataset_id, known, n=5, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownDatasetError(
            f"unknown dataset id {dataset_id!r}: it is not registered with ir_datasets.{hint} "
            f"Use an ir_datasets id (see https://ir-datasets.com), one of the built-in "
            f"'{SYNTHETIC_PREFIX}/{{train,dev,trec}}' ids, or register your own dataset with "
            "ir_datasets.registry.register(id, Dataset(...))."
        ) from None


def provides(ds) -> list[str]:
    """What a dataset provides, e.g. ``['docs', 'queries', 'qrels']``."""
    return [kind for kind in KINDS if ds.has(kind)]


def require(dataset_id: str, ds, kind: str, purpose: str) -> None:
    """Raise ``MissingDataError`` if ``ds`` lacks ``kind`` (``'qrels'``, ``'docs'``, ...)."""
    if ds.has(kind):
        return
    fixes = {
        "qrels": "use a split with relevance judgments (e.g. '.../dev/small', "
        "'.../trec-dl-2019/judged', 'beir/<name>/test')",
        "queries": "use a split with queries",
        "docs": "use a dataset with a document collection",
    }
    raise MissingDataError(
        f"dataset {dataset_id!r} has no {kind} (it provides: {', '.join(provides(ds)) or 'nothing'}); "
        f"{purpose} needs {kind}: {fixes.get(kind, 'choose another split')}"
    )


def doc_text(record) -> str:
    """The text of a doc or query record: ``default_text()`` (title + text for BEIR), else
    ``text``, whitespace-normalised (runs of spaces/newlines become one space)."""
    fn = getattr(record, "default_text", None)
    text = fn() if callable(fn) else getattr(record, "text", "")
    return " ".join(str(text).split())


def iter_queries(dataset_id: str, ds) -> Iterator[tuple[str, str]]:
    for q in guarded_iter(dataset_id, ds.queries_iter):
        yield q.query_id, doc_text(q)


def iter_qrels(dataset_id: str, ds) -> Iterator[tuple[str, str, int]]:
    for r in guarded_iter(dataset_id, ds.qrels_iter):
        yield r.query_id, r.doc_id, int(r.relevance)


def iter_docs(dataset_id: str, ds) -> Iterator[tuple[str, str]]:
    for d in guarded_iter(dataset_id, ds.docs_iter):
        yield d.doc_id, doc_text(d)


def iter_scoreddocs(dataset_id: str, ds) -> Iterator[tuple[str, str, float]]:
    for s in guarded_iter(dataset_id, ds.scoreddocs_iter):
        yield s.query_id, s.doc_id, float(s.score)


def iter_docpairs(dataset_id: str, ds) -> Iterator[tuple[str, str, str]]:
    for p in guarded_iter(dataset_id, ds.docpairs_iter):
        yield p.query_id, p.doc_id_a, p.doc_id_b


def load_qrels(dataset_id: str, ds) -> dict[str, dict[str, int]]:
    """qid -> docid -> graded relevance (the last judgment wins on duplicates)."""
    require(dataset_id, ds, "qrels", "this")
    qrels: dict[str, dict[str, int]] = {}
    for qid, did, rel in iter_qrels(dataset_id, ds):
        qrels.setdefault(qid, {})[did] = rel
    return qrels


def lookup_docs(dataset_id: str, ds, doc_ids: Iterable[str]) -> dict[str, str]:
    """Texts of ``doc_ids`` through the dataset's docstore (never the whole corpus in memory).

    Raises:
        MissingDataError: some ids are not in the collection (names a few of them).
    """
    wanted = list(dict.fromkeys(doc_ids))
    if not wanted:
        return {}
    require(dataset_id, ds, "docs", "looking up passages")
    with offline_guard(dataset_id):
        found = _docstore(dataset_id, ds).get_many(wanted)
    missing = [d for d in wanted if d not in found]
    if missing:
        raise MissingDataError(
            f"{len(missing)} doc id(s) referenced by {dataset_id!r} are not in its collection, "
            f"e.g. {missing[:5]}; the candidates/qrels and the docs do not match (stale cache?)"
        )
    return {d: doc_text(found[d]) for d in wanted}


_STORES: dict[tuple, object] = {}
atexit.register(_STORES.clear)  # close docstores before interpreter teardown (noisy __del__)


def _docstore(dataset_id: str, ds):
    """The dataset's docstore, opened once per process (and per synthetic config)."""
    fingerprint = getattr(ds, "rerankscale_fingerprint", None)
    key = (dataset_id, id(ds), fingerprint() if callable(fingerprint) else None)
    store = _STORES.get(key)
    if store is None:
        if len(_STORES) > 32:
            _STORES.clear()
        store = _STORES[key] = ds.docs_store()
    return store


_REL_RE = re.compile(r"\(rel=(\d+)\)")


def default_rel_threshold(dataset_id: str) -> int:
    """The binary relevance threshold of a dataset: 2 for TREC DL passage ids and the synthetic
    ``trec`` split, 1 otherwise.

    Read from the dataset's documented official measures (``RR(rel=2)``, ``AP(rel=2)`` for TREC
    DL passage), so any dataset documenting a threshold gets it; 1 when none is documented.
    """
    ds = load_dataset(dataset_id)
    measures: list[str] = []
    doc_fn = getattr(ds, "documentation", None)
    if callable(doc_fn):
        try:
            measures = list((doc_fn() or {}).get("official_measures") or [])
        except Exception:  # documentation is optional metadata; never fatal
            measures = []
    levels = [int(m) for text in measures for m in _REL_RE.findall(str(text))]
    return max(levels) if levels else 1


def corpus_key(dataset_id: str, ds) -> dict:
    """What identifies a dataset's collection, for cache keys: the id of the dataset that owns
    the docs handler (``beir/scifact/test`` -> ``beir/scifact``), the synthetic config hash when
    synthetic, and the size/mtime of the docs file when ir_datasets exposes one."""
    import ir_datasets

    with offline_guard(dataset_id):
        parent = ir_datasets.docs_parent_id(dataset_id)
    key: dict = {"docs": parent}
    fingerprint = getattr(ds, "rerankscale_fingerprint", None)
    if callable(fingerprint):
        key["fingerprint"] = fingerprint()
        return key
    path_fn = getattr(ds, "docs_path", None)
    if callable(path_fn):
        try:
            path = Path(path_fn(force=False))
        except Exception:  # some handlers only know the path after a download
            path = None
        if path is not None and path.is_file():
            stat = path.stat()
            key["file"] = [str(path), stat.st_size, stat.st_mtime_ns]
    return key
