"""Real data: the BM25 first stage on BEIR SciFact test, metrics against ir_measures.

Runs in a fresh interpreter with a temporary IR_DATASETS_HOME seeded from the steering repo's
``shared/data/scifact`` (ir_datasets fixes its BEIR folder at import). Skipped without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCIFACT = REPO.parent / "shared" / "data" / "scifact"

pytestmark = pytest.mark.skipif(
    not (SCIFACT / "corpus.jsonl").is_file(), reason="../shared/data/scifact not available"
)

CODE = """
import json, sys
import ir_measures
from ir_measures import AP, RR, P, R, nDCG
from rerankscale.data import seed_beir_cache, load_eval_set
from rerankscale.evaluation.metrics import METRICS, first_stage_metrics, first_stage_run, frozen_metrics
seed_beir_cache("scifact", sys.argv[1])
es = load_eval_set("beir/scifact/test", depth=100, progress=False)
out = first_stage_metrics(es)
run = first_stage_run(es)
measures = {"ndcg": lambda k: nDCG @ k, "mrr": lambda k: RR(rel=1) @ k, "map": lambda k: AP(rel=1),
            "recall": lambda k: R(rel=1) @ k, "p": lambda k: P(rel=1) @ k}
ref = {}
for name in METRICS:
    kind, _, k = name.partition("@")
    measure = measures[kind](int(k) if k else None)
    per_q = {m.query_id: m.value for m in ir_measures.iter_calc([measure], es.qrels, run)}
    ref[name] = {q: per_q.get(q, 0.0) for q in es.qrels}
pq = out["per_query"]
diff = max(abs(pq.loc[q, n] - ref[n][q]) for n in METRICS for q in es.qrels)
raw = {q: {d: s for d, s in c} for q, c in es.candidates.items()}
print(json.dumps({"metrics": out["metrics"], "n": out["n_queries"], "max_diff": diff,
                  "recall100": first_stage_metrics(es, depth=100)["metrics"]["recall@50"],
                  "frozen": frozen_metrics(100), "first_stage": es.first_stage,
                  "ties": sum(len(set(s for _, s in c)) < len(c) for c in es.candidates.values()),
                  "ir_measures_agg": {n: sum(ref[n].values()) / len(ref[n]) for n in METRICS}}))
"""


def test_bm25_first_stage_on_scifact_matches_ir_measures_and_beir():
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "IR_DATASETS_HOME": home, "PYTHONPATH": str(REPO)}
        proc = subprocess.run(
            [sys.executable, "-c", CODE, str(SCIFACT)],
            capture_output=True,
            text=True,
            env=env,
            cwd=str(REPO),
            timeout=600,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["n"] == 300 and out["first_stage"] == "bm25"
    assert out["max_diff"] < 1e-6  # every metric, every query, against trec_eval
    for name, value in out["metrics"].items():
        assert value == pytest.approx(out["ir_measures_agg"][name], abs=1e-6)
    assert out["metrics"]["ndcg@10"] == pytest.approx(0.66, abs=0.015)  # BEIR: 0.665
    assert 0.55 < out["metrics"]["mrr@10"] < 0.70
    assert out["frozen"] == []  # nothing reaches depth 100
