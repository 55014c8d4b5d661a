"""Paired significance tests: agree with ranx, deterministic, clear errors."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from rerankscale.evaluation.metrics import QueryMismatchError, compute_metrics, tie_free_run
from rerankscale.evaluation.significance import (
    COLUMNS,
    compare_runs,
    fisher_randomization_test,
    paired_tests,
)


def two_runs(n_queries=60, seed=0):
    """A baseline and a better run (its relevant documents pushed up) on random qrels."""
    rng = random.Random(seed)
    qrels, base, better = {}, {}, {}
    for qi in range(n_queries):
        qid = f"q{qi}"
        docs = [f"d{qi}-{j}" for j in range(30)]
        rel = set(rng.sample(docs, 3))
        qrels[qid] = {d: 1 for d in rel}
        base[qid] = {d: rng.gauss(0, 1) for d in docs}
        better[qid] = {
            d: s + (rng.random() * 1.5 if d in rel else 0.0) for d, s in base[qid].items()
        }
    return qrels, base, better


def test_compare_runs_matches_ranx_compare_t_test():
    from ranx import Qrels, Run, compare

    qrels, base, better = two_runs()
    table = compare_runs(
        qrels,
        {"bm25": base, "ce": better},
        depth=30,
        metrics=["ndcg@10", "map"],
        n_permutations=2000,
    )
    assert list(table.columns) == COLUMNS
    assert len(table) == 4 and set(table["test"]) == {"student", "fisher"}
    report = compare(
        Qrels.from_dict(qrels),
        [
            Run.from_dict(tie_free_run(base), name="bm25"),
            Run.from_dict(tie_free_run(better), name="ce"),
        ],
        metrics=["ndcg@10", "map"],
        stat_test="student",
        max_p=0.05,
    )
    for metric in ("ndcg@10", "map"):
        row = table[(table.metric == metric) & (table.test == "student")].iloc[0]
        assert row.p_value == pytest.approx(
            report.comparisons["bm25", "ce"][metric]["p_value"], rel=1e-9
        )
        assert row.control_mean == pytest.approx(report.results["bm25"][metric], abs=1e-12)
        assert row.treatment_mean == pytest.approx(report.results["ce"][metric], abs=1e-12)
        assert row.delta > 0 and row.significant and row.wins > row.losses
        mean_base = compute_metrics(qrels, base, 30, 1, [metric])[0][metric]
        assert row.control_mean == pytest.approx(mean_base)


def test_fisher_is_deterministic_and_agrees_with_ranx_up_to_monte_carlo_error():
    from ranx.statistical_tests import fisher_randomization_test as ranx_fisher

    rng = np.random.default_rng(0)
    a = rng.random(80)
    b = a + rng.normal(0.03, 0.15, 80)
    ours = fisher_randomization_test(a, b, n_permutations=20_000, seed=1)
    assert ours == fisher_randomization_test(a, b, n_permutations=20_000, seed=1)
    theirs, _ = ranx_fisher(a, b, 4000, 0.05, 42)  # ranx's own (unseeded in practice)
    assert 0.01 < ours < 0.99
    assert ours == pytest.approx(theirs, abs=0.04)  # both estimate the same exact p-value
    # exact p-value by enumeration on a small case: 2^8 sign flips
    small_a, small_b = a[:8], b[:8]
    d = small_b - small_a
    signs = np.array(np.meshgrid(*[[-1, 1]] * 8)).reshape(8, -1).T
    exact = np.mean(np.abs(signs @ d) / 8 >= abs(d.mean()) - 1e-12)
    assert fisher_randomization_test(small_a, small_b, 50_000, seed=0) == pytest.approx(
        exact, abs=0.01
    )


def test_identical_runs_are_not_significant():
    qrels, base, _ = two_runs(20)
    table = compare_runs(qrels, {"a": base, "b": base}, depth=30, metrics=["ndcg@10"])
    assert (table.p_value == 1.0).all() and not table.significant.any()
    assert (table.delta == 0).all() and (table.ties == 20).all()


def test_paired_tests_need_the_same_queries():
    a = pd.DataFrame({"ndcg@10": [0.1, 0.2]}, index=pd.Index(["q1", "q2"], name="qid"))
    b = pd.DataFrame({"ndcg@10": [0.1, 0.3]}, index=pd.Index(["q1", "q3"], name="qid"))
    with pytest.raises(QueryMismatchError, match="same queries"):
        paired_tests(a, b)
