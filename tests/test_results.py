"""The consolidated results table: join of run configs and metrics rows, validation."""

import json

import pandas as pd
import pytest

from rerankscale.config import RunConfig
from rerankscale.evaluation import results
from rerankscale.io import append_jsonl, atomic_write_json


def make_run(root, size, objective, seed, rows, n_params=1000):
    cfg = RunConfig.from_dict({})
    cfg.model.size, cfg.train.objective, cfg.train.seed = size, objective, seed
    run_dir = root / cfg.run_id
    atomic_write_json(
        run_dir / "config.json",
        {
            "run_id": cfg.run_id,
            "config": cfg.to_dict(),
            "model": {"n_params": n_params, "n_params_total": n_params + 500},
        },
    )
    append_jsonl(run_dir / "eval" / "metrics.jsonl", rows)
    return run_dir


def row(step, eval_set="dev", subset=False, ndcg=0.5):
    return {
        "step": step,
        "queries_seen": step * 16,
        "pairs_seen": step * 128,
        "tokens_seen": step * 2000,
        "train_flops": step * 1e9,
        "eval_set": eval_set,
        "subset": subset,
        "n_queries": 100 if subset else 500,
        "ndcg@10": ndcg,
        "recall@50": 1.0,
        "frozen_metrics": ["recall@50"],
    }


def test_collect_joins_config_and_prefers_full_set_rows(tmp_path):
    make_run(
        tmp_path,
        "20k",
        "listwise",
        0,
        [
            row(10, subset=True, ndcg=0.4),
            row(20, subset=True, ndcg=0.45),
            row(20, subset=False, ndcg=0.47),
            row(20, "trec", ndcg=0.3),
        ],
    )
    make_run(tmp_path, "40k", "pairwise", 1, [row(10, ndcg=0.6)], n_params=4000)
    table = results.collect(tmp_path)
    assert len(table) == 4
    dev20 = table[
        (table.run_id == "scratch-20k-listwise-s0") & (table.step == 20) & (table.eval_set == "dev")
    ]
    assert dev20["ndcg@10"].item() == 0.47 and not dev20["subset"].item()
    other = table[table.run_id == "scratch-40k-pairwise-s1"].iloc[0]
    assert (other.n_params, other.n_params_total, other.seed, other.objective) == (
        4000,
        4500,
        1,
        "pairwise",
    )
    assert other.frozen_metrics == "recall@50"
    assert "ndcg@10" in results.metric_columns(table)
    assert "train_flops" not in results.metric_columns(table)


def test_save_and_load_round_trip(tmp_path):
    make_run(tmp_path / "runs", "20k", "listwise", 0, [row(10), row(20)])
    table = results.collect(tmp_path / "runs")
    csv, parquet = results.save(table, tmp_path / "out" / "results")
    for path in (csv, parquet):
        again = results.load(path)
        pd.testing.assert_frame_equal(again[table.columns], table, check_dtype=False)
    final = results.final_checkpoints(table)
    assert final["step"].tolist() == [20]


def test_duplicates_and_nans_are_named(tmp_path):
    run_dir = make_run(tmp_path, "20k", "listwise", 0, [row(10), row(10)])
    with pytest.raises(results.ResultsError, match="twice"):
        results.collect(tmp_path)
    (run_dir / "eval" / "metrics.jsonl").write_text(json.dumps(row(10, ndcg=None)) + "\n")
    with pytest.raises(results.ResultsError, match="NaN in metric column"):
        results.collect(tmp_path)
    table = pd.DataFrame(
        [
            {
                **row(1),
                "run_id": "a",
                "dataset": "d",
                "family": "scratch",
                "size": "1k",
                "objective": "listwise",
                "seed": 0,
                "n_params": 1,
                "n_params_total": 2,
            }
        ]
        * 2
    )
    with pytest.raises(results.ResultsError, match="duplicate keys"):
        results.validate(table)


def test_missing_results_are_a_clear_error(tmp_path):
    with pytest.raises(results.ResultsError, match="no evaluated checkpoints"):
        results.collect(tmp_path)
    with pytest.raises(results.ResultsError, match="make study"):
        results.load(tmp_path / "results.csv")
