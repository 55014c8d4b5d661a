"""BM25 with bm25s: analyzers, the index, scoring and seeded top-k.

Scoring is Lucene's BM25 (bm25s ``method="lucene"``; Robertson & Zaragoza 2009, "The
Probabilistic Relevance Framework: BM25 and Beyond"; Lù 2024, "BM25S", arXiv 2407.03618):

    score(q, d) = Σ_{t ∈ q} idf(t) · tf(t, d) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl))
    idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))

bm25s precomputes the per-(term, doc) weights as a sparse term × doc matrix ``W``; a batch of
queries (as a sparse query × term count matrix ``Q``) is scored at once as ``Q · W``. The top
``k`` are ranked by score, ties broken by a per-query pseudo-random key of the doc index (so the
zero-score tail is not "the first docs of the corpus" for every query) — deterministic for a
query id across processes.

Analyzers turn texts into BM25 terms. The default is bm25s' English analyzer (lowercase, the
scikit-learn token pattern ``\\b\\w\\w+\\b``, English stopwords, no stemming). A dataset family can
register its own (the synthetic task joins sub-word pieces into whole words and drops fillers).

This module is the index itself: it knows no dataset. A dataset's index and its BM25 runs are
built and cached on disk by ``candidates.dataset_index`` / ``candidates.bm25_candidates``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataValueError
from .seeding import stable_seed

Analyzer = Callable[[Sequence[str]], list[list[str]]]
METHOD = "lucene"
SCORE_BATCH_CELLS = 20_000_000  # dense scores per batch (queries × docs)


def english_analyzer(texts: Sequence[str]) -> list[list[str]]:
    """bm25s' default analyzer: lowercase, ``\\b\\w\\w+\\b`` tokens, English stopwords removed."""
    import bm25s

    return bm25s.tokenize(
        list(texts), lower=True, stopwords="en", return_ids=False, show_progress=False
    )


# dataset-id prefix -> (analyzer name, factory(dataset_id) -> analyzer)
_ANALYZERS: dict[str, tuple[str, Callable[[str], Analyzer]]] = {}


def register_analyzer(prefix: str, name: str, factory: Callable[[str], Analyzer]) -> None:
    """Use ``factory(dataset_id)`` as the analyzer of every dataset id starting with ``prefix``."""
    _ANALYZERS[prefix] = (name, factory)


def analyzer_for(dataset_id: str) -> tuple[str, Analyzer]:
    """(name, analyzer) for a dataset: the longest registered prefix, else English."""
    best = max((p for p in _ANALYZERS if dataset_id.startswith(p)), key=len, default=None)
    if best is None:
        return "english-stopwords", english_analyzer
    name, factory = _ANALYZERS[best]
    return name, factory(dataset_id)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_LOW32 = np.uint64(0xFFFFFFFF)


def _sortable(scores: np.ndarray) -> np.ndarray:
    """float32 -> uint64 holding a uint32 with the same order (IEEE-754 sign trick)."""
    bits = np.ascontiguousarray(scores, dtype=np.float32).view(np.uint32)
    mono = np.where(bits & np.uint32(0x80000000), ~bits, bits | np.uint32(0x80000000))
    return mono.astype(np.uint64)


