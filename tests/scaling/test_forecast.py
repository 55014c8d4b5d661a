"""Forecast checks (rerankscale.scaling.forecast): hold-out, rolling origin, comparisons."""

import numpy as np
import pandas as pd
import pytest

from rerankscale.scaling import (
    ChinchillaLaw,
    PowerLaw,
    SaturatingLaw,
    compare_laws,
    forecast_holdout,
    forecast_split,
    rolling_backtest,
    select_rows,
    summarize_forecasts,
    synthetic_results_table,
)


def test_holdout_forecasts_the_largest_sizes_at_their_exposures(table):
    fc, fits = forecast_holdout(
        table,
        ChinchillaLaw(),
        y=["ndcg@10", "ce@64"],
        holdout=2,
        n_boot=30,
        grid="coarse",
        return_fits=True,
    )
    assert set(fc["size"]) == {"16m", "32m"}
    assert (fc["fit_sizes"] == "1m,2m,4m,8m").all()
    # one row per (objective, eval set, metric, held-out size, checkpoint), seeds averaged
    assert len(fc) == 2 * 2 * 2 * 6 and (fc["n_seeds"] == 2).all()
    for col in (
        "prediction",
        "lo",
        "hi",
        "actual",
        "error",
        "abs_error",
        "bias",
        "covered",
        "pi_lo",
        "pi_hi",
        "covered_pi",
        "fit_status",
        "n_boot_ok",
        "pairs_seen",
    ):
        assert col in fc.columns
    np.testing.assert_allclose(fc["error"], fc["prediction"] - fc["actual"])
    np.testing.assert_allclose(fc["bias"], fc["actual"] - fc["prediction"])
    np.testing.assert_allclose(fc["abs_error"], np.abs(fc["error"]))
    assert ((fc["lo"] <= fc["prediction"]) & (fc["prediction"] <= fc["hi"])).all()
    assert (fc["pi_hi"] - fc["pi_lo"]).mean() >= (fc["hi"] - fc["lo"]).mean()  # adds run noise
    cov = (fc["lo"] <= fc["actual"]) & (fc["actual"] <= fc["hi"])
    assert (fc["covered"].astype(bool) == cov).all()
    # actual is the seed mean at that checkpoint
    row = fc[(fc.objective == "listwise") & (fc.metric == "ndcg@10") & (fc["size"] == "32m")].iloc[
        -1
    ]
    raw = table[
        (table.objective == "listwise") & (table["size"] == "32m") & (table.step == row["step"])
    ]
    assert row["actual"] == pytest.approx(raw["ndcg@10"].mean())
    assert (fc["abs_error"] / fc["actual"]).max() < 0.05
    r, b = fits[("listwise", "synthetic-dev", "ndcg@10")]
    assert r.status == "ok" and b.n_boot == 30
    assert set(fc[fc.metric == "ce@64"]["target"]) == {"ce@64"}


def test_holdout_by_label_and_final_checkpoints(table):
    fc = forecast_holdout(
        table,
        PowerLaw(),
        y="ndcg@10",
        x="n_params",
        select="final",
        holdout=["32m"],
        n_boot=0,
        grid="coarse",
    )
    assert len(fc) == 2 and set(fc["size"]) == {"32m"}
    assert fc["lo"].isna().all() and fc["prediction"].notna().all()
    with pytest.raises(ValueError, match="does not name"):
        forecast_holdout(table, PowerLaw(), y="ndcg@10", x="n_params", holdout=["3b"])
    with pytest.raises(ValueError, match="holdout=6"):
        forecast_holdout(table, PowerLaw(), y="ndcg@10", x="n_params", holdout=6)


def test_degenerate_fit_is_reported_in_the_rows(table):
    fc = forecast_holdout(
        table, PowerLaw(), y="ndcg@10", x="n_params", select="final", holdout=4, n_boot=10
    )
    assert (fc["fit_status"] == "degenerate").all()
    assert fc["prediction"].isna().all() and len(fc) == 2 * 4
    s = summarize_forecasts(fc)
    assert (s["n_failed"] == 1).all() and (s["n"] == 0).all()


def test_rolling_origin_backtest(table):
    rb = rolling_backtest(
        table, PowerLaw(), y="ndcg@10", x="n_params", select="final", n_boot=20, grid="coarse"
    )
    assert sorted(rb["origin"].unique()) == [3, 4, 5]
    for k, test_size, last_fit in ((3, "8m", "4m"), (4, "16m", "8m"), (5, "32m", "16m")):
        part = rb[rb.origin == k]
        assert set(part["size"]) == {test_size} and set(part["fit_up_to"]) == {last_fit}
    assert (rb["fit_status"] == "ok").all()
    with pytest.raises(ValueError, match="law in N"):
        rolling_backtest(table, PowerLaw(), y="ndcg@10", x="pairs_seen")


