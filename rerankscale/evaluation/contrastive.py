"""Contrastive entropy CE@k of a reranker (Fang et al. 2024, "Scaling Laws for Dense Retrieval").

A smooth, ranking-aware quality measure that scaling-law fits prefer over step-like metrics
such as NDCG: the cross-entropy of picking the positive among k sampled negatives under the
model's scores (definition in ``contrastive_entropy``). Torch-free.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rerankscale.evaluation.metrics import EvalError, QueryMismatchError


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of ``parts`` that is the same in every process and on every machine
    (blake2b of the ``\\x1f``-joined strings), unlike Python's salted ``hash()``."""
    data = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def sample_negatives(negatives: Sequence[str], k: int, seed: int, qid: str) -> list[str]:
    """``min(k, len(negatives))`` negatives sampled without replacement, deterministically.

    Each docid gets the key ``stable_hash(seed, qid, docid)``; the sample is the k docids with
    the smallest keys (a uniform random sample, as the keys are i.i.d. uniform). The sample does
    not depend on the model, the candidate order or the process, so every checkpoint of every
    run is scored against the same negatives. Returned in key order."""
    keyed = sorted(negatives, key=lambda d: (stable_hash(seed, qid, d), d))
    return keyed[: min(k, len(keyed))]


def contrastive_entropy(
    run: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
    candidates: Mapping[str, Sequence[tuple[str, float]]],
    k: int,
    seed: int,
    rel_threshold: int,
) -> dict[str, Any]:
    """Contrastive entropy CE@k (Fang et al. 2024, "Scaling Laws for Dense Retrieval", SIGIR).

    For each query q of ``run`` with candidates C_q (first-stage order) and raw model scores
    s(q, d) (the logits, no sigmoid, no temperature):

    - positive d⁺: among candidates with rel ≥ t, the one with the highest grade; ties go to the
      better first-stage rank;
    - negatives N_q: candidates with rel ≤ 0 — judged non-relevant or unjudged. Candidates with
      0 < rel < t (partially relevant under graded qrels, e.g. TREC DL grade 1) are neither
      positive nor negative;
    - sample S_q ⊆ N_q of size min(k, |N_q|) without replacement (``sample_negatives``: seeded
      per (seed, qid) through a stable hash; all of N_q when |N_q| < k);
    - CE_q = −log( exp s(d⁺) / (exp s(d⁺) + Σ_{d ∈ S_q} exp s(d)) )
           = logsumexp(s(d⁺), s(S_q)) − s(d⁺)   (computed in float64).

    CE@k = mean of CE_q over the included queries. Queries with no positive among their
    candidates (``n_no_positive``) or no negative (``n_no_negative``) are excluded and counted;
    ``n_short`` counts included queries with fewer than k negatives. Lower is better; a model
    scoring every pair equally gets log(1 + |S_q|).

    Returns ``{"ce@k": mean or None, "k", "n_queries", "n_no_positive", "n_no_negative",
    "n_short", "per_query": {qid: CE_q}}``.
    """
    if k < 1:
        raise EvalError(f"contrastive entropy needs k ≥ 1 negatives, got k={k}")
    if rel_threshold < 1:
        raise EvalError(f"rel_threshold must be ≥ 1, got {rel_threshold}")
    per_query: dict[str, float] = {}
    n_no_positive = n_no_negative = n_short = 0
    for qid in sorted(run):
        scores = run[qid]
        if qid not in candidates:
            raise QueryMismatchError(
                f"query {qid!r} is in the run but has no candidate list; pass the candidates of "
                "the eval set the run was made from"
            )
        judged = qrels.get(qid, {})
        cands = [d for d, _ in candidates[qid]]
        missing = [d for d in cands if d not in scores]
        if missing:
            raise EvalError(
                f"query {qid!r}: {len(missing)} candidates have no score in the run (e.g. "
                f"{missing[0]!r}); CE needs a score for every candidate — rerank all of them"
            )
        positives = [(i, d) for i, d in enumerate(cands) if judged.get(d, 0) >= rel_threshold]
        if not positives:
            n_no_positive += 1
            continue
        _, positive = min(positives, key=lambda p: (-judged[p[1]], p[0]))
        negatives = [d for d in cands if judged.get(d, 0) <= 0]
        if not negatives:
            n_no_negative += 1
            continue
        sample = sample_negatives(negatives, k, seed, qid)
        n_short += len(sample) < k
        logits = np.array([scores[positive]] + [scores[d] for d in sample], dtype=np.float64)
        top = logits.max()
        per_query[qid] = float(top + np.log(np.exp(logits - top).sum()) - logits[0])
    mean = float(np.mean(list(per_query.values()))) if per_query else None
    return {
        f"ce@{k}": mean,
        "k": k,
        "n_queries": len(per_query),
        "n_no_positive": n_no_positive,
        "n_no_negative": n_no_negative,
        "n_short": n_short,
        "per_query": per_query,
    }
