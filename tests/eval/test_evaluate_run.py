"""Checkpoint evaluation of a run directory: rows, run files, subsets, skip, kill + restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rerankscale.config import EvalConfig
from rerankscale.evaluation import evaluate as ev
from rerankscale.evaluation.metrics import METRICS, EvalError, EvalSetError
from rerankscale.evaluation.runfile import read_trec_run
from rerankscale.io import read_jsonl
from rerankscale.models.crossencoder import ModelLoadError, load_model

from .conftest import make_eval_set, make_run_dir

EVAL = {"depth": 10, "ce_k": 4, "subset_queries": 6, "batch_size": 64}
VOLATILE = {"seconds", "eval"}  # wall-clock dependent


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def sets():
    return [make_eval_set(name="toy"), make_eval_set(graded=True, seed=1, name="toy-graded")]


def stable(rows):
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


@pytest.fixture
def run_dir(tmp_path):
    return make_run_dir(tmp_path, [64, 256, 1024], max_queries=1024, eval_overrides=EVAL)


def test_rows_files_and_subsets(run_dir):
    table = ev.evaluate_run(run_dir, eval_sets=sets(), progress=False)
    rows = read_jsonl(run_dir / "eval" / "metrics.jsonl")
    assert len(table) == len(rows) == 6
    by = {(r["queries_seen"], r["eval_set"]): r for r in rows}
    assert set(by) == {(q, s) for q in (64, 256, 1024) for s in ("toy", "toy-graded")}
    for (queries_seen, _name), row in by.items():
        final = queries_seen == 1024
        assert row["subset"] is (not final)
        assert row["n_queries"] == (12 if final else 6)
        assert row["run_id"] == "scratch-50k-listwise-s0"
        assert row["checkpoint"] == f"q{queries_seen:09d}"
        assert row["pairs_seen"] == queries_seen * 8 and row["train_flops"] > 0
        assert set(METRICS) | {"ce@4"} <= set(row)
        assert row["frozen_metrics"] == ["recall@10", "recall@20", "recall@50", "p@10"]
        assert set(row["first_stage"]) == set(METRICS)
        assert row["eval"]["pairs"] == 10 * row["n_queries"]
        run = read_trec_run(run_dir / row["eval"]["run_file"])
        assert len(run) == row["n_queries"] and all(len(d) == 10 for d in run.values())
    subset = {
        q: set(read_trec_run(run_dir / "eval" / "toy" / f"q{q:09d}.run.gz"))
        for q in (64, 256, 1024)
    }
    assert subset[64] == subset[256] < subset[1024]  # one fixed seeded subset
    assert (run_dir / "eval" / "toy" / "first_stage.run.gz").is_file()

    # the final row equals evaluate_model on that checkpoint, on the full set
    model, tokenizer = load_model(run_dir / "checkpoints" / "q000001024")
    direct = ev.evaluate_model(model, tokenizer, sets()[1], EvalConfig(**EVAL), max_length=64)
    final = by[(1024, "toy-graded")]
    for name, value in direct.metrics.items():
        assert final[name] == pytest.approx(value, abs=1e-12)
    fs = ev.first_stage_metrics(sets()[1], depth=10)["metrics"]
    assert final["first_stage"] == pytest.approx(fs)

    # paired tests of the stored runs: final checkpoint against the first stage
    folder = run_dir / "eval" / "toy-graded"
    table = ev.compare_run_files(
        folder / "first_stage.run.gz",
        folder / "q000001024.run.gz",
        sets()[1],
        depth=10,
        metrics=["ndcg@10"],
    )
    student = table[table.test == "student"].iloc[0]
    assert (student.control, student.treatment) == ("first_stage", "q000001024")
    assert student.control_mean == pytest.approx(fs["ndcg@10"], abs=1e-9)
    assert student.treatment_mean == pytest.approx(final["ndcg@10"], abs=1e-9)


def test_second_call_skips_everything(run_dir, monkeypatch):
    first = ev.evaluate_run(run_dir, eval_sets=sets(), progress=False)
    import rerankscale.models.crossencoder as models

    def no_load(path):
        raise AssertionError(f"{path} was loaded again")

    monkeypatch.setattr(models, "load_model", no_load)
    again = ev.evaluate_run(run_dir, eval_sets=sets(), progress=False)
    assert again.equals(first)


def test_interrupted_evaluation_resumes_to_the_same_rows(run_dir, tmp_path, monkeypatch):
    reference_dir = make_run_dir(tmp_path / "ref", [64, 256, 1024], 1024, EVAL)
    reference = ev.evaluate_run(reference_dir, eval_sets=sets(), progress=False)

    calls = {"n": 0}
    real = ev.evaluate_model

    def dies_on_fourth(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(ev, "evaluate_model", dies_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        ev.evaluate_run(run_dir, eval_sets=sets(), progress=False)
    metrics = run_dir / "eval" / "metrics.jsonl"
    assert len(read_jsonl(metrics)) == 3  # complete lines only

    # now die inside the atomic write of the 4th row: the file keeps its 3 rows
    import rerankscale.io as rio

    real_replace = os.replace

    def dies_in_replace(src, dst):
        if str(dst).endswith("metrics.jsonl"):
            raise KeyboardInterrupt("killed while writing")
        return real_replace(src, dst)

    monkeypatch.setattr(ev, "evaluate_model", real)
    monkeypatch.setattr(rio.os, "replace", dies_in_replace)
    with pytest.raises(KeyboardInterrupt):
        ev.evaluate_run(run_dir, eval_sets=sets(), progress=False)
    monkeypatch.setattr(rio.os, "replace", real_replace)
    assert len(read_jsonl(metrics)) == 3
    assert not list((run_dir / "eval").rglob(".*.tmp"))

    done = ev.evaluate_run(run_dir, eval_sets=sets(), progress=False)
    assert len(done) == 6
    key = lambda r: (r["queries_seen"], r["eval_set"])  # noqa: E731
    got = sorted(stable(read_jsonl(metrics)), key=key)
    want = sorted(stable(reference.to_dict("records")), key=key)
    assert [(r["checkpoint"], r["ndcg@10"], r["ce@4"]) for r in got] == [
        (r["checkpoint"], r["ndcg@10"], r["ce@4"]) for r in want
    ]


def test_full_eval_all_and_unfinished_runs(tmp_path):
    run_dir = make_run_dir(tmp_path, [64, 256], 1024, {**EVAL, "full_eval": "all"}, finished=False)
    table = ev.evaluate_run(run_dir, eval_sets=sets()[:1], progress=False)
    assert not table["subset"].any() and (table["n_queries"] == 12).all()
    partial = make_run_dir(tmp_path / "p", [64, 256], 1024, EVAL, finished=False)
    table = ev.evaluate_run(partial, eval_sets=sets()[:1], progress=False)
    assert table["subset"].all()  # training not finished, 256 < max_queries: no full eval yet


def test_bad_inputs_are_clear_errors(tmp_path, run_dir):
    with pytest.raises(EvalError, match="no config.json"):
        ev.evaluate_run(tmp_path / "nothing", eval_sets=sets(), progress=False)
    empty = make_eval_set(name="empty")
    empty.candidates = {}
    with pytest.raises(EvalSetError, match="no first-stage candidates"):
        ev.evaluate_run(run_dir, eval_sets=[empty], progress=False)
    assert not (run_dir / "eval" / "metrics.jsonl").exists()
    with pytest.raises(EvalSetError, match="share the short name"):
        ev.evaluate_run(run_dir, eval_sets=[make_eval_set(), make_eval_set()], progress=False)
    bogus = run_dir / "checkpoints" / "q000000010"
    bogus.mkdir()
    (bogus / "exposure.json").write_text(json.dumps({"step": 1, "queries_seen": 10}))
    with pytest.raises(ModelLoadError, match="q000000010 is not a model folder"):
        ev.evaluate_run(run_dir, eval_sets=sets()[:1], progress=False)


@pytest.mark.slow
def test_sigkill_mid_evaluation_then_restart(run_dir, tmp_path):
    """A real kill -9 of an evaluating process; the restart completes the metrics file."""
    pickle_path = tmp_path / "sets.pkl"
    import pickle

    pickle_path.write_bytes(pickle.dumps(sets()))
    repo = Path(__file__).resolve().parents[2]
    code = (
        "import pickle, sys, torch; torch.set_num_threads(1);"
        "from rerankscale.evaluation.evaluate import evaluate_run;"
        f"evaluate_run({str(run_dir)!r}, eval_sets=pickle.load(open({str(pickle_path)!r}, 'rb')),"
        " progress=False)"
    )
    env = {**os.environ, "PYTHONPATH": f"{repo}:{repo / 'tests'}"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=repo)
    metrics = run_dir / "eval" / "metrics.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and len(read_jsonl(metrics)) < 2 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rows = read_jsonl(metrics)  # every line parses
    assert 2 <= len(rows) < 6
    table = ev.evaluate_run(run_dir, eval_sets=sets(), progress=False)
    assert len(table) == 6
    assert len({(r["queries_seen"], r["eval_set"]) for r in table.to_dict("records")}) == 6


def test_dataset_ids_resolve_through_the_eval_set_cache(run_dir, monkeypatch):
    import rerankscale.data as data

    calls = []

    def fake_load(
        dataset_id,
        depth,
        max_queries=None,
        seed=0,
        bm25_k1=0.9,
        bm25_b=0.4,
        synthetic=None,
        progress=True,
    ):
        calls.append((dataset_id, depth, max_queries, seed, bm25_k1, synthetic))
        return make_eval_set(name=dataset_id.split("/")[-1], n_cands=depth)

    monkeypatch.setattr(data, "load_eval_set", fake_load)
    ev.clear_eval_set_cache()
    table = ev.evaluate_run(run_dir, eval_sets=["x/dev", "x/trec"], progress=False)
    assert len(table) == 6 and set(table["eval_set"]) == {"dev", "trec"}
    assert calls == [("x/dev", 10, None, 0, 0.9, None), ("x/trec", 10, None, 0, 0.9, None)]
    assert ev.get_eval_set("x/dev", 10) is ev.get_eval_set("x/dev", 10)
    assert len(calls) == 2  # loaded once per process, not per checkpoint or call
    ev.clear_eval_set_cache()


E2E = """
import json, sys, torch
torch.set_num_threads(1)
from pathlib import Path
from rerankscale.config import RunConfig
from rerankscale.models.crossencoder import build_model, save_model
from rerankscale.evaluation.evaluate import evaluate_run
cfg = RunConfig()
cfg.data.max_eval_queries = 30
cfg.data.candidate_depth = cfg.eval.depth = 20
cfg.eval.subset_queries, cfg.eval.ce_k = 10, 8
cfg.model.size, cfg.model.max_length = "20k", 64
cfg.train.max_queries, cfg.train.checkpoints = 200, [100, 200]
run_dir = Path(sys.argv[1]) / cfg.run_id
run_dir.mkdir(parents=True)
(run_dir / "config.json").write_text(json.dumps({"run_id": cfg.run_id, "config": cfg.to_dict()}))
for i, q in enumerate([100, 200]):
    model, tok = build_model(cfg.model, cfg.data.train_dataset, seed=i, progress=False)
    exposure = {"step": i + 1, "queries_seen": q, "pairs_seen": 8 * q, "tokens_seen": 300 * q,
                "train_flops": 1e9 * (i + 1), "attention_flops": 0.0}
    save_model(model, tok, run_dir / "checkpoints" / f"q{q:09d}",
               extra_json={"exposure.json": exposure})
table = evaluate_run(run_dir, progress=False)
print(table.drop(columns=["first_stage", "eval", "frozen_metrics"]).to_json(orient="records"))
"""


@pytest.mark.slow
def test_end_to_end_on_the_synthetic_eval_sets(tmp_path):
    """The run config's own eval sets (dataset ids) through the real data layer."""
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "IR_DATASETS_HOME": str(tmp_path / "irds"), "PYTHONPATH": str(repo)}
    proc = subprocess.run(
        [sys.executable, "-c", E2E, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=repo,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [(r["queries_seen"], r["eval_set"], r["subset"], r["n_queries"]) for r in rows] == [
        (100, "synthetic-dev", True, 10),
        (100, "synthetic-trec", True, 10),
        (200, "synthetic-dev", False, 30),
        (200, "synthetic-trec", False, 30),
    ]
    assert all(0 <= r["ndcg@10"] <= 1 and r["ce@8"] > 0 for r in rows)