def test_summaries_and_law_comparison():
    fc = pd.DataFrame(
        dict(
            objective="o",
            eval_set="e",
            metric="m",
            size=["a", "a", "b", "a", "a", "b"],
            law=["p", "p", "p", "q", "q", "q"],
            prediction=[1.0, 2.0, 3.0, 1.5, 2.0, 3.5],
            actual=[1.5, 2.0, 2.0, 1.5, 2.0, 3.0],
            covered=[1.0, 0.0, 1.0, 1.0, 1.0, 1.0],
            covered_pi=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        )
    )
    fc["error"] = fc["prediction"] - fc["actual"]
    fc["bias"] = -fc["error"]
    s = summarize_forecasts(fc).set_index(["law", "size"])
    assert s.loc[("p", "a"), "mae"] == pytest.approx(0.25)
    assert s.loc[("p", "a"), "rmse"] == pytest.approx(np.sqrt(0.125))
    assert s.loc[("p", "a"), "bias"] == pytest.approx(0.25)
    assert s.loc[("p", "a"), "coverage"] == pytest.approx(0.5)
    c = compare_laws(fc)
    assert list(c["law"]) == ["q", "p"]  # q: MAE 1/6; p: MAE 0.5
    assert c.loc[0, "mae"] == pytest.approx(1 / 6) and c.loc[0, "rank"] == 1


def test_compare_forms_on_a_saturating_truth(table):
    fin = select_rows(table, "final")
    parts = [
        forecast_holdout(fin, law, y="ndcg@10", x="n_params", holdout=2, n_boot=0, grid="coarse")
        for law in (PowerLaw(), SaturatingLaw())
    ]
    c = compare_laws(pd.concat(parts, ignore_index=True))
    assert set(c["law"]) == {"power", "saturating"} and c["mae"].notna().all()


def test_split_without_seed_averaging_and_select(table):
    train = table[table.n_params < 16e6]
    test = table[table.n_params == 16e6]
    rows, r, b = forecast_split(
        train, test, ChinchillaLaw(), y="ndcg@10", n_boot=0, average_seeds=False, grid="coarse"
    )
    assert len(rows) == len(test) and b is None and r.status == "ok"
    assert len(select_rows(table, 2)) == 2 * table["run_id"].nunique()
    assert len(select_rows(table, lambda d: d.head(3))) == 3
    with pytest.raises(ValueError, match="select"):
        select_rows(table, "last")


def test_one_seed_per_size_never_reports_a_degenerate_interval_as_ok():
    """The paper's design (4 fitted sizes × 1 seed): resampling runs leaves most replicates
    with < 4 distinct sizes, so the interval collapses; it must say so, and not count."""
    one_seed = synthetic_results_table(
        sizes=(1e6, 2e6, 4e6, 8e6, 16e6, 32e6),
        objectives=("listwise",),
        seeds=1,
        n_checkpoints=4,
        seed=3,
    )
    fc = forecast_holdout(
        one_seed,
        SaturatingLaw(),
        y="ndcg@10",
        holdout=2,
        select="final",
        x="n_params",
        n_boot=100,
        grid="coarse",
        interval="run",
    )
    assert len(fc) > 0
    assert not (fc["interval_status"] == "ok").any()
    assert fc["interval_status"].str.startswith("invalid").all()
    assert fc["covered"].isna().all() and (fc["interval_method"] == "run bootstrap").all()
    summary = summarize_forecasts(fc)
    assert (summary["n_valid_intervals"] == 0).all() and summary["coverage"].isna().all()
    # the default falls back to the parametric bootstrap, named, with a real width
    auto = forecast_holdout(
        one_seed,
        SaturatingLaw(),
        y="ndcg@10",
        holdout=2,
        select="final",
        x="n_params",
        n_boot=100,
        grid="coarse",
    )
    assert (auto["interval_method"] == "parametric bootstrap").all()
    assert auto["interval_note"].str.contains("1 run").all()
    assert (auto["interval_status"] == "ok").all() and auto["covered"].notna().all()
    assert ((auto["lo"] < auto["prediction"]) & (auto["prediction"] < auto["hi"])).all()
    assert ((auto["pi_hi"] - auto["pi_lo"]) > (auto["hi"] - auto["lo"])).all()
    three = synthetic_results_table(
        sizes=(1e6, 2e6, 4e6, 8e6, 16e6, 32e6),
        objectives=("listwise",),
        seeds=3,
        n_checkpoints=4,
        seed=3,
    )
    fc3 = forecast_holdout(
        three,
        SaturatingLaw(),
        y="ndcg@10",
        holdout=2,
        select="final",
        x="n_params",
        n_boot=100,
        grid="coarse",
    )
    assert (fc3["interval_status"] == "ok").all() and (
        fc3["interval_method"] == "run bootstrap"
    ).all()
    assert ((fc3["hi"] - fc3["lo"]) > 0).all() and fc3["covered"].notna().all()


def test_no_interval_when_the_noise_cannot_be_measured():
    """A joint law (5 parameters) on 4 sizes × 1 seed: no seeds and fewer runs than
    parameters, so neither bootstrap can make an interval, and the row says why."""
    one_seed = synthetic_results_table(
        sizes=(1e6, 2e6, 4e6, 8e6, 16e6), seeds=1, n_checkpoints=5, seed=1
    )
    fc = forecast_holdout(
        one_seed, ChinchillaLaw(), y="ndcg@10", holdout=1, n_boot=20, grid="coarse"
    )
    assert fc["prediction"].notna().all() and fc["lo"].isna().all()
    assert fc["interval_status"].str.contains("run-to-run spread not estimable").all()
    assert fc["covered"].isna().all()
