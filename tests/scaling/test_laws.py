"""Functional forms (rerankscale.scaling.laws): formulas, gradients, parametrisations, bounds."""

import numpy as np
import pytest

from rerankscale.scaling import (
    LAWS,
    ChinchillaLaw,
    JointSaturatingLaw,
    KaplanLaw,
    PowerLaw,
    SaturatingLaw,
    get_law,
)

N = np.geomspace(1e6, 1e9, 7)
D = np.geomspace(1e3, 1e6, 7)

CASES = [
    (PowerLaw(), dict(E=0.4, A=30.0, alpha=0.3), lambda p, x: p["E"] + p["A"] * x ** -p["alpha"]),
    (PowerLaw(irreducible=False), dict(A=30.0, alpha=0.3), lambda p, x: p["A"] * x ** -p["alpha"]),
    (SaturatingLaw(), dict(a=0.45, b=-20.0, c=-0.3), lambda p, x: p["a"] + p["b"] * x ** p["c"]),
    (
        ChinchillaLaw(),
        dict(E=0.4, A=30.0, alpha=0.35, B=2.0, beta=0.3),
        lambda p, n, d: p["E"] + p["A"] * n ** -p["alpha"] + p["B"] * d ** -p["beta"],
    ),
    (
        JointSaturatingLaw(),
        dict(a=0.6, b=-10.0, c=-0.3, d=-2.0, e=-0.3),
        lambda p, n, d: p["a"] + p["b"] * n ** p["c"] + p["d"] * d ** p["e"],
    ),
    (
        KaplanLaw(),
        dict(E=0.3, N_c=1e5, alpha=0.3, D_c=100.0, beta=0.4),
        lambda p, n, d: (
            ((p["N_c"] / n) ** (p["alpha"] / p["beta"]) + p["D_c"] / d) ** p["beta"] + p["E"]
        ),
    ),
    (
        KaplanLaw(irreducible=False),
        dict(N_c=1e5, alpha=0.3, D_c=100.0, beta=0.4),
        lambda p, n, d: ((p["N_c"] / n) ** (p["alpha"] / p["beta"]) + p["D_c"] / d) ** p["beta"],
    ),
]
IDS = [f"{law.name}{'' if getattr(law, 'irreducible', True) else '-noE'}" for law, _, _ in CASES]


def _inputs(law):
    return (N,) if len(law.inputs) == 1 else (N, D)


@pytest.mark.parametrize("law,params,formula", CASES, ids=IDS)
def test_predict_matches_the_formula(law, params, formula):
    X = _inputs(law)
    np.testing.assert_allclose(law.predict(params, *X), formula(params, *X), rtol=1e-12)
    assert tuple(params) == law.param_names
    assert law.formula and law.reference and law.__doc__


@pytest.mark.parametrize("law,params,formula", CASES, ids=IDS)
def test_parametrisation_round_trips_and_centring_is_exact(law, params, formula):
    theta = law.theta_from_params(params)
    assert law.params(theta) == pytest.approx(params, rel=1e-12)
    logX = np.log(np.column_stack(_inputs(law)))
    log_x0 = logX.mean(axis=0)
    theta_c = law.center(theta, log_x0)
    np.testing.assert_allclose(law.uncenter(theta_c, log_x0), theta, rtol=1e-12)
    g, _ = law.log_model(theta_c, logX - log_x0, floor=1e-6)
    np.testing.assert_allclose(np.exp(g), formula(params, *_inputs(law)), rtol=1e-10)


@pytest.mark.parametrize("law,params,formula", CASES, ids=IDS)
def test_analytic_jacobian_matches_finite_differences(law, params, formula):
    logX = np.log(np.column_stack(_inputs(law)))
    U = logX - logX.mean(axis=0)
    theta = law.center(law.theta_from_params(params), logX.mean(axis=0))
    _, J = law.log_model(theta, U, floor=1e-6)
    eps = 1e-6
    for i in range(law.n_params):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += eps
        tm[i] -= eps
        fd = (law.log_model(tp, U, 1e-6)[0] - law.log_model(tm, U, 1e-6)[0]) / (2 * eps)
        np.testing.assert_allclose(J[:, i], fd, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("law,params,formula", CASES, ids=IDS)
def test_start_grid_is_inside_bounds(law, params, formula):
    X = _inputs(law)
    y = formula(params, *X)
    U = np.log(np.column_stack(X))
    for size in ("coarse", "full"):
        grid = law.start_grid(U - U.mean(axis=0), y, size)
        lo, hi = np.array(law.bounds()).T
        assert grid.shape[1] == law.n_params and len(grid) > 1
        assert np.all(grid >= lo) and np.all(grid <= hi)
    assert len(law.start_grid(U, y, "full")) > len(law.start_grid(U, y, "coarse"))


def test_saturating_ceiling_bounds_the_asymptote():
    law = SaturatingLaw(ceiling=0.66)
    assert law.bounds()[0] == (0.0, 0.66)
    assert JointSaturatingLaw(ceiling=0.5).bounds()[0] == (0.0, 0.5)
    with pytest.raises(ValueError, match="ceiling"):
        law.start_grid(np.zeros((3, 1)), np.array([0.5, 0.6, 0.7]))
    with pytest.raises(ValueError, match="positive"):
        SaturatingLaw(ceiling=0)
    with pytest.raises(ValueError, match="b < 0"):
        SaturatingLaw().theta_from_params(dict(a=0.5, b=1.0, c=-0.3))
    # exponents bounded like the paper's c ∈ [−5, 0]
    assert PowerLaw().bounds()[2] == (0.0, 5.0)


def test_registry_and_errors():
    assert set(LAWS) == {
        "saturating",
        "joint_saturating",
        "power",
        "chinchilla",
        "kaplan",
        "logistic_link",
    }
    assert isinstance(get_law("chinchilla"), ChinchillaLaw)
    assert get_law("power", irreducible=False).param_names == ("A", "alpha")
    law = ChinchillaLaw()
    assert get_law(law) is law
    with pytest.raises(ValueError, match="unknown law"):
        get_law("nope")
    with pytest.raises(ValueError, match="positive"):
        PowerLaw().predict(dict(E=1, A=1, alpha=1), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="takes 2 inputs"):
        law.predict(dict(E=1, A=1, alpha=1, B=1, beta=1), N)
