"""First-stage candidates: the dataset's ``scoreddocs`` when it has them, else BM25 (bm25s).

Rules (``first_stage="auto"``):

1. The dataset has ``scoreddocs`` (MS MARCO's official BM25 top-1000, the synthetic splits'
   BM25 runs): they are the candidate *set*. If a query's scores carry an order (not all equal),
   candidates are sorted by score, ties kept in file order, and cut at ``depth``.
   If all its scores are equal — MS MARCO's files have score 0 everywhere, and their line order
   is *not* a rank (the MS MARCO authors shuffled the top-1000; ir_datasets' copy is sorted by
   doc id) — the candidates are ordered by BM25 (bm25s over the dataset's collection, cached)
   before the cut, so "top-100" means BM25's top-100 within the official top-1000.
2. Otherwise: BM25 top ``depth`` over the collection (``bm25_candidates``).

``first_stage="scoreddocs"`` requires scoreddocs; ``first_stage="bm25"`` ignores them.

BM25 cache (``$IR_DATASETS_HOME/rerankscale/bm25/``): ``<index_key>/`` holds a dataset's bm25s
index (``bm25.BM25Index``), ``doc_ids.txt`` and ``meta.json``; ``<index_key>/runs/<run_key>.tsv``
holds candidate runs (``qid<TAB>docid<TAB>score`` in rank order). The index key is a digest of
the corpus key (``registry.corpus_key``), the analyzer, k1, b and the bm25s scoring method; the
run key adds the depth and a digest of the query texts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..io import atomic_write_json, atomic_write_text
from .bm25 import METHOD, SCORE_BATCH_CELLS, BM25Index, analyzer_for, tie_keys
from .errors import DataValueError, MissingDataError
from .home import cache_dir
from .registry import corpus_key, iter_docs, iter_scoreddocs, load_dataset, provides, require
from .seeding import digest, stable_seed

_log = logging.getLogger(__name__)
FIRST_STAGES = ("auto", "scoreddocs", "bm25")


def check_depth(depth) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int | np.integer) or depth <= 0:
        raise DataValueError(
            f"candidate depth must be a positive integer (the number of first-stage candidates "
            f"per query, e.g. 100), got {depth!r}"
        )
    return int(depth)


def first_stage_source(dataset_id: str, ds, first_stage: str) -> str:
    """``"scoreddocs"`` or ``"bm25"`` for a dataset and a requested policy."""
    if first_stage not in FIRST_STAGES:
        raise DataValueError(f"first_stage={first_stage!r}: choose one of {FIRST_STAGES}")
    if first_stage == "scoreddocs" and not ds.has("scoreddocs"):
        raise MissingDataError(
            f"dataset {dataset_id!r} has no scoreddocs (it provides: {', '.join(provides(ds))}); "
            "use first_stage='auto' or 'bm25' to retrieve candidates with BM25"
        )
    if first_stage == "bm25" or not ds.has("scoreddocs"):
        return "bm25"
    return "scoreddocs"


def candidates(
    dataset_id: str,
    ds,
    queries: dict[str, str],
    depth: int,
    k1: float,
    b: float,
    first_stage: str = "auto",
    progress: bool = True,
) -> tuple[dict[str, list[tuple[str, float]]], str]:
    """qid -> [(doc_id, score)] in rank order (len ≤ depth), and a label of how they were made:
    ``"scoreddocs"``, ``"scoreddocs+bm25-order"`` or ``"bm25"``."""
    depth = check_depth(depth)
    if first_stage_source(dataset_id, ds, first_stage) == "bm25":
        run = bm25_candidates(dataset_id, queries, depth, k1, b, progress=progress)
        return {q: run.get(q, []) for q in queries}, "bm25"
    lists: dict[str, list[tuple[str, float]]] = {q: [] for q in queries}
    for qid, did, score in iter_scoreddocs(dataset_id, ds):
        if qid in lists:
            lists[qid].append((did, score))
    tied = [q for q, lst in lists.items() if len(lst) > 1 and len({s for _, s in lst}) == 1]
    out: dict[str, list[tuple[str, float]]] = {}
    for qid, lst in lists.items():
        # sorted() is stable: equal scores keep their file order
        out[qid] = sorted(lst, key=lambda x: -x[1])[:depth]
    label = "scoreddocs"
    if tied:
        out.update(
            _bm25_order(
                dataset_id,
                {q: queries[q] for q in tied},
                {q: lists[q] for q in tied},
                depth,
                k1,
                b,
                progress,
            )
        )
        label = "scoreddocs+bm25-order"
        _log.info(
            "%s: %d queries have unscored scoreddocs; ordered them by BM25 before the depth-%d cut",
            dataset_id,
            len(tied),
            depth,
        )
    return out, label


def _bm25_order(
    dataset_id: str,
    queries: dict[str, str],
    lists: dict[str, list[tuple[str, float]]],
    depth: int,
    k1: float,
    b: float,
    progress: bool,
) -> dict[str, list[tuple[str, float]]]:
    """Order each query's candidate set by BM25 score over the whole collection, ties broken as
    BM25 retrieval breaks them; the scores returned are the BM25 scores."""
    index, _ = dataset_index(dataset_id, k1, b, progress=progress)
    position = {did: i for i, did in enumerate(index.doc_ids)}
    _, analyzer = analyzer_for(dataset_id)
    qids = list(queries)
    terms = analyzer([queries[q] for q in qids])
    out = {}
    batch = max(1, SCORE_BATCH_CELLS // max(1, len(index.doc_ids)))
    for start in range(0, len(qids), batch):
        scores = index.score(terms[start : start + batch])
        for row, qid in enumerate(qids[start : start + batch]):
            idx, file_pos = [], []
            for pos, (did, _) in enumerate(lists[qid]):
                i = position.get(did)
                if i is None:
                    raise MissingDataError(
                        f"scoreddocs of {dataset_id!r} name doc {did!r} (query {qid!r}) that is "
                        "not in its collection; the docs and the run do not match"
                    )
                idx.append(i)
                file_pos.append(pos)
            idx_arr = np.array(idx, dtype=np.int64)
            sc = scores[row, idx_arr]
            keys = tie_keys(idx_arr, np.array([stable_seed("bm25-ties", qid)]))[0]
            # the same order as BM25 retrieval: score, then the seeded tie key, then the index
            order = np.lexsort((idx_arr, keys, -sc))[:depth]
            out[qid] = [(lists[qid][file_pos[k]][0], float(sc[k])) for k in order]
    return out


# --------------------------------------------------------------------------- BM25 cache


def index_key(dataset_id: str, ds, k1: float, b: float) -> tuple[str, dict]:
    import bm25s

    name, _ = analyzer_for(dataset_id)
    meta = {
        "corpus": corpus_key(dataset_id, ds),
        "analyzer": name,
        "k1": float(k1),
        "b": float(b),
        "method": METHOD,
        "bm25s": bm25s.__version__,
    }
    return digest(meta, 16), meta


def dataset_index(
    dataset_id: str, k1: float = 0.9, b: float = 0.4, progress: bool = True
) -> tuple[BM25Index, str]:
    """The BM25 index of a dataset's collection (built once, then loaded from the cache)."""
    from tqdm.auto import tqdm

    ds = load_dataset(dataset_id)
    require(dataset_id, ds, "docs", "BM25 retrieval")
    key, meta = index_key(dataset_id, ds, k1, b)
    folder = cache_dir("bm25") / key
    if (folder / "meta.json").is_file():
        return BM25Index.load(folder), key
    _, analyzer = analyzer_for(dataset_id)
    doc_ids: list[str] = []
    terms: list[list[str]] = []
    ids_batch: list[str] = []
    texts_batch: list[str] = []
    for did, text in tqdm(
        iter_docs(dataset_id, ds),
        desc=f"BM25 index {meta['corpus']['docs']}",
        unit="doc",
        disable=not progress,
        mininterval=2.0,
    ):
        ids_batch.append(did)
        texts_batch.append(text)
        if len(texts_batch) >= 50_000:
            doc_ids += ids_batch
            terms += analyzer(texts_batch)
            ids_batch, texts_batch = [], []
    if texts_batch:
        doc_ids += ids_batch
        terms += analyzer(texts_batch)
    index = BM25Index.build(doc_ids, terms, k1, b, progress=False)
    index.save(folder, {**meta, "n_docs": len(doc_ids)})
    _log.info("BM25 index of %s (%d docs) cached in %s", dataset_id, len(doc_ids), folder)
    return index, key


