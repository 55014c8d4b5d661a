"""Results-table validation and metric helpers (rerankscale.scaling.table)."""

import numpy as np
import pandas as pd
import pytest

from rerankscale.scaling import (
    ErrorTransform,
    ResultsTableError,
    final_checkpoints,
    from_error,
    is_error_metric,
    is_ranking_metric,
    metric_columns,
    seed_average,
    synthetic_results_table,
    to_error,
    validate_results_table,
)


@pytest.fixture(scope="module")
def table():
    return synthetic_results_table(sizes=(1e6, 2e6, 4e6), seeds=2, n_checkpoints=5)


def test_valid_table_passes_unchanged(table):
    out = validate_results_table(table)
    assert out is table
    assert metric_columns(table) == ["ndcg@10", "ce@64"]


def test_missing_column_names_it_and_the_fix(table):
    with pytest.raises(ResultsTableError, match=r"missing required columns \['train_flops'\].*Fix"):
        validate_results_table(table.drop(columns=["train_flops"]))


def test_nan_metric_names_the_rows(table):
    bad = table.copy()
    bad.loc[7, "ndcg@10"] = np.nan
    with pytest.raises(ResultsTableError) as e:
        validate_results_table(bad)
    msg = str(e.value)
    assert "1 rows have NaN/inf in metric columns ['ndcg@10']" in msg
    assert bad.loc[7, "run_id"] in msg and "dropna" in msg


@pytest.mark.parametrize("col", ["n_params", "pairs_seen", "train_flops"])
def test_non_positive_n_or_d_is_an_error(table, col):
    bad = table.copy()
    bad.loc[3, col] = 0.0
    with pytest.raises(ResultsTableError, match=f"non-positive or missing '{col}'") as e:
        validate_results_table(bad)
    assert bad.loc[3, "run_id"] in str(e.value)


def test_duplicate_keys_are_an_error(table):
    bad = pd.concat([table, table.iloc[[4]]], ignore_index=True)
    with pytest.raises(
        ResultsTableError, match=r"2 rows share a key \(run_id, step, eval_set\)"
    ) as e:
        validate_results_table(bad)
    assert table.loc[4, "run_id"] in str(e.value)


def test_no_metric_and_non_numeric_columns(table):
    with pytest.raises(ResultsTableError, match="no metric columns"):
        validate_results_table(table.drop(columns=["ndcg@10", "ce@64"]))
    with pytest.raises(ResultsTableError, match="not in the results table"):
        validate_results_table(table, metrics=["mrr@10"])
    bad = table.astype({"n_params": str})
    with pytest.raises(ResultsTableError, match="must be numeric"):
        validate_results_table(bad)
    with pytest.raises(ResultsTableError, match="DataFrame"):
        validate_results_table([1, 2])


def test_metric_directions_and_error_transform():
    assert is_ranking_metric("ndcg@10") and is_ranking_metric("map") and is_ranking_metric("p@5")
    assert is_error_metric("ce@64") and not is_ranking_metric("ce@64")
    assert not is_error_metric("ndcg@10")
    np.testing.assert_allclose(to_error([0.3, 0.5], "ndcg@10"), [0.7, 0.5])
    np.testing.assert_allclose(to_error([2.0], "ce@64"), [2.0])
    np.testing.assert_allclose(to_error([0.5], "recall@10", ceiling=0.66), [0.16])
    np.testing.assert_allclose(from_error(to_error([0.31], "mrr@10"), "mrr@10"), [0.31])
    assert ErrorTransform("ndcg@10").name == "1 - ndcg@10"
    assert ErrorTransform("ce@64").name == "ce@64"
    with pytest.raises(ValueError, match="unknown metric"):
        to_error([0.1], "weird")


def test_final_checkpoints_and_seed_average(table):
    fin = final_checkpoints(table)
    assert len(fin) == table["run_id"].nunique()
    assert (fin["step"] == table["step"].max()).all()
    assert len(final_checkpoints(table, 2)) == 2 * len(fin)
    avg = seed_average(table, ["ndcg@10"])
    assert len(avg) == 3 * 5 and (avg["n_seeds"] == 2).all()
    one = table[(table.n_params == 1e6) & (table.step == 100)]
    row = avg[(avg.n_params == 1e6) & (avg.step == 100)].iloc[0]
    assert row["ndcg@10"] == pytest.approx(one["ndcg@10"].mean())
    assert row["train_flops"] == pytest.approx(np.exp(np.log(one["train_flops"]).mean()))
    assert row["size"] == "1m"
