"""Forecast methods compared (rerankscale.scaling.methods, twostage, link): each method
forecasts data drawn from its own law exactly; the link is monotone; the comparison table."""

import numpy as np
import pandas as pd
import pytest

from rerankscale.scaling import (
    LogErrorTransform,
    LogisticLink,
    PowerLaw,
    compare_methods,
    fit,
    fit_law,
    forecast_methods,
    summarize_methods,
    two_stage_split,
)

SIZES = (1e4, 2e4, 4e4, 8e4, 16e4, 32e4)
STEPS = (1, 2, 3, 4)
LINK = dict(a=0.7, b=0.1, k=2.5, x0=2.0)


def _u(n):
    return (n / 1e4) ** -0.4


def _ce(n, step):
    """CE falls in N (an exact power law at the final step) and along training."""
    return 1.0 + 2.0 * (n / 1e4) ** -0.3 + 0.4 * (STEPS[-1] - step)


def _table(metric_of, seeds=1):
    """Every size × step × seed, objective 'listwise', eval set 'dev'; ``metric_of(n, step)``
    gives NDCG@10 (no noise)."""
    rows = []
    for n in SIZES:
        for s in range(seeds):
            for step in STEPS:
                rows.append(
                    {
                        "run_id": f"{n:g}-s{s}",
                        "objective": "listwise",
                        "eval_set": "dev",
                        "seed": s,
                        "n_params": n,
                        "size": f"{n / 1e3:g}k",
                        "step": step,
                        "ndcg@10": metric_of(n, step),
                        "ce@24": _ce(n, step),
                    }
                )
    return pd.DataFrame(rows)


LAWS = {
    "saturating": lambda n, step: 0.8 - 0.5 * _u(n),
    "error": lambda n, step: 1.0 - (0.2 + 0.5 * _u(n)),
    "log": lambda n, step: np.exp(-(0.25 + 0.9 * _u(n))),
    "two-stage": lambda n, step: LinkTruth(_ce(n, step)),
}


def LinkTruth(ce):
    return LogisticLink().predict(LINK, np.atleast_1d(ce))[0]


@pytest.mark.parametrize("name", list(LAWS))
def test_each_method_forecasts_its_own_law_exactly(name):
    table = _table(LAWS[name], seeds=2)  # k = 3 sizes x 1 run cannot identify 3 parameters
    (method,) = [m for m in forecast_methods("ndcg@10", via="ce@24") if m.name == name]
    fc = compare_methods(table, [method], y="ndcg@10", holdout=2, n_boot=0, grid="coarse")
    hold = fc[fc.evaluation == "holdout"]
    assert sorted(hold["n_params"]) == [16e4, 32e4] and (hold["step"] == STEPS[-1]).all()
    roll = fc[fc.evaluation == "rollout"]
    # k = 3, 4, 5 smallest sizes fitted: 3 + 2 + 1 forecasts, every larger size
    assert len(roll) == 6 and sorted(set(roll["origin"])) == [3, 4, 5]
    truth = np.array([LAWS[name](n, STEPS[-1]) for n in fc["n_params"]])
    np.testing.assert_allclose(fc["actual"], truth, rtol=1e-12)
    np.testing.assert_allclose(fc["prediction"], truth, atol=2e-5)
    assert (fc["method"] == name).all() and fc["formula"].str.contains("N").all()


def test_log_method_recovers_its_parameters():
    table = _table(LAWS["log"])
    final = table[table.step == STEPS[-1]]
    r = fit_law(
        final, PowerLaw(), y="ndcg@10", x="n_params", transform=LogErrorTransform("ndcg@10")
    )
    assert r.target == "-ln(ndcg@10)" and r.status == "ok"
    assert r.params["E"] == pytest.approx(0.25, rel=1e-5)
    assert r.params["alpha"] == pytest.approx(0.4, rel=1e-5)
    assert r.params["A"] == pytest.approx(0.9 * 1e4**0.4, rel=1e-4)
    n = np.array([1e6, 1e9])
    np.testing.assert_allclose(r.predict_metric(n), LAWS["log"](n, 0), rtol=1e-5)
    assert (r.predict_metric(np.array([1e20])) < 1).all()  # bounded by the ceiling
    with pytest.raises(ValueError, match="error form"):
        fit_law(
            final, "saturating", y="ndcg@10", x="n_params", transform=LogErrorTransform("ndcg@10")
        )


