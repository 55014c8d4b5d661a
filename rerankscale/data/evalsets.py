"""Evaluation sets: queries, qrels, first-stage candidates at depth k, and the candidates' texts."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from .candidates import candidates as first_stage_candidates
from .candidates import check_depth
from .errors import DataValueError, MissingDataError
from .registry import (
    default_rel_threshold,
    iter_queries,
    load_dataset,
    load_qrels,
    lookup_docs,
    require,
)
from .seeding import rng

_log = logging.getLogger(__name__)


@dataclass
class EvalSet:
    """Everything needed to rerank and score one evaluation set.

    Attributes:
        dataset_id: the ir_datasets id.
        name: short label, e.g. ``"synthetic-dev"``, ``"msmarco-trec-dl-2019"``, ``"scifact-test"``.
        queries: qid -> text (only queries with at least one judged-relevant passage).
        qrels: qid -> docid -> graded relevance (restricted to ``queries``).
        candidates: qid -> first-stage [(docid, score)] in rank order, ``len <= depth``.
        docs: docid -> text for every candidate.
        rel_threshold: binary relevance is ``rel >= rel_threshold``.
        depth: the candidate depth asked for.
        first_stage: how candidates were made: ``"scoreddocs"``, ``"scoreddocs+bm25-order"``
            or ``"bm25"`` (see ``rerankscale.data.candidates``).
        n_queries_total: judged queries before the ``max_queries`` subset.
        n_unjudged: queries of the split dropped because no passage is judged relevant.
    """

    dataset_id: str
    name: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    candidates: dict[str, list[tuple[str, float]]]
    docs: Mapping[str, str]
    rel_threshold: int
    depth: int
    first_stage: str = "scoreddocs"
    n_queries_total: int = 0
    n_unjudged: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def subset(self) -> bool:
        """True when ``queries`` is a seeded subset of the judged queries."""
        return len(self.queries) < self.n_queries_total


def short_name(dataset_id: str) -> str:
    """``rerankscale/synthetic/dev`` -> ``synthetic-dev``; ``msmarco-passage/trec-dl-2019/judged``
    -> ``msmarco-trec-dl-2019``; ``beir/scifact/test`` -> ``scifact-test``."""
    name = re.sub(r"^(rerankscale/|beir/)", "", dataset_id)
    name = re.sub(r"^msmarco-passage/", "msmarco-", name)
    name = re.sub(r"/judged$", "", name)
    return name.replace("/", "-")


def subset_qids(qids: list[str], max_queries: int | None, dataset_id: str, seed: int) -> list[str]:
    """A seeded subset of ``max_queries`` ids (sorted), the same in every process."""
    qids = sorted(qids)
    if max_queries is None or max_queries >= len(qids):
        return qids
    pick = rng("eval-subset", dataset_id, seed).choice(len(qids), size=max_queries, replace=False)
    return sorted(qids[i] for i in pick)


def _synthetic_scope(synthetic):
    if synthetic is None:
        return nullcontext()
    from .synthetic.config import synthetic_config

    return synthetic_config(synthetic)


def load_eval_set(
    dataset_id: str,
    depth: int,
    max_queries: int | None = None,
    seed: int = 0,
    bm25_k1: float = 0.9,
    bm25_b: float = 0.4,
    *,
    first_stage: str = "auto",
    synthetic: dict | None = None,
    progress: bool = True,
) -> EvalSet:
    """Load an evaluation set: judged queries, qrels, first-stage candidates and their texts.

    Args:
        dataset_id: an ir_datasets id with queries and qrels, e.g.
            ``"msmarco-passage/dev/small"``, ``"beir/scifact/test"``, ``"rerankscale/synthetic/trec"``.
        depth: candidates per query (the paper reranks BM25 top-100).
        max_queries: evaluate a seeded subset of this many queries (cheap intermediate evals).
        seed: seed of that subset.
        bm25_k1, bm25_b: BM25 parameters when candidates come from BM25.
        first_stage: ``"auto"`` (scoreddocs if present, else BM25), ``"scoreddocs"``, ``"bm25"``.
        synthetic: synthetic-task overrides (``DataConfig.synthetic``) for this call.
        progress: tqdm bars for long steps (BM25 indexing/retrieval).

    Raises:
        UnknownDatasetError, DatasetNotAvailableError, MissingDataError (no qrels, no judged
        query), DataValueError (depth ≤ 0, max_queries ≤ 0).

    Example::

        es = load_eval_set("rerankscale/synthetic/dev", depth=50, max_queries=200)
        es.candidates[next(iter(es.queries))][:3]
    """
    depth = check_depth(depth)
    if max_queries is not None and (
        isinstance(max_queries, bool) or not isinstance(max_queries, int) or max_queries <= 0
    ):
        raise DataValueError(f"max_queries must be a positive integer or None, got {max_queries!r}")
    with _synthetic_scope(synthetic):
        ds = load_dataset(dataset_id)
        require(dataset_id, ds, "queries", "an evaluation set")
        require(dataset_id, ds, "qrels", "an evaluation set")
        require(dataset_id, ds, "docs", "an evaluation set")
        threshold = default_rel_threshold(dataset_id)
        all_queries = dict(iter_queries(dataset_id, ds))
        qrels = load_qrels(dataset_id, ds)
        judged = [q for q in all_queries if any(r >= threshold for r in qrels.get(q, {}).values())]
        if not judged:
            raise MissingDataError(
                f"no query of {dataset_id!r} has a passage judged relevant (rel ≥ {threshold}); "
                "it cannot be evaluated: use a split with relevance judgments"
            )
        chosen = subset_qids(judged, max_queries, dataset_id, seed)
        queries = {q: all_queries[q] for q in chosen}
        cands, label = first_stage_candidates(
            dataset_id,
            ds,
            queries,
            depth,
            bm25_k1,
            bm25_b,
            first_stage=first_stage,
            progress=progress,
        )
        docs = lookup_docs(dataset_id, ds, (d for q in chosen for d, _ in cands[q]))
    longest = max((len(v) for v in cands.values()), default=0)
    info = {
        "bm25_k1": bm25_k1,
        "bm25_b": bm25_b,
        "seed": seed,
        "max_queries": max_queries,
        "longest_candidate_list": longest,
    }
    if longest < depth:
        _log.warning(
            "%s: the first stage returns at most %d candidates per query, fewer than "
            "depth=%d (%s); metrics at cut-offs beyond %d cannot change by reranking",
            dataset_id,
            longest,
            depth,
            label,
            longest,
        )
    return EvalSet(
        dataset_id=dataset_id,
        name=short_name(dataset_id),
        queries=queries,
        qrels={q: dict(qrels[q]) for q in chosen},
        candidates=cands,
        docs=docs,
        rel_threshold=threshold,
        depth=depth,
        first_stage=label,
        n_queries_total=len(judged),
        n_unjudged=len(all_queries) - len(judged),
        info=info,
    )
