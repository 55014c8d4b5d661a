"""Fits on several cores (rerankscale.scaling.parallel): the same tables as one process."""

import os

import pandas as pd
import pytest

from rerankscale.config import ConfigError
from rerankscale.scaling import (
    ChinchillaLaw,
    SaturatingLaw,
    forecast_holdout,
    parallel,
    rollout_exposure,
)


def _forecasts(table, workers, monkeypatch):
    monkeypatch.setenv(parallel.ENV_WORKERS, str(workers))
    joint, fits = forecast_holdout(
        table,
        ChinchillaLaw(),
        y=["ndcg@10", "ce@64"],
        holdout=1,
        d="queries_seen",
        n_boot=12,
        seed=5,
        grid="coarse",
        return_fits=True,
    )
    exposure = rollout_exposure(
        table[table["n_params"] == table["n_params"].min()],
        SaturatingLaw(),
        y="ndcg@10",
        origins=(3,),
        n_boot=8,
        grid="coarse",
    )
    return joint, fits, exposure


def test_tables_on_two_workers_equal_one_process_bit_for_bit(table, monkeypatch):
    joint1, fits1, exp1 = _forecasts(table, 1, monkeypatch)
    joint2, fits2, exp2 = _forecasts(table, 2, monkeypatch)
    # 2 objectives x 2 metrics: four tasks, each with its own seed, run on two processes
    assert len(fits1) == 4 and list(fits1) == list(fits2)
    pd.testing.assert_frame_equal(joint1, joint2, check_exact=True)
    pd.testing.assert_frame_equal(exp1, exp2, check_exact=True)
    for key, (fit, boot) in fits1.items():
        assert (fit.theta == fits2[key][0].theta).all()
        assert (boot.thetas == fits2[key][1].thetas).all()
    assert joint1["prediction"].notna().all()


def _pid_and_nested():
    return os.getpid(), parallel.run_tasks([os.getpid, os.getpid])


def test_results_come_back_in_task_order_from_other_processes_that_never_fork_again():
    out = parallel.run_tasks([lambda i=i: i * i for i in range(7)], workers=2)
    assert out == [i * i for i in range(7)]
    pids = parallel.run_tasks([_pid_and_nested] * 4, workers=2)
    for pid, nested in pids:
        assert pid != os.getpid()
        assert nested == [pid, pid]  # a worker runs its own tasks in place
    assert parallel.run_tasks([os.getpid], workers=2) == [os.getpid()]  # one task: in place


@pytest.mark.parametrize("raw", ["0", "two", "-1"])
def test_a_bad_worker_count_is_a_one_line_error_naming_the_variable(raw, monkeypatch):
    monkeypatch.setenv(parallel.ENV_WORKERS, raw)
    with pytest.raises(ConfigError, match="RERANKSCALE_WORKERS=.* whole number"):
        parallel.default_workers()
