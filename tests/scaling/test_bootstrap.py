"""Cluster bootstrap over runs (rerankscale.scaling.bootstrap), including a coverage simulation."""

import numpy as np
import pytest

import rerankscale.scaling.bootstrap as bootstrap_module
from rerankscale.scaling import (
    ChinchillaLaw,
    PowerLaw,
    bootstrap_fit,
    fit,
    fit_law,
    synthetic_results_table,
)


@pytest.fixture(scope="module")
def joint_fit():
    df = synthetic_results_table(sizes=(1e6, 2e6, 4e6, 8e6, 16e6), seeds=3, n_checkpoints=8, seed=2)
    return fit_law(df, ChinchillaLaw(), y="ndcg@10", grid="coarse")


def test_deterministic_for_a_seed(joint_fit):
    a = bootstrap_fit(joint_fit, n_boot=20, seed=5)
    b = bootstrap_fit(joint_fit, n_boot=20, seed=5)
    c = bootstrap_fit(joint_fit, n_boot=20, seed=6)
    np.testing.assert_array_equal(a.thetas, b.thetas)
    assert not np.allclose(a.thetas, c.thetas)


def test_resamples_whole_runs_never_checkpoints(joint_fit, monkeypatch):
    seen = []
    real = bootstrap_module.refit_many

    def spy(result, weights, **kw):  # one row of multiplicities per replicate
        seen.extend(np.asarray(weights).copy())
        return real(result, weights=weights, **kw)

    monkeypatch.setattr(bootstrap_module, "refit_many", spy)
    b = bootstrap_fit(joint_fit, n_boot=10, seed=0)
    runs = joint_fit.data["run_id"].to_numpy()
    assert len(seen) == 10 and b.n_units == len(np.unique(runs)) == 15
    for w in seen:
        assert np.all(w == np.round(w))  # multiplicities
        for run in np.unique(runs):
            assert len(np.unique(w[runs == run])) == 1  # a run is drawn whole or not at all
        per_run = [w[runs == run][0] for run in np.unique(runs)]
        assert sum(per_run) == 15  # as many draws as runs


def test_strata_keep_each_stratum_size(joint_fit, monkeypatch):
    seen = []
    real = bootstrap_module.refit_many
    monkeypatch.setattr(
        bootstrap_module,
        "refit_many",
        lambda r, weights, **kw: (
            seen.extend(np.asarray(weights).copy()) or real(r, weights=weights, **kw)
        ),
    )
    bootstrap_fit(joint_fit, n_boot=5, seed=0, strata="n_params")
    data = joint_fit.data
    for w in seen:
        for n in data["n_params"].unique():
            m = (data["n_params"] == n).to_numpy()
            per_run = data[m].assign(w=w[m]).groupby("run_id")["w"].first()
            assert per_run.sum() == 3  # 3 seeds per size, 3 draws per size
    with pytest.raises(ValueError, match="strata"):
        bootstrap_fit(joint_fit, n_boot=2, strata="step")  # not constant within a run


def test_intervals_covariance_and_draws(joint_fit):
    b = bootstrap_fit(joint_fit, n_boot=60, seed=1)
    assert b.n_boot == 60 and b.n_excluded == sum(
        v for k, v in b.status_counts().items() if k not in ("ok", "on_bound")
    )
    pi = b.param_intervals().set_index("param")
    assert list(pi.index) == list(joint_fit.law.param_names)
    assert np.all(pi["lo"] <= pi["hi"]) and np.all(pi["se"] > 0)
    assert pi.loc["alpha", "lo"] <= joint_fit.params["alpha"] <= pi.loc["alpha", "hi"]
    cov = b.cov()
    assert cov.shape == (5, 5) and np.allclose(cov, cov.T)
    d = b.draws
    assert list(d.columns) == ["replicate", *joint_fit.law.param_names, "status", "loss"]
    q = b.predict_interval([3.2e7], [2e5], metric=True)
    assert q.loc[0, "lo"] <= q.loc[0, "prediction"] <= q.loc[0, "hi"]
    e = b.predict_interval([3.2e7], [2e5])  # on the error scale: 1 − metric
    assert e.loc[0, "lo"] == pytest.approx(1 - q.loc[0, "hi"])
    assert b.predict([1e6, 2e6], [1e4, 1e4]).shape == (int(b.usable.sum()), 2)


