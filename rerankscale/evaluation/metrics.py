"""Ranking metrics (through ranx), deterministic tie-breaking, contrastive entropy, first stage.

Everything here is torch-free and works on plain dicts:

- a *run* is ``{qid: {docid: score}}``; insertion order inside a query is the fallback order
  for tied scores (``rerank`` inserts candidates in first-stage order);
- *qrels* are ``{qid: {docid: graded relevance}}``;
- *candidates* are ``{qid: [(docid, first_stage_score), ...]}`` in first-stage rank order.

Metric names (``METRICS``) and their definitions, with ``t`` the binary relevance threshold
(``EvalSet.rel_threshold``; 2 for TREC DL, as in its official measures ``RR(rel=2)``,
``AP(rel=2)``) and ``R_q = |{d : rel(q, d) >= t}|`` counted over *all* judged documents:

- ``ndcg@k``   = DCG@k / IDCG@k, DCG@k = Σ_{i≤k} g_i / log2(i + 1) with *graded* gains
  g_i = rel(q, d_i) (Järvelin & Kekäläinen 2002; linear gains as trec_eval ``ndcg_cut``);
- ``mrr@10``   = 1 / rank of the first document with rel ≥ t within the top 10, else 0;
- ``map``      = (1 / R_q) Σ_{i : rel(d_i) ≥ t} P@i over the whole candidate list (AP);
- ``recall@k`` = |{i ≤ k : rel(d_i) ≥ t}| / R_q;
- ``p@k``      = |{i ≤ k : rel(d_i) ≥ t}| / k  (k, not the list length, as trec_eval).

Queries are those of the qrels; a judged query absent from the run scores 0 everywhere
(trec_eval ``-c``). The values come from ranx's metric kernels (``ranx.metrics``), fed the
run in our deterministic order (``tie_free_run``: score descending, ties by first-stage order).
They equal ir_measures / trec_eval (tested to 1e-6) because that run is *tie-free by
construction*: ``ranx.Run`` orders a query by an unstable argsort of the scores, and trec_eval
orders ties by docid (comparing scores as float32), so tied scores would otherwise rank
arbitrarily; written runs carry the same strictly decreasing scores (``runfile``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

# ----------------------------------------------------------------------------- errors


class EvalError(RuntimeError):
    """Base class of evaluation errors; the message names the problem and the fix."""


class QueryMismatchError(EvalError):
    """A run, qrels or candidate list names queries the other side does not know."""


class EvalSetError(EvalError):
    """An eval set cannot be evaluated (no candidates, no judged queries, ...)."""


class RunFileError(EvalError):
    """A TREC run file is malformed."""


# ----------------------------------------------------------------------------- metric names

NDCG_CUTOFFS = (1, 5, 10, 20)
RECALL_CUTOFFS = (1, 5, 10, 20, 50)
PRECISION_CUTOFFS = (1, 5, 10)

METRICS: tuple[str, ...] = (
    *(f"ndcg@{k}" for k in NDCG_CUTOFFS),
    "mrr@10",
    "map",
    *(f"recall@{k}" for k in RECALL_CUTOFFS),
    *(f"p@{k}" for k in PRECISION_CUTOFFS),
)

_NAME_RE = re.compile(r"^(ndcg|mrr|map|recall|p)(?:@(\d+))?$")
_RANX_NAME = {"ndcg": "ndcg", "mrr": "mrr", "map": "map", "recall": "recall", "p": "precision"}


def _parse_metric(name: str) -> tuple[str, int | None]:
    match = _NAME_RE.match(name)
    if not match or (match.group(1) in ("ndcg", "recall", "p") and match.group(2) is None):
        raise EvalError(
            f"unknown metric {name!r}; use ndcg@k, mrr@k, map, recall@k or p@k (e.g. {METRICS})"
        )
    cutoff = int(match.group(2)) if match.group(2) else None
    if cutoff is not None and cutoff <= 0:
        raise EvalError(f"metric {name!r} needs a positive cutoff")
    return match.group(1), cutoff


def ranx_metric(name: str, rel_threshold: int) -> str:
    """The ranx metric string for one of our names: ``recall@10`` at t=2 → ``recall@10-l2``.

    NDCG keeps ranx's default level 1 so that every grade ≥ 1 contributes its graded gain;
    the binary metrics use ``-l<t>`` (relevant ⇔ rel ≥ t)."""
    kind, cutoff = _parse_metric(name)
    base = _RANX_NAME[kind] + (f"@{cutoff}" if cutoff is not None else "")
    return base if kind == "ndcg" else f"{base}-l{int(rel_threshold)}"


def frozen_metrics(depth: int, metrics: Iterable[str] = METRICS) -> list[str]:
    """Metrics that reranking the top-``depth`` candidates cannot change.

    Recall@k and P@k count the relevant documents among the top k; for k ≥ depth that is the
    whole candidate list, whatever its order (``recall@50`` on top-50, ``recall@100`` on
    top-100). NDCG@k, MRR@k and MAP weight positions, so they change under reranking at any
    cutoff and are never frozen. The scaling analysis must not fit frozen metrics."""
    frozen = []
    for name in metrics:
        if name.startswith("ce@"):
            continue
        kind, cutoff = _parse_metric(name)
        if kind in ("recall", "p") and cutoff is not None and cutoff >= depth:
            frozen.append(name)
    return frozen


# ----------------------------------------------------------------------------- tie-breaking


def tie_free_scores(scores: Sequence[float]) -> tuple[list[int], list[float]]:
    """Deterministic ranking of one query's scores, returned as (order, strictly decreasing scores).

    ``order`` sorts by score, descending; tied scores keep their input position (a stable sort),
    so candidates listed in first-stage order keep that order on ties. The returned scores are
    the input scores in ``order`` rounded to float32 and each lowered to
    ``min(s_i, nextafter_f32(s'_{i-1}, -inf))`` so that they strictly decrease *in float32*:
    trec_eval (hence pytrec_eval and ir_measures) stores run scores as C ``float``, so scores
    that differ only beyond float32 precision would tie there again and be reordered by docid.
    Model logits are float32 already: an untied logit is returned exactly, the j-th member of
    a tie group is lowered by j float32 ulps (relative change ~1e-7·j). Any tool that sorts by
    score (ranx, trec_eval, ir_measures) then sees exactly ``order``.

    Raises ``EvalError`` on NaN or infinite scores (a diverged model): they cannot be ranked.
    """
    values = np.asarray(scores, dtype=np.float64)
    rounded = values.astype(np.float32)
    if values.size and not np.all(np.isfinite(rounded)):
        bad = int(np.sum(~np.isfinite(rounded)))
        raise EvalError(
            f"{bad} of {values.size} scores are NaN or infinite (in float32); the model diverged "
            "or the input is broken — check the checkpoint (training loss, grad norm) first"
        )
    order = sorted(range(len(values)), key=lambda i: -values[i])  # stable: ties keep input order
    out: list[float] = []
    previous = np.float32(np.inf)
    for i in order:
        value = rounded[i]
        if value >= previous:
            value = np.nextafter(previous, np.float32(-np.inf))
        out.append(float(value))
        previous = value
    return order, out


def tie_free_run(run: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``tie_free_scores`` applied per query; docids come back in rank order (insertion order)."""
    out: dict[str, dict[str, float]] = {}
    for qid, docs in run.items():
        ids = list(docs)
        order, scores = tie_free_scores([docs[d] for d in ids])
        out[qid] = {ids[i]: s for i, s in zip(order, scores)}
    return out


# ----------------------------------------------------------------------------- metrics


def _check_qrels(qrels: Mapping[str, Mapping[str, int]]) -> None:
    if not qrels:
        raise EvalSetError(
            "qrels are empty: there is no judged query to evaluate; load an eval "
            "set with relevance judgments (e.g. a test split, not a corpus)"
        )
    for qid, docs in qrels.items():
        for docid, rel in docs.items():
            if isinstance(rel, bool) or not isinstance(rel, (int, np.integer)):
                raise EvalError(
                    f"qrels[{qid!r}][{docid!r}] = {rel!r} is not an integer grade; relevance "
                    "labels must be graded integers (0, 1, 2, ...)"
                )


def _check_run_queries(run: Mapping[str, Any], qrels: Mapping[str, Any], what: str = "run") -> None:
    unknown = sorted(set(run) - set(qrels))
    if unknown:
        shown = ", ".join(map(repr, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        raise QueryMismatchError(
            f"the {what} names {len(unknown)} queries that have no relevance judgments ({shown}); "
            "evaluate it against the qrels of the same eval set, or drop those queries from the "
            f"{what} (metrics are only defined for judged queries)"
        )


def _ranx_arrays(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]], qids: list[str]
):
    """Qrels and run as the numba typed lists ranx's metric kernels take.

    Per query a float64 array of rows ``[doc number, value]``: qrels sorted by grade
    (descending, as ranx's ``Qrels`` does: the ideal ranking of IDCG), the run in its
    tie-free rank order. Doc ids become small integers (exact in float64) instead of ranx's
    string hashes, and building plain typed lists of arrays skips ranx's typed-dict
    construction, whose numba code is compiled anew in every process (~3–15 s)."""
    from numba.typed import List  # noqa: PLC0415

    number: dict[str, float] = {}
    for docs in (*(qrels[q] for q in qids), *(run.get(q, {}) for q in qids)):
        for docid in docs:
            number.setdefault(docid, float(len(number)))
    qrels_list, run_list = List(), List()
    for qid in qids:
        graded = sorted(qrels[qid].items(), key=lambda item: (-item[1], number[item[0]]))
        qrels_list.append(
            np.array([[number[d], float(r)] for d, r in graded], dtype=np.float64).reshape(-1, 2)
        )
        ranked = run.get(qid, {})
        run_list.append(
            np.array([[number[d], s] for d, s in ranked.items()], dtype=np.float64).reshape(-1, 2)
        )
    return qrels_list, run_list


def _ranx_metric(ranx_name: str):
    """The ranx kernel for a ranx metric string, as ``f(qrels_list, run_list) -> per-query``."""
    from ranx.meta.evaluate import extract_metric_and_params  # noqa: PLC0415
    from ranx.metrics import metric_switch  # noqa: PLC0415

    kind, cutoff, level = extract_metric_and_params(ranx_name)
    kernel = metric_switch(kind)
    return lambda q, r: np.asarray(kernel(q, r, cutoff, level), dtype=np.float64)


def compute_metrics(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    depth: int,
    rel_threshold: int,
    metrics: Sequence[str] = METRICS,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Aggregate and per-query metrics of ``run`` against ``qrels`` (see the module docstring).

    Args:
        qrels: ``{qid: {docid: grade}}``; its queries are the evaluated queries.
        run: ``{qid: {docid: score}}``; every qid must be judged (``QueryMismatchError``).
            Tied scores rank by insertion order (``tie_free_run``); judged queries missing from
            the run score 0.
        depth: candidate depth the run was reranked from (validated here; ``frozen_metrics(depth)``
            names the metrics it makes invariant).
        rel_threshold: binary relevance threshold t (rel ≥ t is relevant).

    Returns:
        ``(aggregate, per_query)``: ``aggregate`` maps each metric to its mean over the judged
        queries; ``per_query`` is a DataFrame indexed by qid (sorted) with one column per metric.
    """
    if depth <= 0:
        raise EvalError(f"depth must be positive, got {depth}")
    if rel_threshold < 1:
        raise EvalError(f"rel_threshold must be ≥ 1 (rel ≥ t is relevant), got {rel_threshold}")
    _check_qrels(qrels)
    _check_run_queries(run, qrels)
    qids = sorted(qrels)
    clean_run = tie_free_run({q: run.get(q, {}) for q in qids})
    names = list(metrics)
    ranx_names = [ranx_metric(m, rel_threshold) for m in names]
    qrels_arrays, run_arrays = _ranx_arrays(qrels, clean_run, qids)
    values = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64→int64 cast notices
        for rname in dict.fromkeys(ranx_names):
            values[rname] = _ranx_metric(rname)(qrels_arrays, run_arrays)
    per_query = pd.DataFrame(
        {
            name: np.asarray(values[rname], dtype=np.float64)
            for name, rname in zip(names, ranx_names)
        },
        index=pd.Index(qids, name="qid"),
    )
    aggregate = {name: float(per_query[name].mean()) for name in names}
    return aggregate, per_query


# ----------------------------------------------------------------------------- eval sets


def rel_threshold_of(eval_set: Any, override: int | None = None) -> int:
    """The binary relevance threshold: ``override`` (``EvalConfig.rel_threshold``) or the set's."""
    threshold = override if override is not None else getattr(eval_set, "rel_threshold", 1)
    if threshold is None or int(threshold) < 1:
        raise EvalSetError(
            f"eval set {eval_set.name!r} has rel_threshold={threshold!r}; it must be an integer ≥ 1"
        )
    return int(threshold)


def judged_queries(eval_set: Any) -> list[str]:
    """Sorted qids the eval set can evaluate: in ``queries`` and with at least one judgment."""
    return sorted(q for q in eval_set.queries if eval_set.qrels.get(q))


def validate_eval_set(eval_set: Any) -> None:
    """Raise ``EvalSetError`` / ``QueryMismatchError`` unless ``eval_set`` can be evaluated."""
    name = getattr(eval_set, "name", "?")
    for field in ("queries", "qrels", "candidates", "docs"):
        if getattr(eval_set, field, None) is None:
            raise EvalSetError(
                f"eval set {name!r} has no {field!r}; build it with rerankscale.data.load_eval_set"
            )
    if not eval_set.candidates or not any(eval_set.candidates.values()):
        raise EvalSetError(
            f"eval set {name!r} has no first-stage candidates; load it with load_eval_set(..., "
            "depth=k) so that BM25 (or the official run) supplies the top-k per query"
        )
    for what, qids in (("qrels", eval_set.qrels), ("candidates", eval_set.candidates)):
        unknown = sorted(set(qids) - set(eval_set.queries))
        if unknown:
            raise QueryMismatchError(
                f"eval set {name!r}: {what} name {len(unknown)} queries that are not in its "
                f"queries (e.g. {unknown[0]!r}); rebuild the eval set so that qrels, candidates "
                "and queries come from the same split"
            )
    if not judged_queries(eval_set):
        raise EvalSetError(f"eval set {name!r} has no judged query; use a split with qrels")


def first_stage_run(
    eval_set: Any, qids: Iterable[str] | None = None, depth: int | None = None
) -> dict[str, dict[str, float]]:
    """The first-stage ranking as a tie-free run (``{qid: {docid: score}}`` in rank order),
    cut to the first ``depth`` candidates when given.

    The candidate list order is the first-stage ranking. Where its scores are non-increasing
    along the list and not all equal (BM25 scores), they are kept (ties made strict as in
    ``tie_free_scores``); otherwise (all 0 as in MS MARCO ``scoreddocs``, or inconsistent with
    the order) the scores become −rank (−1, −2, ...)."""
    qids = judged_queries(eval_set) if qids is None else list(qids)
    out: dict[str, dict[str, float]] = {}
    for qid in qids:
        cands = list(eval_set.candidates.get(qid, []))[:depth]
        scores = [float(s) for _, s in cands]
        ordered = all(a >= b for a, b in zip(scores, scores[1:]))
        if not scores or not ordered or min(scores) == max(scores):
            scores = [-float(r) for r in range(1, len(cands) + 1)]
        _, strict = tie_free_scores(scores)  # order is the identity here: scores are sorted
        out[qid] = {d: s for (d, _), s in zip(cands, strict)}
    return out


def first_stage_metrics(
    eval_set: Any,
    qids: Iterable[str] | None = None,
    rel_threshold: int | None = None,
    depth: int | None = None,
) -> dict[str, Any]:
    """Metrics of the first-stage candidate ranking itself (the baseline every table shows),
    on its first ``depth`` candidates (default: the eval set's depth).

    Returns ``{"metrics": {name: value}, "per_query": DataFrame, "frozen_metrics": [...],
    "n_queries": int, "run": tie-free run}`` over ``qids`` (default: every judged query)."""
    validate_eval_set(eval_set)
    threshold = rel_threshold_of(eval_set, rel_threshold)
    depth = depth or eval_set.depth
    qids = judged_queries(eval_set) if qids is None else sorted(qids)
    run = first_stage_run(eval_set, qids, depth)
    aggregate, per_query = compute_metrics(
        {q: eval_set.qrels[q] for q in qids}, run, depth, threshold
    )
    return {
        "metrics": aggregate,
        "per_query": per_query,
        "frozen_metrics": frozen_metrics(depth),
        "n_queries": len(qids),
        "run": run,
    }