def tie_keys(indices: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Pseudo-random 32-bit keys of doc ``indices`` (1-D, shared) for each seed (rows):
    Fibonacci hashing of ``index ^ seed`` (Knuth, TAOCP vol. 3 §6.4); deterministic."""
    idx = np.asarray(indices, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return (
            (idx[None, :] ^ np.asarray(seeds, dtype=np.uint64)[:, None]) * _GOLDEN
        ) >> np.uint64(32)


def topk_matrix(scores: np.ndarray, k: int, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top ``k`` of a ``[n_queries, n_docs]`` score matrix.

    Ranked by score (descending), ties by the smaller ``tie_keys`` value (then the smaller doc
    index), so a query's zero-score tail is a pseudo-random but reproducible set of docs and not
    "the first docs of the corpus" for every query. Returns (doc indices, scores), each
    ``[n_queries, min(k, n_docs)]``.
    """
    nq, n = scores.shape
    k = min(k, n)
    if k <= 0 or nq == 0:
        return np.empty((nq, 0), dtype=np.int64), np.empty((nq, 0), dtype=np.float32)
    key = (_sortable(scores) << np.uint64(32)) | (_LOW32 - tie_keys(np.arange(n), seeds))
    part = (
        np.argpartition(key, n - k, axis=1)[:, n - k :]
        if k < n
        else np.broadcast_to(np.arange(n), (nq, n)).copy()
    )
    sel = np.take_along_axis(key, part, axis=1)
    order = np.lexsort((part, ~sel), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    return top.astype(np.int64), np.take_along_axis(scores, top, axis=1).astype(np.float32)


def topk(scores: np.ndarray, k: int, tie_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``topk_matrix`` for one score vector."""
    idx, sc = topk_matrix(scores[None, :], k, np.array([tie_seed], dtype=np.uint64))
    return idx[0], sc[0]


@dataclass
class BM25Index:
    """A bm25s index plus the doc ids in index order."""

    retriever: object  # bm25s.BM25
    doc_ids: list[str]

    @classmethod
    def build(
        cls,
        doc_ids: list[str],
        doc_terms: list[list[str]],
        k1: float,
        b: float,
        progress: bool = False,
    ) -> BM25Index:
        """Index pre-analyzed docs (``doc_terms[i]`` are the terms of ``doc_ids[i]``)."""
        import bm25s

        if len(doc_ids) != len(doc_terms):
            raise DataValueError("doc_ids and doc_terms must have the same length")
        if not doc_ids:
            raise DataValueError("cannot build a BM25 index over an empty collection")
        retriever = bm25s.BM25(k1=k1, b=b, method=METHOD)
        retriever.index(doc_terms, show_progress=progress)
        return cls(retriever, list(doc_ids))

    def _matrix(self):
        from scipy.sparse import csr_matrix

        if getattr(self, "_w", None) is None:
            s = self.retriever.scores
            n_terms = len(s["indptr"]) - 1
            self._w = csr_matrix(
                (s["data"], s["indices"], s["indptr"]), shape=(n_terms, s["num_docs"])
            )
        return self._w

    def score(self, query_terms: Sequence[list[str]]) -> np.ndarray:
        """Dense BM25 scores, shape ``[len(query_terms), n_docs]`` (float32)."""
        from scipy.sparse import csr_matrix

        w = self._matrix()
        vocab = self.retriever.vocab_dict
        rows, cols = [], []
        for i, terms in enumerate(query_terms):
            for t in terms:
                j = vocab.get(t)
                if j is not None and t != "":
                    rows.append(i)
                    cols.append(j)
        q = csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(query_terms), w.shape[0]),
        )
        return np.asarray((q @ w).todense(), dtype=np.float32)

    def search(
        self,
        qids: Sequence[str],
        query_terms: Sequence[list[str]],
        depth: int,
        progress: bool = False,
    ) -> dict[str, list[tuple[str, float]]]:
        """qid -> [(doc_id, score)] top ``depth`` in rank order."""
        from tqdm.auto import tqdm

        if depth <= 0:
            raise DataValueError(f"candidate depth must be positive, got {depth}")
        n_docs = len(self.doc_ids)
        batch = max(1, SCORE_BATCH_CELLS // max(1, n_docs))
        out: dict[str, list[tuple[str, float]]] = {}
        bar = tqdm(total=len(qids), desc="BM25 retrieval", unit="q", disable=not progress)
        for start in range(0, len(qids), batch):
            part = qids[start : start + batch]
            scores = self.score(query_terms[start : start + batch])
            seeds = np.array([stable_seed("bm25-ties", q) for q in part], dtype=np.uint64)
            idx, sc = topk_matrix(scores, depth, seeds)
            for row, qid in enumerate(part):
                out[qid] = [(self.doc_ids[i], float(s)) for i, s in zip(idx[row], sc[row])]
            bar.update(len(part))
        bar.close()
        return out

    # ------------------------------------------------------------------ persistence

    def save(self, folder: Path, meta: dict) -> None:
        """Write atomically: into a temp folder, then rename into place."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        try:
            self.retriever.save(str(tmp / "bm25s"), show_progress=False)
            (tmp / "doc_ids.txt").write_text("\n".join(self.doc_ids) + "\n")
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
            try:
                tmp.rename(folder)
            except OSError:  # another process finished first: keep theirs
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        import bm25s

        retriever = bm25s.BM25.load(str(folder / "bm25s"), show_progress=False)
        doc_ids = (folder / "doc_ids.txt").read_text().split("\n")[:-1]
        return cls(retriever, doc_ids)