def test_refuses_what_it_cannot_bootstrap(joint_fit):
    degenerate = fit(PowerLaw(), np.array([1e6, 2e6, 4e6]), np.array([0.5, 0.4, 0.3]))
    with pytest.raises(ValueError, match="degenerate"):
        bootstrap_fit(degenerate, n_boot=2)
    plain = fit(PowerLaw(), np.geomspace(1e6, 1e8, 10), np.linspace(0.6, 0.4, 10), grid="coarse")
    with pytest.raises(ValueError, match="groups"):
        bootstrap_fit(plain, n_boot=2)  # no table rows, no run_id
    with pytest.raises(ValueError, match="group labels"):
        bootstrap_fit(plain, groups=np.arange(3), n_boot=2)


# --------------------------------------------------------------------------- coverage

TRUTH = dict(E=0.3, A=0.5, alpha=0.5)  # in units of N / 1e6
SIZES = np.array([1, 2, 4, 8, 16, 32.0])
N_FORECAST = 64.0


def _study(rng, seeds=3, checkpoints=10, run_sigma=0.03, point_sigma=0.005):
    """A model-size study: 6 sizes × 3 seeds, 10 late checkpoints per run pooled (as the paper
    pools its last 10). A run effect u_r shifts all checkpoints of a run together."""
    n = np.repeat(SIZES, seeds)
    u = rng.normal(0, run_sigma, len(n))
    N = np.repeat(n, checkpoints)
    runs = np.repeat(np.arange(len(n)), checkpoints)
    y = (TRUTH["E"] + TRUTH["A"] * N ** -TRUTH["alpha"]) * np.exp(
        np.repeat(u, checkpoints) + rng.normal(0, point_sigma, len(N))
    )
    return N, y, runs


def _coverage(n_studies, n_boot, seed=123):
    rng = np.random.default_rng(seed)
    truth_at = TRUTH["E"] + TRUTH["A"] * N_FORECAST ** -TRUTH["alpha"]
    hits = {"run": [], "checkpoint": []}
    hits_alpha = {"run": [], "checkpoint": []}
    for s in range(n_studies):
        N, y, runs = _study(rng)
        r = fit(PowerLaw(), N, y, grid="coarse")
        assert r.converged
        for mode, groups in (("run", runs), ("checkpoint", np.arange(len(y)))):
            b = bootstrap_fit(r, groups=groups, n_boot=n_boot, seed=s)
            q = b.predict_interval([N_FORECAST])
            hits[mode].append(q.loc[0, "lo"] <= truth_at <= q.loc[0, "hi"])
            a = b.param_intervals().set_index("param").loc["alpha"]
            hits_alpha[mode].append(a["lo"] <= TRUTH["alpha"] <= a["hi"])
    return (
        {k: float(np.mean(v)) for k, v in hits.items()},
        {k: float(np.mean(v)) for k, v in hits_alpha.items()},
    )


def test_run_bootstrap_covers_and_checkpoint_bootstrap_does_not_small():
    """Small version of the coverage simulation (16 studies × 80 replicates): 95% intervals
    from resampling runs cover the forecast at 2× the largest size in ≥ 85% of studies;
    resampling checkpoints (the authors' mistake) covers far less."""
    pred, alpha = _coverage(16, 80)
    assert pred["run"] >= 0.85 and alpha["run"] >= 0.85
    assert pred["checkpoint"] <= 0.75
    assert pred["run"] - pred["checkpoint"] >= 0.2


@pytest.mark.slow
def test_run_bootstrap_reaches_nominal_coverage():
    """100 simulated studies × 200 replicates: ≥ 90% of the 95% intervals over runs cover the
    true forecast and the true exponent; checkpoint resampling under-covers (≤ 75%)."""
    pred, alpha = _coverage(100, 200)
    assert pred["run"] >= 0.90 and alpha["run"] >= 0.90
    assert pred["checkpoint"] <= 0.75 and alpha["checkpoint"] <= 0.80
