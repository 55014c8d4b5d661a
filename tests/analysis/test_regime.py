"""T7's regime checks on hand-made results tables whose answers are known."""

import numpy as np
import pandas as pd
import pytest

from rerankscale.scaling import regime

SIZES = {"10k": 1e4, "40k": 4e4, "160k": 1.6e5}
QUERIES = [256, 512, 1024, 2048, 4096]


def table(curve) -> pd.DataFrame:
    """Two seeds (±0.01 around ``curve(n, d)``) per size × checkpoint, one eval set."""
    rows = []
    for size, n in SIZES.items():
        for d in QUERIES:
            for seed, noise in ((0, -0.01), (1, 0.01)):
                rows.append(
                    {
                        "eval_set": "dev",
                        "objective": "listwise",
                        "size": size,
                        "n_params": n,
                        "queries_seen": d,
                        "seed": seed,
                        "ndcg@10": curve(n, d) + noise,
                    }
                )
    return pd.DataFrame(rows)


def law(n, d):
    return 0.9 - 2.0 * n**-0.2 - 3.0 * d**-0.4


def test_a_study_in_the_regime_passes_every_check():
    t = table(law)
    out = regime.summary(t, {"dev": 0.3})
    assert out["passed"].tolist() == out["units"].tolist() == [3, 3, 3]
    fit = regime.power_law_regime(t)
    assert (fit["r2"] > 0.99).all() and (fit["slope_late"] < fit["slope_early"]).all()
    assert regime.seed_means(t)["y"].iloc[0] == pytest.approx(law(1e4, 256))


def test_below_the_first_stage_at_the_second_checkpoint_fails():
    out = regime.above_first_stage(table(law), {"dev": law(1e4, 512) + 0.001})
    small = out[out["size"] == "10k"].iloc[0]
    assert not small["ok"] and small["margin"] == pytest.approx(-0.001)
    assert out[out["size"] != "10k"]["ok"].all()


def test_a_late_take_off_is_convex_and_fails():
    out = regime.power_law_regime(table(lambda n, d: 0.2 + 1e-8 * d**2 + 1e-6 * n))
    assert not out["ok"].any() and (out["slope_late"] > out["slope_early"]).all()


def test_a_larger_model_worse_at_one_checkpoint_breaks_monotonicity():
    def swapped(n, d):
        return law(1e4 if n == 1.6e5 else n, d) - (0.001 if n == 1.6e5 and d == 4096 else 0)

    out = regime.monotone_in_size(table(swapped))
    assert out["queries_seen"].tolist() == [1024, 2048, 4096]  # from the middle on
    assert out["ok"].tolist() == [False, False, False]
    assert out["worst_pair"].iloc[-1] == "40k→160k" and out["min_step"].iloc[-1] < 0
    assert np.isfinite(out["min_step"]).all()


def test_a_grid_too_short_to_fit_is_summarised_not_crashed():
    """Three checkpoints (the smoke preset): every fit is degenerate, R² is missing."""
    short = table(law)
    short = short[short["queries_seen"] <= 1024]
    assert regime.power_law_regime(short)["r2"].isna().all()
    out = regime.summary(short, {"dev": 0.3}).set_index("check")
    fits = out.loc["power-law regime (R² ≥ 0.9, not convex, span ≥ 16×)"]
    assert fits["passed"] == 0 and np.isnan(fits["worst_value"])
    assert fits["worst_unit"] == "none: no unit has a r2"
    assert out["passed"].iloc[0] == 3  # the other checks still report


def test_an_objective_trained_at_one_size_has_nothing_to_order():
    """A group with one size (a partial grid) is skipped by the monotonicity check, not a crash."""
    t = table(law)
    one = t[t["size"] == "40k"].assign(objective="pointwise")
    out = regime.monotone_in_size(pd.concat([t, one]))
    assert set(out["objective"]) == {"listwise"} and out["ok"].all()
    assert regime.summary(pd.concat([t, one]), {"dev": 0.3})["units"].tolist() == [4, 4, 3]