def bm25_candidates(
    dataset_id: str,
    queries: dict[str, str],
    depth: int,
    k1: float = 0.9,
    b: float = 0.4,
    progress: bool = True,
) -> dict[str, list[tuple[str, float]]]:
    """BM25 top-``depth`` (doc_id, score) per query over the dataset's docs, cached on disk."""
    if depth <= 0:
        raise DataValueError(f"candidate depth must be positive, got {depth}")
    index, key = dataset_index(dataset_id, k1, b, progress=progress)
    qids = sorted(queries)
    run_key = digest({"depth": depth, "queries": [[q, queries[q]] for q in qids]}, 16)
    path = cache_dir("bm25", key, "runs") / f"{run_key}.tsv"
    if path.is_file():
        return _read_run(path)
    _, analyzer = analyzer_for(dataset_id)
    run = index.search(qids, analyzer([queries[q] for q in qids]), depth, progress=progress)
    lines = [f"{qid}\t{did}\t{score!r}" for qid in qids for did, score in run[qid]]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    atomic_write_json(
        path.with_suffix(".json"),
        {"dataset": dataset_id, "depth": depth, "n_queries": len(qids), "index": key},
    )
    return run


def _read_run(path: Path) -> dict[str, list[tuple[str, float]]]:
    run: dict[str, list[tuple[str, float]]] = {}
    with path.open() as f:
        for line in f:
            qid, did, score = line.rstrip("\n").split("\t")
            run.setdefault(qid, []).append((did, float(score)))
    return run
