"""Relation-rank bands: hand-computed band means, the synthetic sets' relation ranks, errors."""

import dataclasses
import math

import pytest

from rerankscale.config import ConfigError
from rerankscale.data.evalsets import EvalSet
from rerankscale.evaluation.bands import band_label, band_table, query_relations
from rerankscale.evaluation.runfile import write_trec_run
from rerankscale.orchestration import lr_sweep as L


def tiny_eval_set() -> EvalSet:
    queries = {f"q{i}": f"query {i}" for i in range(4)}
    qrels = {f"q{i}": {f"d{i}": 1} for i in range(4)}
    candidates = {q: [(f"d{i}", 2.0), (f"x{i}", 1.0)] for i, q in enumerate(queries)}
    docs = {d: d for c in candidates.values() for d, _ in c}
    return EvalSet(
        dataset_id="test/tiny",
        name="synthetic-dev",
        queries=queries,
        qrels=qrels,
        candidates=candidates,
        docs=docs,
        rel_threshold=1,
        depth=2,
    )


def test_band_means_are_the_per_query_ndcg_of_their_queries(tmp_path):
    es = tiny_eval_set()
    relations = {"q0": 0, "q1": 5, "q2": 50, "q3": 2000}
    # q0 and q2 rank their relevant passage first (NDCG@10 = 1), q1 and q3 second (1/log2 3)
    run = {
        "q0": {"d0": 2.0, "x0": 1.0},
        "q1": {"d1": 1.0, "x1": 2.0},
        "q2": {"d2": 2.0, "x2": 1.0},
        "q3": {"d3": 1.0, "x3": 2.0},
    }
    path = tmp_path / "run.run.gz"
    write_trec_run(path, run)
    second = 1 / math.log2(3)
    table = band_table({"from file": path, "in memory": run}, es, relations)
    for label in ("from file", "in memory"):
        row = table.loc[label]
        assert row["all"] == pytest.approx((2 + 2 * second) / 4)
        assert row["0-9"] == pytest.approx((1 + second) / 2)
        assert row["30-99"] == pytest.approx(1.0)
        assert row["1000+"] == pytest.approx(second)
        assert math.isnan(row["10-29"]) and math.isnan(row["100-299"])
    assert table.attrs["queries"] == {
        "all": 4,
        "0-9": 2,
        "10-29": 0,
        "30-99": 1,
        "100-299": 0,
        "300-999": 0,
        "1000+": 1,
    }
    assert band_label(1000, None) == "1000+" and band_label(30, 100) == "30-99"


def test_a_query_without_a_relation_rank_is_a_one_line_error():
    es = tiny_eval_set()
    run = {q: {d: s for d, s in c} for q, c in es.candidates.items()}
    with pytest.raises(ConfigError, match="no relation rank; build relations with"):
        band_table({"bm25": run}, es, {"q0": 0})


def test_only_synthetic_sets_have_relation_ranks():
    with pytest.raises(ConfigError, match="need a synthetic eval set"):
        query_relations(dataclasses.replace(tiny_eval_set(), name="scifact-test"))


def test_validation_queries_have_their_generated_relations():
    world = {"n_relations": 8000, "zipf_qrel": 1.0}
    es = L.validation_set(world, n_queries=64, depth=30)
    relations = query_relations(es, world)
    assert set(es.queries) <= set(relations)
    ranks = [relations[q] for q in es.queries]
    assert all(0 <= r < 8000 for r in ranks)
    # Zipf 1.0 over 8,000 relations puts ~31 % of the queries on the top 10 and ~46 % beyond 100
    assert 0.1 < sum(r < 10 for r in ranks) / len(ranks) < 0.6
    assert sum(r >= 100 for r in ranks) > 0
