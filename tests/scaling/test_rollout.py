"""Rollout validation (rerankscale.scaling.rollout): expanding windows over sizes and exposure."""

import numpy as np
import pandas as pd
import pytest

from rerankscale.scaling import (
    SaturatingLaw,
    rollout_exposure,
    rollout_sizes,
    summarize_rollout,
    synthetic_results_table,
)

SIZES = (1e4, 2e4, 4e4, 8e4, 16e4)


def _exact_table(seeds=1):
    """Final checkpoints on an exact saturating law y = 0.8 − 0.5·(N/1e4)^−0.4."""
    n = np.repeat(SIZES, seeds)
    return pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(len(n))],
            "objective": "listwise",
            "eval_set": "dev",
            "n_params": n,
            "size": [f"{v / 1e3:g}k" for v in n],
            "step": 1,
            "ndcg@10": 0.8 - 0.5 * (n / 1e4) ** -0.4,
        }
    )


def test_size_rollout_forecasts_every_larger_size_from_every_origin():
    ro = rollout_sizes(
        _exact_table(seeds=2), SaturatingLaw(), y="ndcg@10", x="n_params", n_boot=0, grid="coarse"
    )
    # k = 3 forecasts sizes 4 and 5, k = 4 forecasts size 5
    got = sorted(zip(ro["origin"], ro["n_params"], ro["horizon"]))
    assert got == [(3, 8e4, 1), (3, 16e4, 2), (4, 16e4, 1)]
    assert (ro["axis"] == "size").all()
    np.testing.assert_allclose(
        ro["log_distance"], np.log(ro["n_params"] / np.where(ro["origin"] == 3, 4e4, 8e4))
    )
    assert set(ro.loc[ro.origin == 3, "fit_up_to"]) == {"40k"}
    # an exact law is recovered: every forecast is right to 1e-4
    truth = 0.8 - 0.5 * (ro["n_params"] / 1e4) ** -0.4
    np.testing.assert_allclose(ro["prediction"], truth, atol=1e-4)
    np.testing.assert_allclose(ro["rel_error"], ro["error"] / ro["actual"])
    assert (ro["interval_method"] == "none").all()
    assert (ro["interval_status"] == "no bootstrap").all() and (ro["n_seeds"] == 2).all()
    # one seed: 3 points cannot identify 3 parameters; the origin is reported, not dropped
    one = rollout_sizes(_exact_table(), SaturatingLaw(), y="ndcg@10", x="n_params", n_boot=0)
    k3 = one[one.origin == 3]
    assert len(k3) == 2 and (k3["fit_status"] == "degenerate").all()
    assert k3["prediction"].isna().all()


def test_size_rollout_intervals_with_one_seed_are_parametric():
    t = _exact_table()
    rng = np.random.default_rng(0)
    t["ndcg@10"] *= np.exp(rng.normal(0, 0.02, len(t)))
    t = pd.concat(
        [
            t,
            t.assign(n_params=32e4, size="320k", run_id="r9", **{"ndcg@10": 0.8 - 0.5 * 32**-0.4})[
                -1:
            ],
        ],
        ignore_index=True,
    )
    ro = rollout_sizes(
        t, SaturatingLaw(), y="ndcg@10", x="n_params", n_boot=30, grid="coarse", min_fit_sizes=4
    )
    assert (ro["interval_method"] == "parametric bootstrap").all()
    assert (ro["interval_status"] == "ok").all()
    assert ((ro["pi_lo"] < ro["prediction"]) & (ro["prediction"] < ro["pi_hi"])).all()


def test_exposure_rollout_fits_the_first_part_of_each_curve():
    df = synthetic_results_table(sizes=(1e6, 4e6), seeds=2, n_checkpoints=6, seed=1)
    ro = rollout_exposure(
        df, SaturatingLaw(), y="ndcg@10", x="pairs_seen", n_boot=20, grid="coarse"
    )
    grid = np.sort(df["pairs_seen"].unique())
    assert sorted(ro["origin"].unique()) == [3, 4, 5]
    # per curve: origin k forecasts the 6 − k later checkpoints, horizons 1 … 6 − k
    per = ro.groupby(["n_params", "origin"])["horizon"].apply(sorted)
    for (_, k), h in per.items():
        assert h == list(range(1, 7 - k))
    top = grid[ro["origin"].to_numpy() - 1]
    np.testing.assert_allclose(ro["log_distance"], np.log(ro["pairs_seen"] / top), rtol=1e-9)
    assert (ro["axis"] == "exposure").all() and ro["prediction"].notna().all()
    # same runs continued: 4 runs in all, so the parametric bootstrap, with within-run noise only
    assert (ro["interval_method"] == "parametric bootstrap").all()
    one = rollout_exposure(
        df, SaturatingLaw(), y="ndcg@10", x="pairs_seen", n_boot=0, grid="coarse", origins=(4,)
    )
    assert set(one["origin"]) == {4} and len(one) == 2 * 2


def test_summary_by_hand():
    ro = pd.DataFrame(
        dict(
            axis="size",
            eval_set="dev",
            objective="o",
            metric="m",
            law="l",
            horizon=[1, 1, 2, 2],
            log_distance=[0.5, 0.7, 1.0, 1.2],
            prediction=[0.5, 0.6, 0.5, np.nan],
            actual=[0.4, 0.6, 0.55, 0.6],
            covered=[1.0, 0.0, 1.0, np.nan],
            covered_pi=[1.0, 1.0, 0.0, np.nan],
            interval_status=["ok", "ok", "ok", "no bootstrap"],
            interval_method=["run bootstrap", "parametric bootstrap", "run bootstrap", "none"],
        )
    )
    ro["error"] = ro["prediction"] - ro["actual"]
    ro["abs_error"] = ro["error"].abs()
    ro["bias"] = -ro["error"]
    ro["rel_error"] = ro["error"] / ro["actual"]
    s = summarize_rollout(ro).set_index("horizon")
    assert s.loc[1, "n"] == 2 and s.loc[2, "n"] == 1 and s.loc[2, "n_failed"] == 1
    assert s.loc[1, "mae"] == pytest.approx(0.05)
    assert s.loc[1, "bias"] == pytest.approx(-0.05)
    assert s.loc[1, "mare"] == pytest.approx((0.1 / 0.4 + 0) / 2)
    assert s.loc[1, "rel_bias"] == pytest.approx(-(0.1 / 0.4) / 2)
    assert s.loc[1, "coverage"] == pytest.approx(0.5) and s.loc[1, "coverage_pi"] == 1.0
    assert s.loc[1, "mean_log_distance"] == pytest.approx(0.6)
    assert s.loc[1, "interval_method"] == "parametric bootstrap, run bootstrap"
    assert s.loc[2, "bias"] == pytest.approx(0.05) and s.loc[2, "coverage_pi"] == 0.0


def test_no_window_to_roll_out_gives_an_empty_summary_and_a_figure_that_says_so():
    """Two sizes and three checkpoints (the smoke preset): the rollout has no rows at all."""
    from rerankscale.reporting.plots import plot_rollout

    by = ["axis", "eval_set", "objective", "metric", "horizon"]
    s = summarize_rollout(pd.DataFrame(), by=by)
    assert s.empty and list(s.columns[:5]) == by and "coverage_pi" in s.columns
    fig = plot_rollout(pd.DataFrame())
    assert fig.rerankscale_data.empty
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "no rollout: too few sizes and checkpoints"
    ]
