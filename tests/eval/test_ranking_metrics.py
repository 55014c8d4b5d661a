"""Metrics equal an independent implementation (ir_measures → pytrec_eval / trec_eval)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from rerankscale.evaluation.metrics import (
    METRICS,
    EvalError,
    EvalSetError,
    QueryMismatchError,
    compute_metrics,
    first_stage_metrics,
    first_stage_run,
    frozen_metrics,
    tie_free_run,
    tie_free_scores,
)

from .conftest import make_eval_set

ir_measures = pytest.importorskip("ir_measures")


def ir_measure(name: str, t: int):
    """Our metric name as an ir_measures measure (trec_eval semantics)."""
    from ir_measures import AP, RR, P, R, nDCG

    kind, _, cutoff = name.partition("@")
    k = int(cutoff) if cutoff else None
    return {
        "ndcg": lambda: nDCG @ k,
        "mrr": lambda: RR(rel=t) @ k,
        "map": lambda: AP(rel=t),
        "recall": lambda: R(rel=t) @ k,
        "p": lambda: P(rel=t) @ k,
    }[kind]()


def reference(qrels, run, t, names=METRICS):
    """Per-query values from ir_measures; judged queries missing from the run count 0."""
    measures = {name: ir_measure(name, t) for name in names}
    by_measure = {str(m): n for n, m in measures.items()}
    out = {q: dict.fromkeys(names, 0.0) for q in qrels}
    for metric in ir_measures.iter_calc(list(measures.values()), qrels, run):
        out[metric.query_id][by_measure[str(metric.measure)]] = metric.value
    return out


def random_case(seed: int, graded: bool, n_queries: int = 40, ties: bool = True):
    rng = random.Random(seed)
    qrels, run = {}, {}
    for qi in range(n_queries):
        qid = f"q{qi}"
        pool = [f"D{qi}-{j}" for j in range(rng.randint(5, 80))]
        judged = rng.sample(pool, min(len(pool), rng.randint(1, 12)))
        qrels[qid] = {
            d: (rng.choice([0, 1, 2, 3]) if graded else rng.choice([0, 1])) for d in judged
        }
        if rng.random() < 0.15:  # a relevant document the run never retrieves
            qrels[qid][f"unretrieved{qi}"] = 2 if graded else 1
        if rng.random() < 0.1:
            continue  # a judged query without a ranking
        ranked = rng.sample(pool, rng.randint(1, len(pool)))
        run[qid] = {d: (round(rng.gauss(0, 1), 1) if ties else rng.gauss(0, 1)) for d in ranked}
    return qrels, run


@pytest.mark.parametrize("graded,t", [(False, 1), (True, 2), (True, 1)])
@pytest.mark.parametrize("seed", [0, 1])
def test_metrics_match_ir_measures_on_random_runs(seed, graded, t):
    qrels, run = random_case(seed, graded)
    aggregate, per_query = compute_metrics(qrels, run, depth=100, rel_threshold=t)
    # ir_measures sees the tie-free run: the ranking we define, in any tool's sort order
    expected = reference(qrels, tie_free_run(run), t)
    assert list(per_query.index) == sorted(qrels)
    for qid in qrels:
        for name in METRICS:
            assert per_query.loc[qid, name] == pytest.approx(expected[qid][name], abs=1e-6), (
                qid,
                name,
            )
    for name in METRICS:
        mean = np.mean([expected[q][name] for q in qrels])
        assert aggregate[name] == pytest.approx(mean, abs=1e-6)
    assert 0 < aggregate["ndcg@10"] < 1  # a real, non-degenerate case


def test_tie_free_runs_need_no_tie_breaking_by_other_tools():
    qrels, run = random_case(7, graded=True, ties=False)
    _, ours = compute_metrics(qrels, run, depth=100, rel_threshold=2)
    expected = reference(qrels, run, 2)  # raw run, continuous scores: no ties anywhere
    for qid in qrels:
        for name in METRICS:
            assert ours.loc[qid, name] == pytest.approx(expected[qid][name], abs=1e-6)


def test_graded_gains_and_threshold_by_hand():
    qrels = {"q": {"d1": 2, "d2": 1, "d3": 0}}
    run = {"q": {"d3": 0.9, "d1": 0.5, "d2": 0.1}}
    agg, _ = compute_metrics(qrels, run, depth=3, rel_threshold=2)
    dcg = 0 + 2 / math.log2(3) + 1 / math.log2(4)
    idcg = 2 + 1 / math.log2(3)
    assert agg["ndcg@10"] == pytest.approx(dcg / idcg, abs=1e-12)  # graded gains, rel 1 counts
    assert agg["mrr@10"] == pytest.approx(0.5)  # d2 (grade 1) is not relevant at t=2
    assert agg["recall@1"] == 0.0 and agg["recall@5"] == 1.0
    assert agg["p@5"] == pytest.approx(1 / 5)  # divided by k, not by the list length
    assert agg["map"] == pytest.approx(0.5)
    agg1, _ = compute_metrics(qrels, run, depth=3, rel_threshold=1)
    assert agg1["mrr@10"] == pytest.approx(0.5) and agg1["map"] == pytest.approx(
        (1 / 2 + 2 / 3) / 2
    )


def test_ties_keep_insertion_order_deterministically():
    qrels = {"q": {"b": 1}}
    first = {"q": {"a": 1.0, "b": 1.0, "c": 1.0}}
    second = {"q": {"b": 1.0, "a": 1.0, "c": 1.0}}
    assert compute_metrics(qrels, first, 3, 1)[0]["mrr@10"] == pytest.approx(0.5)
    assert compute_metrics(qrels, second, 3, 1)[0]["mrr@10"] == pytest.approx(1.0)
    # same input, same answer, whatever ranx's unstable argsort does
    values = {compute_metrics(qrels, first, 3, 1)[0]["mrr@10"] for _ in range(5)}
    assert values == {0.5}


def test_tie_free_scores_are_strict_and_round_back_to_float32():
    raw = np.array([0.5, 2.0, 0.5, 2.0, -1.0, 0.5], dtype=np.float32)
    order, strict = tie_free_scores(raw.tolist())
    assert order == [1, 3, 0, 2, 5, 4]  # score desc, ties by position
    assert all(a > b for a, b in zip(strict, strict[1:]))
    assert strict[:2] == [2.0, float(np.nextafter(np.float32(2.0), np.float32(-1)))]
    assert strict[2] == 0.5 and strict[4] < strict[3] < 0.5 and strict[5] == -1.0
    assert all(a > b for a, b in zip(np.float32(strict), np.float32(strict[1:])))  # float32 too
    with pytest.raises(EvalError, match="NaN"):
        tie_free_scores([1.0, float("nan")])


def test_frozen_metrics_are_those_whose_cutoff_reaches_the_depth():
    assert frozen_metrics(100) == []
    assert frozen_metrics(50) == ["recall@50"]
    assert frozen_metrics(20) == ["recall@20", "recall@50"]
    assert frozen_metrics(5) == ["recall@5", "recall@10", "recall@20", "recall@50", "p@5", "p@10"]
    assert not {"map", "mrr@10", "ndcg@1"} & set(frozen_metrics(1))


def test_frozen_metrics_really_do_not_change_under_reranking():
    qrels, run = random_case(3, graded=True, n_queries=20, ties=False)
    run = {q: dict(list(docs.items())[:20]) for q, docs in run.items()}  # depth 20
    reversed_run = {q: {d: -s for d, s in docs.items()} for q, docs in run.items()}
    a, _ = compute_metrics(qrels, run, 20, 2)
    b, _ = compute_metrics(qrels, reversed_run, 20, 2)
    for name in frozen_metrics(20):
        assert a[name] == pytest.approx(b[name], abs=1e-12)
    for name in ("ndcg@20", "ndcg@10", "mrr@10", "map"):  # the others do change
        assert a[name] != pytest.approx(b[name])


def test_unknown_queries_and_bad_qrels_are_clear_errors():
    qrels = {"q1": {"d": 1}}
    with pytest.raises(QueryMismatchError, match="no relevance judgments.*'q9'"):
        compute_metrics(qrels, {"q1": {"d": 1.0}, "q9": {"d": 1.0}}, 10, 1)
    with pytest.raises(EvalSetError, match="qrels are empty"):
        compute_metrics({}, {"q1": {"d": 1.0}}, 10, 1)
    with pytest.raises(EvalError, match="not an integer grade"):
        compute_metrics({"q1": {"d": 0.5}}, {"q1": {"d": 1.0}}, 10, 1)
    with pytest.raises(EvalError, match="unknown metric"):
        compute_metrics(qrels, {"q1": {"d": 1.0}}, 10, 1, metrics=["ndcg"])


def test_first_stage_uses_scores_or_rank_order():
    es = make_eval_set(n_queries=3, n_cands=6)
    run = first_stage_run(es, ["q1"])
    assert list(run["q1"]) == [d for d, _ in es.candidates["q1"]]  # ties keep the list order
    assert all(a > b for a, b in zip(run["q1"].values(), list(run["q1"].values())[1:]))
    es.candidates["q1"] = [(d, 0.0) for d, _ in es.candidates["q1"]]  # MS MARCO scoreddocs
    zero = first_stage_run(es, ["q1"])
    assert list(zero["q1"].values()) == [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0]
    assert list(zero["q1"]) == [d for d, _ in es.candidates["q1"]]


def test_first_stage_metrics_on_graded_toy_set(graded_set):
    out = first_stage_metrics(graded_set)
    expected = reference(
        {q: graded_set.qrels[q] for q in graded_set.qrels}, first_stage_run(graded_set), 2
    )
    for name in METRICS:
        mean = np.mean([expected[q][name] for q in sorted(graded_set.qrels)])
        assert out["metrics"][name] == pytest.approx(mean, abs=1e-6)
    assert out["n_queries"] == len(graded_set.qrels)
    assert out["frozen_metrics"] == ["recall@20", "recall@50"]


def test_eval_set_without_candidates_is_a_clear_error(toy_set):
    toy_set.candidates = {}
    with pytest.raises(EvalSetError, match="no first-stage candidates"):
        first_stage_metrics(toy_set)
    toy_set.candidates = {"q1": [("d", 1.0)], "nope": [("d", 1.0)]}
    with pytest.raises(QueryMismatchError, match="not in its queries"):
        first_stage_metrics(toy_set)