def test_link_recovers_a_logistic_and_is_monotone():
    law = LogisticLink()
    x = np.linspace(1.0, 3.2, 40)
    r = fit(law, x, law.predict(LINK, x))
    assert r.status == "ok"
    for k, v in LINK.items():
        assert r.params[k] == pytest.approx(v, rel=1e-6)
    grid = np.geomspace(1e-3, 1e3, 2000)
    assert np.all(np.diff(r.predict(grid)) <= 0)
    assert r.predict(grid).max() <= 1.0 and r.predict(grid).min() >= 0.0
    rng = np.random.default_rng(0)
    for _ in range(200):  # monotone for any parameters inside the bounds
        lo, hi = np.array(law.bounds()).T
        theta = rng.uniform(lo, hi)
        y = law.predict_many(theta[None, :], np.log(grid)[:, None])[0]
        assert np.all(np.diff(y) <= 1e-15) and y.max() <= theta[0] + 1e-12
    # analytic Jacobian against finite differences (away from the bounds)
    U = np.log(x / 2.0)[:, None]
    theta = np.array([0.8, 0.3, 1.2, 1.0])
    g, J = law.log_model(theta, U)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-7
        np.testing.assert_allclose((law.log_model(theta + e, U)[0] - g) / 1e-7, J[:, i], atol=1e-5)


def test_two_stage_rows_and_intervals_on_noisy_runs():
    rng = np.random.default_rng(3)
    table = _table(LAWS["two-stage"], seeds=3)
    run = table["run_id"].map({r: rng.normal(0, 0.02) for r in table["run_id"].unique()})
    table["ce@24"] *= np.exp(run + rng.normal(0, 0.005, len(table)))
    table["ndcg@10"] = LinkTruth(table["ce@24"].to_numpy()) * np.exp(
        rng.normal(0, 0.01, len(table))
    )
    train, test = table[table.n_params <= 8e4], table[table.n_params > 8e4]
    rows, (loss, link), (b1, b2) = two_stage_split(
        train, test, PowerLaw(), y="ndcg@10", via="ce@24", x="n_params", n_boot=40, grid="coarse"
    )
    assert loss.n_points == 12 and link.n_points == 48  # final checkpoints / every checkpoint
    assert len(rows) == 2 and (rows["step"] == STEPS[-1]).all()
    assert (rows["law"] == "power → logistic_link").all()
    assert (rows["target"] == "ce@24 → ndcg@10").all()
    assert (rows["interval_method"] == "run bootstrap").all() and b1.n_boot == b2.n_boot == 40
    assert (rows["interval_status"] == "ok").all()
    assert ((rows["lo"] <= rows["prediction"]) & (rows["prediction"] <= rows["hi"])).all()
    assert ((rows["pi_hi"] - rows["pi_lo"]) > (rows["hi"] - rows["lo"])).all()
    assert (rows["abs_error"] < 0.05).all()
    expect = link.predict(loss.predict(rows["n_params"].to_numpy()))
    np.testing.assert_allclose(rows["prediction"], expect)


def test_summary_ranks_methods_per_evaluation():
    table = _table(LAWS["error"], seeds=2)
    fc = compare_methods(
        table, forecast_methods("ndcg@10", "ce@24"), y="ndcg@10", n_boot=0, grid="coarse"
    )
    s = summarize_methods(fc)
    assert list(s["evaluation"]) == ["holdout"] * 4 + ["rollout"] * 4
    assert list(s["method"][:4]) == ["saturating", "error", "log", "two-stage"]
    assert {"mae", "rmse", "bias", "coverage", "coverage_pi", "rank", "formula"} <= set(s.columns)
    assert (s["n"] == np.repeat([2, 6], 4)).all()
    hold = s[s.evaluation == "holdout"].set_index("method")
    # on one input the saturating law is the error law's family: both recover the truth (their
    # order is a tie at rounding level) and rank above the two that do not contain it
    exact = hold.loc[["saturating", "error"]]
    assert (exact["mae"] < 1e-5).all() and sorted(exact["rank"]) == [1, 2]


def test_no_forecasts_summarize_to_an_empty_table_with_the_columns():
    """A study with three sizes and none held out has nothing to compare (no hold-out, no
    larger size in the rollout): the summary is empty, not an error."""
    from rerankscale.scaling.methods import summarize_methods

    out = summarize_methods(pd.DataFrame(), by=["evaluation", "eval_set"])
    assert out.empty and {"evaluation", "eval_set", "method", "mae", "rank"} <= set(out.columns)
