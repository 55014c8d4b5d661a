"""CE@k against a hand computation; deterministic, model-independent negative sampling."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from rerankscale.evaluation.contrastive import contrastive_entropy, sample_negatives, stable_hash
from rerankscale.evaluation.metrics import EvalError, QueryMismatchError

CANDS = {
    "q": [("n1", 9.0), ("p1", 8.0), ("p3", 7.0), ("x1", 6.0), ("p2", 5.0), ("x2", 4.0), ("x3", 3.0)]
}
QRELS = {"q": {"p1": 1, "p2": 2, "p3": 2, "n1": 0}}
SCORES = {"q": {"n1": 0.3, "p1": 2.0, "p3": 1.5, "x1": -0.4, "p2": 3.0, "x2": 0.9, "x3": -2.2}}


def hand_sample(negatives, k, seed, qid):
    key = {
        d: int.from_bytes(
            hashlib.blake2b(f"{seed}\x1f{qid}\x1f{d}".encode(), digest_size=8).digest(), "big"
        )
        for d in negatives
    }
    return sorted(negatives, key=lambda d: key[d])[:k]


def test_ce_matches_a_hand_computation():
    out = contrastive_entropy(SCORES, QRELS, CANDS, k=2, seed=3, rel_threshold=2)
    # positive: grade 2 ties between p3 (rank 3) and p2 (rank 5) -> p3, the better first-stage
    # rank, although p2 scores higher; negatives: rel <= 0 -> n1 (judged 0), x1, x2, x3
    # (unjudged); p1 (grade 1 < t = 2) is neither positive nor negative
    sample = hand_sample(["n1", "x1", "x2", "x3"], 2, 3, "q")
    logits = [1.5] + [SCORES["q"][d] for d in sample]
    expected = -math.log(math.exp(1.5) / sum(math.exp(s) for s in logits))
    assert out["ce@2"] == pytest.approx(expected, rel=1e-12)
    assert out["per_query"] == {"q": pytest.approx(expected, rel=1e-12)}
    assert (out["n_queries"], out["n_no_positive"], out["n_no_negative"], out["n_short"]) == (
        1,
        0,
        0,
        0,
    )


def test_ce_takes_every_negative_when_fewer_than_k_and_binary_threshold():
    out = contrastive_entropy(SCORES, QRELS, CANDS, k=64, seed=0, rel_threshold=1)
    # t = 1: every graded doc is relevant; highest grade 2 -> p3 again (rank 3 < rank 5);
    # negatives n1, x1, x2, x3: all four are used
    logits = [1.5, 0.3, -0.4, 0.9, -2.2]
    expected = math.log(sum(math.exp(s) for s in logits)) - 1.5
    assert out["ce@64"] == pytest.approx(expected, rel=1e-12)
    assert out["n_short"] == 1


def test_ce_exclusions_are_counted_and_constant_scores_give_log_1_plus_m():
    cands = {
        "a": [("d1", 1.0), ("d2", 0.5), ("d3", 0.1)],
        "b": [("e1", 1.0)],
        "c": [("f1", 1.0), ("f2", 0.0)],
    }
    qrels = {"a": {"d2": 1}, "b": {"e1": 1}, "c": {"zz": 1}}
    run = {q: {d: 0.25 for d, _ in c} for q, c in cands.items()}
    out = contrastive_entropy(run, qrels, cands, k=8, seed=0, rel_threshold=1)
    assert out["ce@8"] == pytest.approx(math.log(3))  # 1 positive + 2 negatives, equal scores
    assert (out["n_queries"], out["n_no_positive"], out["n_no_negative"]) == (1, 1, 1)
    none = contrastive_entropy({"c": run["c"]}, qrels, cands, k=8, seed=0, rel_threshold=1)
    assert none["ce@8"] is None and none["n_queries"] == 0


def test_negative_sampling_is_deterministic_order_free_and_uniform():
    negatives = [f"d{i}" for i in range(10)]
    a = sample_negatives(negatives, 3, seed=5, qid="q")
    assert a == sample_negatives(list(reversed(negatives)), 3, seed=5, qid="q")
    assert a == hand_sample(negatives, 3, 5, "q")
    assert a != sample_negatives(negatives, 3, seed=6, qid="q")
    counts = Counter(d for i in range(2000) for d in sample_negatives(negatives, 3, 0, f"q{i}"))
    assert all(abs(c / 2000 - 0.3) < 0.04 for c in counts.values())  # each drawn w.p. k/n


def test_stable_hash_is_the_same_in_another_process():
    code = "from rerankscale.evaluation.contrastive import stable_hash; print(stable_hash(0, 'q1', 'd7'))"
    repo = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PYTHONPATH": repo},
        cwd=repo,
    )
    assert int(out.stdout) == stable_hash(0, "q1", "d7")


def test_ce_bad_input_is_a_clear_error():
    with pytest.raises(EvalError, match="k ≥ 1"):
        contrastive_entropy(SCORES, QRELS, CANDS, k=0, seed=0, rel_threshold=1)
    with pytest.raises(QueryMismatchError, match="no candidate list"):
        contrastive_entropy({"other": {}}, QRELS, CANDS, k=2, seed=0, rel_threshold=1)
    partial = {"q": {d: s for d, s in SCORES["q"].items() if d != "x2"}}
    with pytest.raises(EvalError, match="no score in the run"):
        contrastive_entropy(partial, QRELS, CANDS, k=2, seed=0, rel_threshold=1)
