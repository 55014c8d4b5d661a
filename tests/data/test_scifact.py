"""Real data: BEIR SciFact through the same code, from a cache seeded with seed_beir_cache.

Runs in a fresh process with a fresh IR_DATASETS_HOME (ir_datasets fixes BEIR's folder when it
is imported). Skipped when the steering repo's ``shared/data/scifact`` is absent.
"""

from __future__ import annotations

import json

import pytest
from conftest import SHARED_SCIFACT, run_python

pytestmark = pytest.mark.skipif(
    not (SHARED_SCIFACT / "corpus.jsonl").is_file(), reason="../shared/data/scifact not available"
)

CODE = """
import itertools, json, math
from pathlib import Path
from rerankscale.data import (seed_beir_cache, load_dataset, load_eval_set, training_groups,
                              dataset_home, default_rel_threshold)
from rerankscale.data.home import shared_data_dir
zip_path = seed_beir_cache("scifact", shared_data_dir() / "scifact")
again = seed_beir_cache("scifact", shared_data_dir() / "scifact")  # idempotent
out = {"zip": str(zip_path), "same": zip_path == again}
ds = load_dataset("beir/scifact")
out["docs"] = sum(1 for _ in ds.docs_iter())
for split in ("train", "test"):
    d = load_dataset(f"beir/scifact/{split}")
    out[split] = [sum(1 for _ in d.queries_iter()), sum(1 for _ in d.qrels_iter())]
es = load_eval_set("beir/scifact/test", depth=100, progress=False)
ndcg, recall = [], []
for qid, cands in es.candidates.items():
    ids = [d for d, _ in cands]
    rels = es.qrels[qid]
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ids[:10]))
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(rels.values(), reverse=True)[:10]))
    ndcg.append(dcg / idcg)
    recall.append(len(set(ids) & set(rels)) / len(rels))
out.update(ndcg10=sum(ndcg) / len(ndcg), recall100=sum(recall) / len(recall),
           first_stage=es.first_stage, n=len(es.queries), threshold=es.rel_threshold,
           depths={len(v) for v in es.candidates.values()} == {100},
           docs_cover=all(d in es.docs for v in es.candidates.values() for d, _ in v),
           name=es.name)
bm25_dirs = sorted(p.name for p in (dataset_home() / "rerankscale" / "bm25").iterdir())
es2 = load_eval_set("beir/scifact/test", depth=100, bm25_k1=1.2, bm25_b=0.75, progress=False)
out["cache_dirs"] = [len(bm25_dirs), len(list((dataset_home() / "rerankscale" / "bm25").iterdir()))]
out["params_matter"] = es2.candidates != es.candidates
groups = list(itertools.islice(training_groups("beir/scifact/train", 10, seed=0), 809))
qrels = {q.query_id: {} for q in load_dataset("beir/scifact/train").queries_iter()}
for r in load_dataset("beir/scifact/train").qrels_iter():
    qrels[r.query_id][r.doc_id] = r.relevance
out["groups"] = {
    "n_distinct": len({g.qid for g in groups}),
    "positive_judged": all(qrels[g.qid].get(g.doc_ids[0]) == 1 for g in groups),
    "negatives_unjudged": all(not set(g.doc_ids[1:]) & set(qrels[g.qid]) for g in groups),
    "sizes": sorted({len(g.doc_ids) for g in groups}),
    "first": [groups[0].qid, groups[0].doc_ids[0]],
}
print(json.dumps(out))
"""


def test_scifact_counts_bm25_and_groups(tmp_path):
    out = json.loads(
        run_python(CODE, env={"IR_DATASETS_HOME": str(tmp_path / "irds")}, timeout=300)
        .strip()
        .splitlines()[-1]
    )
    assert out["zip"] == str(tmp_path / "irds" / "beir" / "scifact" / "source.zip") and out["same"]
    assert out["docs"] == 5183
    assert out["train"] == [809, 919] and out["test"] == [300, 339]
    assert out["first_stage"] == "bm25" and out["n"] == 300 and out["threshold"] == 1
    assert out["name"] == "scifact-test" and out["depths"] and out["docs_cover"]
    # bm25s, k1 0.9, b 0.4, English stopwords, title + text (BEIR paper: 0.665)
    assert 0.64 <= out["ndcg10"] <= 0.68, out["ndcg10"]
    assert 0.85 <= out["recall100"] <= 0.90, out["recall100"]
    # one index per (corpus, parameters): the second parameter set adds a second one
    assert out["cache_dirs"] == [1, 2] and out["params_matter"]
    assert out["groups"] == {
        "n_distinct": 809,
        "positive_judged": True,
        "negatives_unjudged": True,
        "sizes": [11],
        "first": out["groups"]["first"],
    }
