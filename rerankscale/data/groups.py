"""Training groups: a query, its positive first, then ``n_negatives`` negatives.

``training_groups`` returns a deterministic stream for (dataset, n_negatives, seed) and the
dataset's config. Where the negatives come from depends on what the dataset provides:

* **The synthetic train split** (``rerankscale/synthetic/train``): group ``g`` is query
  ``g mod queries_per_chunk`` of chunk ``g // queries_per_chunk`` of training stream ``seed`` — a
  fresh corpus per chunk, so exposure never repeats data; negatives are drawn uniformly from the
  query's BM25 top ``train_candidate_depth`` minus its positive (as the prototype). ``start``
  jumps straight to the right chunk (O(1)).
* **docpairs** (MS MARCO ``train/triples-small``: (query, positive, negative) lines): the file is
  streamed once per epoch and never held in memory. ``triples.train.small`` is *not* grouped by
  query (the MS MARCO authors drew negatives from BM25's top-1000 in random order; ir_datasets'
  own tests show consecutive lines of unrelated queries), so pending groups are kept per query
  until ``n_negatives`` distinct negatives (not judged positive) are seen; the group's positive is
  its first pair's positive. At most ``max_pending`` queries are pending (new queries are not
  admitted beyond that), the stream stops after ``max_queries`` complete groups, and incomplete
  groups at the end of the file are dropped. Complete groups pass through a seeded shuffle
  buffer (``shuffle_buffer`` groups), so seeds see different orders.
* **qrels (+ scoreddocs or BM25)** (``beir/scifact/train``, ``msmarco-passage/train/judged``):
  every query needs a judged positive; a seeded subset of ``max_queries`` queries is drawn, each
  epoch visits them in a seeded order; the positive is a top-graded judged passage, negatives are
  drawn uniformly from the query's first-stage top ``depth`` minus every judged-relevant passage.
  ``start`` is O(1).

``max_queries`` caps the *distinct* training queries (the paper: 100k); with ``epochs=None``
the stream cycles over them forever (a new permutation and new negatives each epoch; docpairs
groups keep their negatives) — the trainer stops after its exposure budget. The synthetic train
split without ``max_queries`` is an endless stream of fresh queries.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .candidates import candidates as first_stage_candidates
from .candidates import check_depth
from .errors import DataValueError, MissingDataError
from .evalsets import subset_qids
from .registry import (
    iter_docpairs,
    iter_queries,
    load_dataset,
    load_qrels,
    lookup_docs,
    require,
)
from .seeding import rng

_log = logging.getLogger(__name__)
SYNTHETIC_TRAIN = "rerankscale/synthetic/train"


@dataclass
class TrainingGroup:
    """One training query: ``doc_ids[0]`` is the positive, the rest are negatives."""

    qid: str
    query: str
    doc_ids: list[str]
    docs: list[str]
    labels: list[int]  # graded relevance of each doc (negatives 0)


def _positive_int(name: str, value, allow_none: bool = False, minimum: int = 1) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise DataValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")


def training_groups(
    dataset_id: str,
    n_negatives: int,
    seed: int = 0,
    start: int = 0,
    max_queries: int | None = None,
    bm25_k1: float = 0.9,
    bm25_b: float = 0.4,
    *,
    epochs: int | None = None,
    depth: int = 100,
    first_stage: str = "auto",
    synthetic: dict | None = None,
    max_pending: int = 200_000,
    shuffle_buffer: int = 10_000,
    progress: bool = False,
) -> Iterator[TrainingGroup]:
    """A deterministic stream of training groups (positive first); see the module docstring.

    Args:
        dataset_id: ir_datasets id of the training split.
        n_negatives: negatives per group (the paper: 10).
        seed: the stream's seed (query order, negatives; the synthetic training corpora).
        start: skip the first ``start`` groups (the trainer's resume cursor).
        max_queries: cap on distinct training queries (the paper: 100k); None = all/unbounded.
        bm25_k1, bm25_b: BM25 parameters where negatives come from BM25.
        epochs: stop after this many passes over the ``max_queries`` queries (None = cycle).
        depth: first-stage depth negatives are drawn from (qrels datasets; the paper: 100).
        first_stage: ``"auto"``, ``"scoreddocs"`` or ``"bm25"`` (qrels datasets).
        synthetic: synthetic-task overrides (``DataConfig.synthetic``); None = the active config.
        max_pending, shuffle_buffer: memory bounds of the docpairs stream.
        progress: tqdm bars while preparing candidates / streaming docpairs.

    Raises (when called, before the first group): UnknownDatasetError, MissingDataError (no
    qrels/docpairs, a query without a positive), DataValueError (bad numbers).
    """
    _positive_int("n_negatives", n_negatives)
    _positive_int("start", start, minimum=0)
    _positive_int("max_queries", max_queries, allow_none=True)
    _positive_int("epochs", epochs, allow_none=True)
    check_depth(depth)
    if dataset_id == SYNTHETIC_TRAIN:
        return _synthetic_groups(n_negatives, seed, start, max_queries, epochs, synthetic)
    ds = load_dataset(dataset_id)
    require(dataset_id, ds, "queries", "training")
    require(dataset_id, ds, "docs", "training")
    if ds.has("docpairs"):
        _positive_int("max_pending", max_pending)
        _positive_int("shuffle_buffer", shuffle_buffer)
        return _docpairs_groups(
            dataset_id,
            ds,
            n_negatives,
            seed,
            start,
            max_queries,
            epochs,
            max_pending,
            shuffle_buffer,
            progress,
        )
    if not ds.has("qrels"):
        raise MissingDataError(
            f"dataset {dataset_id!r} has neither docpairs nor qrels, so it has no positives to "
            "train on: use a training split with relevance judgments (e.g. 'beir/scifact/train', "
            "'msmarco-passage/train/triples-small')"
        )
    return _qrels_groups(
        dataset_id,
        ds,
        n_negatives,
        seed,
        start,
        max_queries,
        epochs,
        depth,
        first_stage,
        bm25_k1,
        bm25_b,
        progress,
    )


# --------------------------------------------------------------------------- synthetic


def _synthetic_groups(n_negatives, seed, start, max_queries, epochs, synthetic):
    from .synthetic.config import SyntheticConfig, active_config
    from .synthetic.generate import train_chunk

    cfg = SyntheticConfig.from_overrides(synthetic) if synthetic is not None else active_config()
    if n_negatives > cfg.train_candidate_depth - 1:
        raise DataValueError(
            f"n_negatives={n_negatives} exceeds the {cfg.train_candidate_depth - 1} negatives a "
            "synthetic training query has (BM25 top train_candidate_depth minus the positive); "
            "lower n_negatives or raise the synthetic knob train_candidate_depth"
        )
    if epochs is not None and max_queries is None:
        raise DataValueError(
            "epochs needs max_queries on the synthetic train split (it is an endless stream of "
            "fresh queries); set max_queries or leave epochs=None"
        )
    qpc = cfg.queries_per_chunk

    def stream() -> Iterator[TrainingGroup]:
        g = start
        while epochs is None or g < epochs * max_queries:
            epoch, i = divmod(g, max_queries) if max_queries else (0, g)
            chunk_no, j = divmod(i, qpc)
            chunk = train_chunk(cfg, seed, chunk_no)
            pos = chunk.positives[j]
            pool = [int(d) for d in chunk.candidates[j] if d != pos]
            r = rng("train-negatives", cfg.seed, seed, epoch, chunk_no, j)
            negs = [pool[k] for k in r.choice(len(pool), size=n_negatives, replace=False)]
            q = chunk.queries[j]
            ids = [pos, *negs]
            yield TrainingGroup(
                q.qid,
                q.text,
                [chunk.doc_ids[d] for d in ids],
                [chunk.texts[d] for d in ids],
                [1] + [0] * n_negatives,
            )
            g += 1

    return stream()


# --------------------------------------------------------------------------- qrels + candidates


def _qrels_groups(
    dataset_id,
    ds,
    n_negatives,
    seed,
    start,
    max_queries,
    epochs,
    depth,
    first_stage,
    k1,
    b,
    progress,
):
    qrels = load_qrels(dataset_id, ds)
    queries = dict(iter_queries(dataset_id, ds))
    positives = {
        q: sorted(
            ((r, d) for d, r in qrels.get(q, {}).items() if r >= 1), key=lambda x: (-x[0], x[1])
        )
        for q in queries
    }
    missing = sorted(q for q, p in positives.items() if not p)
    if missing:
        raise MissingDataError(
            f"{len(missing)} training quer{'y' if len(missing) == 1 else 'ies'} of {dataset_id!r} "
            f"ha{'s' if len(missing) == 1 else 've'} no positive (no qrel with relevance ≥ 1), "
            f"e.g. {missing[:3]}; every training query needs one: use a judged split "
            "(e.g. 'msmarco-passage/train/judged') or filter the queries"
        )
    selected = subset_qids(list(queries), max_queries, f"train:{dataset_id}", seed)
    cands, _ = first_stage_candidates(
        dataset_id,
        ds,
        {q: queries[q] for q in selected},
        depth,
        k1,
        b,
        first_stage=first_stage,
        progress=progress,
    )
    pools = {q: [d for d, _ in cands[q] if qrels.get(q, {}).get(d, 0) < 1] for q in selected}
    short = sorted((len(p), q) for q, p in pools.items() if len(p) < n_negatives)
    if short:
        n, q = short[0]
        raise DataValueError(
            f"query {q!r} of {dataset_id!r} has only {n} non-relevant candidates in its top "
            f"{depth} ({len(short)} queries have fewer than n_negatives={n_negatives}); lower "
            "n_negatives or raise depth"
        )
    nq = len(selected)

    def stream() -> Iterator[TrainingGroup]:
        g = start
        order_epoch, order = -1, None
        while epochs is None or g < epochs * nq:
            epoch, i = divmod(g, nq)
            if epoch != order_epoch:
                order = rng("train-order", dataset_id, seed, epoch).permutation(nq)
                order_epoch = epoch
            qid = selected[order[i]]
            r = rng("train-group", dataset_id, seed, epoch, qid)
            top = [p for p in positives[qid] if p[0] == positives[qid][0][0]]
            rel, pos = top[int(r.integers(len(top)))]
            pool = pools[qid]
            negs = [pool[k] for k in r.choice(len(pool), size=n_negatives, replace=False)]
            ids = [pos, *negs]
            texts = lookup_docs(dataset_id, ds, ids)
            yield TrainingGroup(
                qid, queries[qid], ids, [texts[d] for d in ids], [rel] + [0] * n_negatives
            )
            g += 1

    return stream()


# --------------------------------------------------------------------------- docpairs


def _complete_groups(dataset_id, ds, n_negatives, judged, max_queries, max_pending, progress):
    """(qid, positive, negatives) in completion order, streaming the docpairs once."""
    from tqdm.auto import tqdm

    done: set[str] = set()
    pending: dict[str, tuple[str, list[str], set[str]]] = {}
    emitted = 0
    pairs = tqdm(
        iter_docpairs(dataset_id, ds),
        desc=f"docpairs {dataset_id}",
        unit="pair",
        disable=not progress,
        mininterval=5.0,
    )
    for qid, pos_id, neg_id in pairs:
        if qid in done:
            continue
        entry = pending.get(qid)
        if entry is None:
            if len(pending) >= max_pending:
                continue
            entry = pending[qid] = (pos_id, [], set())
        pos, negs, seen = entry
        if neg_id == pos or neg_id in seen or judged.get(qid, {}).get(neg_id, 0) >= 1:
            continue
        seen.add(neg_id)
        negs.append(neg_id)
        if len(negs) == n_negatives:
            del pending[qid]
            done.add(qid)
            emitted += 1
            yield qid, pos, negs
            if max_queries is not None and emitted >= max_queries:
                return
    if pending:
        _log.info(
            "%s: %d queries had fewer than %d distinct negatives in the docpairs; dropped",
            dataset_id,
            len(pending),
            n_negatives,
        )


def _shuffled(items, size: int, r: np.random.Generator):
    """A seeded shuffle buffer (Knuth's reservoir-style streaming shuffle)."""
    buf = []
    for item in items:
        if len(buf) < size:
            buf.append(item)
            continue
        k = int(r.integers(size))
        yield buf[k]
        buf[k] = item
    for k in r.permutation(len(buf)):
        yield buf[k]


def _docpairs_groups(
    dataset_id,
    ds,
    n_negatives,
    seed,
    start,
    max_queries,
    epochs,
    max_pending,
    shuffle_buffer,
    progress,
):
    queries = dict(iter_queries(dataset_id, ds))
    judged = load_qrels(dataset_id, ds) if ds.has("qrels") else {}

    def stream() -> Iterator[TrainingGroup]:
        g = 0
        for epoch in itertools.count() if epochs is None else range(epochs):
            r = rng("docpairs-shuffle", dataset_id, seed, epoch)
            n_epoch = 0
            for qid, pos, negs in _shuffled(
                _complete_groups(
                    dataset_id, ds, n_negatives, judged, max_queries, max_pending, progress
                ),
                shuffle_buffer,
                r,
            ):
                n_epoch += 1
                g += 1
                if g <= start:
                    continue
                if qid not in queries:
                    raise MissingDataError(
                        f"docpairs of {dataset_id!r} name query {qid!r} that is not among its "
                        "queries; the docpairs and the queries do not match"
                    )
                ids = [pos, *negs]
                texts = lookup_docs(dataset_id, ds, ids)
                yield TrainingGroup(
                    qid,
                    queries[qid],
                    ids,
                    [texts[d] for d in ids],
                    [judged.get(qid, {}).get(pos, 1) or 1] + [0] * n_negatives,
                )
            if n_epoch == 0:
                raise MissingDataError(
                    f"no query of {dataset_id!r} has {n_negatives} distinct negatives in its "
                    "docpairs; lower n_negatives"
                )

    return stream()
