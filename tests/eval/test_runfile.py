"""TREC run files: deterministic bytes, tie-free order that trec_eval reads back, clear errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from rerankscale.evaluation.metrics import QueryMismatchError, RunFileError, compute_metrics
from rerankscale.evaluation.runfile import format_trec_run, read_trec_run, write_trec_run

RUN = {"q2": {"a": 0.5, "b": 0.5, "c": 1.25}, "q1": {"z": -1.0, "y": -1.0, "x": -1.0}}


def test_format_orders_queries_and_breaks_ties_by_insertion_order():
    lines = format_trec_run(RUN, tag="t").splitlines()
    assert [line.split()[:4] for line in lines] == [
        ["q1", "Q0", "z", "1"],
        ["q1", "Q0", "y", "2"],
        ["q1", "Q0", "x", "3"],
        ["q2", "Q0", "c", "1"],
        ["q2", "Q0", "a", "2"],
        ["q2", "Q0", "b", "3"],
    ]
    scores = [np.float32(line.split()[4]) for line in lines]
    assert scores[0] > scores[1] > scores[2] and scores[3] > scores[4] > scores[5]
    assert lines[3].split()[4] == "1.25" and lines[4].split()[4] == "0.5"  # untied: exact


def test_gzip_round_trip_is_byte_deterministic(tmp_path):
    a = write_trec_run(tmp_path / "a.run.gz", RUN)
    b = write_trec_run(tmp_path / "b.run.gz", dict(reversed(list(RUN.items()))))
    assert a.read_bytes() == b.read_bytes()  # no timestamp in the gzip header, sorted queries
    back = read_trec_run(a, queries=["q1", "q2", "q3"])
    assert list(back["q1"]) == ["z", "y", "x"] and list(back["q2"]) == ["c", "a", "b"]
    assert back["q2"]["c"] == 1.25
    assert not list(tmp_path.glob(".*.tmp"))


def test_trec_eval_reads_the_written_ranking(tmp_path):
    ir_measures = pytest.importorskip("ir_measures")
    qrels = {"q1": {"x": 1}, "q2": {"b": 1}}
    path = write_trec_run(tmp_path / "r.run", RUN)
    ours, _ = compute_metrics(qrels, RUN, 3, 1, ["mrr@10"])
    theirs = ir_measures.calc_aggregate(
        [ir_measures.RR @ 10], qrels, list(ir_measures.read_trec_run(str(path)))
    )
    assert ours["mrr@10"] == pytest.approx(1 / 3) == pytest.approx(theirs[ir_measures.RR @ 10])


def test_bad_run_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.run"
    bad.write_text("q1 Q0 d1 1 0.5\n")
    with pytest.raises(RunFileError, match="bad.run:1: expected 6 columns"):
        read_trec_run(bad)
    bad.write_text("q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n")
    with pytest.raises(RunFileError, match="listed twice"):
        read_trec_run(bad)
    bad.write_text("q1 Q0 d1 one 0.5 t\n")
    with pytest.raises(RunFileError, match="rank must be an integer"):
        read_trec_run(bad)
    bad.write_text("q1 Q0 d1 1 0.5 t\nq7 Q0 d1 1 0.5 t\n")
    with pytest.raises(QueryMismatchError, match="1 queries not in the eval set.*'q7'"):
        read_trec_run(bad, queries=["q1"])
    trunc = tmp_path / "t.run.gz"
    trunc.write_bytes(gzip.compress(b"q1 Q0 d1 1 0.5 t\n" * 100)[:30])
    with pytest.raises(RunFileError, match="truncated or corrupt"):
        read_trec_run(trunc)
    with pytest.raises(RunFileError, match="does not exist"):
        read_trec_run(tmp_path / "none.run")
    with pytest.raises(RunFileError, match="whitespace"):
        format_trec_run({"q 1": {"d": 1.0}})
