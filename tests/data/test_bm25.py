"""BM25 scoring, top-k with seeded ties, analyzers, and the process-independent seeds."""

from __future__ import annotations

import numpy as np
import pytest

from rerankscale.data.bm25 import BM25Index, english_analyzer, topk, topk_matrix
from rerankscale.data.seeding import digest, stable_seed

DOCS = [
    "The coffee plant originated in Ethiopia and spread to Yemen.",
    "Volcanoes erupt when magma rises through the crust.",
    "Coffee beans are roasted before brewing coffee.",
    "Glaciers carve valleys as they move slowly downhill.",
    "A volcano in Iceland disrupted flights across Europe.",
]


def test_scores_equal_bm25s_own_scoring():
    import bm25s

    terms = english_analyzer(DOCS)
    assert terms[0] == ["coffee", "plant", "originated", "ethiopia", "spread", "yemen"]
    index = BM25Index.build([f"d{i}" for i in range(5)], terms, k1=0.9, b=0.4)
    queries = english_analyzer(["where did coffee originate", "volcano eruption in iceland"])
    ours = index.score(queries)
    reference = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    reference.index(terms, show_progress=False)
    for row, q in enumerate(queries):
        assert ours[row] == pytest.approx(reference.get_scores(q), abs=1e-6)
    run = index.search(["q1", "q2"], queries, depth=2)
    assert [d for d, _ in run["q1"]] == ["d2", "d0"]  # "coffee" twice beats once
    assert run["q2"][0][0] == "d4"


def test_topk_orders_by_score_then_seeded_ties():
    scores = np.array([0, 2, 2, 0, 5, 0, 0, 1], dtype=np.float32)
    idx, sc = topk(scores, 4, tie_seed=1)
    assert list(sc) == [5, 2, 2, 1] and idx[0] == 4 and set(idx[1:3]) == {1, 2} and idx[3] == 7
    # the zero-score tail is a seed-dependent but reproducible choice
    tails = {tuple(topk(scores, 6, tie_seed=s)[0][4:]) for s in range(20)}
    assert len(tails) > 3
    assert all(
        tuple(topk(scores, 6, tie_seed=s)[0]) == tuple(topk(scores, 6, tie_seed=s)[0])
        for s in range(5)
    )
    # negative scores keep their order (IEEE sign trick)
    idx, sc = topk(np.array([-1.5, 0.5, -0.2, 3.0], dtype=np.float32), 4, 0)
    assert list(idx) == [3, 1, 2, 0]
    # the matrix version equals the row version
    m = np.random.default_rng(0).integers(0, 3, size=(6, 40)).astype(np.float32)
    seeds = np.arange(6, dtype=np.uint64) * 977
    mi, ms = topk_matrix(m, 7, seeds)
    for r in range(6):
        ri, rs = topk(m[r], 7, int(seeds[r]))
        assert list(mi[r]) == list(ri) and list(ms[r]) == list(rs)
    assert topk(scores, 100, 0)[0].shape == (8,)


def test_stable_seeds_do_not_depend_on_the_process():
    # pinned: Python's hash() of strings changes per process; these must not
    assert stable_seed("bm25-ties", "dev-00000") == 3326574487018828783
    assert digest({"a": 1}) == "015abd7f5cc5"
