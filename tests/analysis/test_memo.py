"""The analysis memo: a second call with the same inputs reads the table back without computing
it; a changed results table, parameter, package source or floating-point environment computes it
again."""

from types import SimpleNamespace

import pandas as pd
import pytest

from rerankscale import memo

CALLS = []


def slow_table(a, n_boot=10, seed=0):
    CALLS.append((n_boot, seed))
    return a.table.assign(draws=n_boot, seed=seed)


@pytest.fixture
def analysis(tmp_path, monkeypatch):
    monkeypatch.setenv("RERANKSCALE_HOME", str(tmp_path))
    monkeypatch.delenv(memo.ENV_OFF, raising=False)
    CALLS.clear()
    table = pd.DataFrame({"run_id": ["a", "b"], "ndcg@10": [0.3, 0.4]})
    return SimpleNamespace(table=table, baseline=None, study="study(cpu)", held_out=["640k"])


def test_second_call_reads_the_memo(analysis, tmp_path):
    first = memo.cached(slow_table, analysis, n_boot=5, seed=1)
    again = memo.cached(slow_table, analysis, n_boot=5, seed=1)
    assert CALLS == [(5, 1)]
    pd.testing.assert_frame_equal(first, again)
    assert len(list((tmp_path / memo.CACHE_DIR).glob("slow_table-*.pkl"))) == 1


def test_changed_inputs_recompute(analysis, monkeypatch):
    memo.cached(slow_table, analysis, n_boot=5)
    memo.cached(slow_table, analysis, n_boot=6)  # another setting
    changed = SimpleNamespace(
        **{**vars(analysis), "table": analysis.table.assign(**{"ndcg@10": [0.3, 0.5]})}
    )
    out = memo.cached(slow_table, changed, n_boot=5)  # another results table
    assert out["ndcg@10"].tolist() == [0.3, 0.5]
    monkeypatch.setattr(memo, "source_digest", lambda: "edited code")
    memo.cached(slow_table, analysis, n_boot=5)  # the package source changed
    assert CALLS == [(5, 0), (6, 0), (5, 0), (5, 0)]


def test_unreadable_entry_and_opt_out_compute(analysis, tmp_path, monkeypatch):
    memo.cached(slow_table, analysis)
    (entry,) = (tmp_path / memo.CACHE_DIR).glob("*.pkl")
    entry.write_bytes(b"not a pickle")
    memo.cached(slow_table, analysis)
    monkeypatch.setenv(memo.ENV_OFF, "1")
    memo.cached(slow_table, analysis)
    assert len(CALLS) == 3


def test_another_floating_point_environment_recomputes(analysis, monkeypatch):
    memo.cached(slow_table, analysis)
    monkeypatch.setattr(memo.numerics, "fingerprint", lambda: {"blas": ["openblas SkylakeX"]})
    memo.cached(slow_table, analysis)  # an unpinned session: its own entry
    memo.cached(slow_table, analysis)
    assert CALLS == [(10, 0), (10, 0)]
