"""Shared fixtures of the scaling tests."""

import pytest

from rerankscale.scaling import synthetic_results_table


@pytest.fixture(scope="module")
def table():
    """A two-objective synthetic results table (2 seeds, 6 checkpoints) from known laws."""
    return synthetic_results_table(
        objectives=("pointwise", "listwise"), seeds=2, n_checkpoints=6, seed=7
    )
