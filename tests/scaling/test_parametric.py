"""Parametric bootstrap (rerankscale.scaling.parametric) and the coverage simulation."""

import numpy as np
import pandas as pd
import pytest

from rerankscale.scaling import SaturatingLaw, fit_law, select_rows, synthetic_results_table
from rerankscale.scaling.coverage import DESIGNS, simulate_coverage, true_law
from rerankscale.scaling.parametric import (
    NoiseModel,
    NoiseNotEstimable,
    estimate_noise,
    parametric_bootstrap,
)

TRUTH = dict(a=0.75, B=0.40, gamma=0.35)


def _final_table(sizes, seeds, run_sigma, seed=0):
    rng = np.random.default_rng(seed)
    n = np.repeat(np.asarray(sizes, dtype=float), seeds)
    y = true_law(n, TRUTH) * np.exp(rng.normal(0, run_sigma, len(n)))
    return pd.DataFrame({"run_id": np.arange(len(n)).astype(str), "n_params": n, "ndcg@10": y})


def test_noise_from_seeds_recovers_the_run_sigma():
    df = _final_table(np.geomspace(1e4, 1e6, 8), seeds=6, run_sigma=0.05)
    r = fit_law(df, SaturatingLaw(), y="ndcg@10", x="n_params", grid="coarse")
    noise = estimate_noise(r)
    assert noise.source == "seeds" and noise.df_run == 8 * 5 and noise.df_pt == 0
    assert noise.sigma_run == pytest.approx(0.05, rel=0.2)


def test_noise_from_residuals_without_seeds():
    df = _final_table(np.geomspace(1e4, 1e7, 40), seeds=1, run_sigma=0.05, seed=1)
    r = fit_law(df, SaturatingLaw(), y="ndcg@10", x="n_params", grid="coarse")
    noise = estimate_noise(r)
    assert noise.source == "residuals" and noise.df_run == 40 - 3
    assert noise.sigma_run == pytest.approx(0.05, rel=0.25)


def test_within_run_and_run_components_are_separated():
    df = synthetic_results_table(
        sizes=(1e6, 2e6, 4e6, 8e6),
        seeds=5,
        n_checkpoints=8,
        run_sigma=0.04,
        point_sigma=0.01,
        seed=4,
    )
    r = fit_law(df, SaturatingLaw(), y="ndcg@10", x="pairs_seen", grid="coarse")
    # one law in D across all sizes: the size effect is part of the "run" spread here, so
    # check the within-run component only, and that the run component is the larger one
    noise = estimate_noise(r)
    assert noise.df_pt == len(df) - df["run_id"].nunique()
    assert noise.sigma_run > noise.sigma_pt > 0


def test_not_estimable_without_seeds_or_residual_degrees_of_freedom():
    df = _final_table(np.geomspace(1e4, 1e5, 4), seeds=1, run_sigma=0.05)
    r = fit_law(df, SaturatingLaw(), y="ndcg@10", x="n_params", grid="coarse")
    assert estimate_noise(r).df_run == 1  # 4 runs, 3 parameters: one degree of freedom
    df3 = synthetic_results_table(sizes=(1e6, 2e6, 4e6, 8e6), seeds=1, n_checkpoints=5, seed=2)
    from rerankscale.scaling import ChinchillaLaw

    joint = fit_law(df3, ChinchillaLaw(), y="ndcg@10", grid="coarse")
    with pytest.raises(NoiseNotEstimable, match="4 runs"):
        estimate_noise(joint)


def test_sigma_draws_follow_the_scaled_inverse_chi_square():
    noise = NoiseModel(sigma_run=0.1, df_run=5, sigma_pt=0.0, df_pt=0, source="seeds")
    s = noise.draw(np.random.default_rng(0), 200_000)
    assert (s[:, 1] == 0).all()
    # E[σ*²] = s²·df/(df − 2)
    assert np.mean(s[:, 0] ** 2) == pytest.approx(0.01 * 5 / 3, rel=0.03)


def test_parametric_bootstrap_is_deterministic_and_wide_enough():
    table = synthetic_results_table(
        sizes=(1e6, 2e6, 4e6, 8e6), objectives=("listwise",), seeds=1, n_checkpoints=3, seed=3
    )
    r = fit_law(
        select_rows(table, "final"), SaturatingLaw(), y="ndcg@10", x="n_params", grid="coarse"
    )
    a = parametric_bootstrap(r, n_boot=60, seed=1)
    b = parametric_bootstrap(r, n_boot=60, seed=1)
    np.testing.assert_array_equal(a.thetas, b.thetas)
    assert a.method == "parametric bootstrap" and a.usable.mean() > 0.9
    iv = a.predict_interval([16e6, 32e6], metric=True)
    assert ((iv["lo"] < iv["prediction"]) & (iv["prediction"] < iv["hi"])).all()
    assert (iv["hi"] - iv["lo"]).min() > 0.01  # one residual degree of freedom: wide


def test_coverage_is_not_absurd_in_a_small_simulation():
    for design in DESIGNS:
        r = simulate_coverage(design, n_sims=8, n_boot=25, seed=5)
        assert r["valid_share"] >= 0.8
        assert 0.7 <= r["coverage_pi"] <= 1.0, r
        assert 0.6 <= r["coverage"] <= 1.0, r
        assert r["median_width_pi"] > r["median_width"] > 0
        # interval half-widths in sd units against the forecasts' RMS error, per held-out size;
        # with one residual degree of freedom (4 × 1) the mean width is dominated by σ* draws
        # from a scaled inverse χ²₁, so only the design with seeds is held near 1
        ratios = r["spread_ratio"] + r["spread_ratio_pi"]
        assert len(ratios) == 4 and min(ratios) > 0, r
        if DESIGNS[design].seeds > 1:
            assert max(ratios) < 2.5, r


@pytest.mark.slow
def test_coverage_near_nominal():
    """Law and prediction intervals cover 90–97 % (± 2 Monte-Carlo errors) in both designs
    (200 simulated studies each: 4 sizes × 1 seed and 6 sizes × 3 seeds, docs/forecasting.md;
    the 6 × 3 over-coverage seen in 40 studies was Monte-Carlo noise)."""
    for design in ("4 sizes x 1 seed", "6 sizes x 3 seeds"):
        r = simulate_coverage(design, n_sims=120, n_boot=80, seed=11)
        assert r["valid_share"] >= 0.9
        for key in ("coverage", "coverage_pi"):
            se = r[f"{key}_mc_se"]
            assert 0.90 - 2 * se <= r[key] <= 0.97 + 2 * se, (key, r)
