"""The lean L-BFGS-B driver (``scaling.optimize``) is scipy's: same iterates, same bits, alone
or in lockstep.

``optimize.minimize_many`` runs scipy's compiled L-BFGS-B routine in its own copy of scipy's
driver loop, without ``minimize``'s wrappers, and runs many starts or problems in lockstep with
one vectorised objective evaluation per round (the analysis notebooks' fits are dominated by the
per-evaluation overhead). Every committed table depends on those fits bit for bit, so the lean
driver must give exactly what ``scipy.optimize.minimize`` gives from the same start, and a
problem solved in a batch exactly what it gives alone."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

from rerankscale import scaling as sc

fitmod = importlib.import_module("rerankscale.scaling.fit")
opt = importlib.import_module("rerankscale.scaling.optimize")


def _problems():
    rng = np.random.default_rng(7)
    n = np.array([1e4, 2.3e4, 5.3e4, 1.2e5, 2.8e5, 6.4e5])
    d = np.array([256, 512, 1024, 2048, 4096])
    # saturating law in one input (5 points, like T7's curves), noisy
    x = np.repeat(n[:5], 3)
    y = 0.8 - 0.5 * (x / 1e4) ** -0.3 + rng.normal(0, 0.02, len(x))
    yield sc.SaturatingLaw(), (x,), y
    # a flat-ish curve whose optimum sits on a bound
    y2 = 0.45 + rng.normal(0, 0.01, 5)
    yield sc.SaturatingLaw(), (d.astype(float),), y2
    # Chinchilla's joint law on an error
    N, D = (a.ravel() for a in np.meshgrid(n[:4], d, indexing="ij"))
    L = 0.2 + 3.0 * N**-0.3 + 2.0 * D**-0.25
    yield sc.ChinchillaLaw(), (N, D), L * np.exp(rng.normal(0, 0.03, len(L)))
    yield sc.PowerLaw(), (x,), 1.5 * x**-0.1 * np.exp(rng.normal(0, 0.02, len(x)))


@pytest.mark.parametrize("case", range(4))
def test_lean_driver_is_bit_identical_to_minimize(case):
    law, inputs, y = list(_problems())[case]
    logX = np.log(np.column_stack(inputs))
    x0c = 0.5 * (logX.min(axis=0) + logX.max(axis=0))
    U = logX - x0c
    obj = opt.HuberLogObjective(law, U, y, np.ones_like(y), 1e-3)
    bounds = law.bounds()
    lo, hi = np.array(bounds, dtype=float).T
    starts = law.start_grid(U, y, "coarse")
    assert opt._lbfgsb is not None, "this scipy has no compiled L-BFGS-B routine to drive"
    for s in starts:
        x0 = np.clip(s, lo, hi)
        x, nit, msg = opt.lbfgsb(obj, x0, lo, hi, 2000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = minimize(
                obj,
                x0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options=dict(maxiter=2000, ftol=1e-15, gtol=opt.GTOL, maxcor=opt.MAXCOR),
            )
        assert x.tobytes() == np.asarray(ref.x, dtype=float).tobytes()
        assert nit == ref.nit and msg == ref.message


def test_lean_driver_stops_at_maxiter_like_minimize():
    law, inputs, y = next(_problems())
    logX = np.log(np.column_stack(inputs))
    U = logX - 0.5 * (logX.min(axis=0) + logX.max(axis=0))
    obj = opt.HuberLogObjective(law, U, y, np.ones_like(y), 1e-3)
    lo, hi = np.array(law.bounds(), dtype=float).T
    x0 = law.start_grid(U, y, "coarse")[0]
    x, nit, msg = opt.lbfgsb(obj, x0, lo, hi, 3)
    ref = minimize(
        obj, x0, jac=True, method="L-BFGS-B", bounds=law.bounds(),
        options=dict(maxiter=3, ftol=1e-15, gtol=opt.GTOL, maxcor=opt.MAXCOR),
    )  # fmt: skip
    assert nit == ref.nit == 3 and msg == ref.message
    assert x.tobytes() == ref.x.tobytes()


@pytest.mark.parametrize("case", range(4))
def test_lockstep_runs_are_bit_identical_to_single_runs(case):
    """Every start of the coarse grid run together (``lbfgsb_many``) ends where it ends alone."""
    law, inputs, y = list(_problems())[case]
    logX = np.log(np.column_stack(inputs))
    U = logX - 0.5 * (logX.min(axis=0) + logX.max(axis=0))
    obj = opt.HuberLogObjective(law, U, y, np.ones_like(y), 1e-3)
    lo, hi = np.array(law.bounds(), dtype=float).T
    starts = np.clip(law.start_grid(U, y, "coarse"), lo, hi)
    together = opt.lbfgsb_many(lambda X, j: obj.evaluate(X, 0 * j), starts, lo, hi, 2000)
    assert len(starts) >= 12
    for x0, (x, nit, msg) in zip(starts, together):
        alone = opt.lbfgsb(obj, x0, lo, hi, 2000)
        assert x.tobytes() == alone[0].tobytes() and (nit, msg) == alone[1:]


def test_a_bootstrap_refit_in_a_batch_equals_the_refit_alone():
    """``refit_many`` over 30 weight vectors (and over 30 target vectors) gives each problem's
    ``refit`` / single-problem result bit for bit, statuses and losses included."""
    law, inputs, y = list(_problems())[2]  # the joint law: 5 parameters, 20 points
    full = sc.fit(law, inputs, y, grid="coarse")
    rng = np.random.default_rng(0)
    W = rng.poisson(1.0, (30, len(y))).astype(float)
    W[:, 0] += 1.0  # never all zero
    batch = fitmod.refit_many(full, weights=W)
    for w, r in zip(W, batch):
        alone = fitmod.refit(full, w)
        assert r.theta.tobytes() == alone.theta.tobytes()
        assert (r.status, r.loss, r.nit) == (alone.status, alone.loss, alone.nit)
    Y = y * np.exp(rng.normal(0, 0.02, (30, len(y))))
    batch = fitmod.refit_many(full, targets=Y, start=full.theta)
    for t, r in zip(Y, batch):
        alone = fitmod.refit_many(full, targets=t[None, :], start=full.theta)[0]
        assert r.theta.tobytes() == alone.theta.tobytes() and r.loss == alone.loss
        assert r.status == alone.status
