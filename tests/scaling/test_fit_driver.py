"""The lean L-BFGS-B driver (``fit.lbfgsb``) is scipy's: same iterates, same bits.

``fit.minimize_from`` runs scipy's compiled L-BFGS-B routine in its own copy of scipy's driver
loop, without ``minimize``'s wrappers (the analysis notebooks' fits are dominated by that
per-evaluation overhead). Every committed table depends on those fits bit for bit, so the lean
driver must give exactly what ``scipy.optimize.minimize`` gives from the same start."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

from rerankscale import scaling as sc

fitmod = importlib.import_module("rerankscale.scaling.fit")


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
    obj = fitmod.HuberLogObjective(law, U, y, np.ones_like(y), 1e-3)
    bounds = law.bounds()
    lo, hi = np.array(bounds, dtype=float).T
    starts = law.start_grid(U, y, "coarse")
    assert fitmod._lbfgsb is not None, "this scipy has no compiled L-BFGS-B routine to drive"
    for s in starts:
        x0 = np.clip(s, lo, hi)
        x, nit, msg = fitmod.lbfgsb(obj, x0, lo, hi, 2000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = minimize(
                obj,
                x0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options=dict(maxiter=2000, ftol=1e-15, gtol=fitmod.GTOL, maxcor=fitmod.MAXCOR),
            )
        assert x.tobytes() == np.asarray(ref.x, dtype=float).tobytes()
        assert nit == ref.nit and msg == ref.message


def test_lean_driver_stops_at_maxiter_like_minimize():
    law, inputs, y = next(_problems())
    logX = np.log(np.column_stack(inputs))
    U = logX - 0.5 * (logX.min(axis=0) + logX.max(axis=0))
    obj = fitmod.HuberLogObjective(law, U, y, np.ones_like(y), 1e-3)
    lo, hi = np.array(law.bounds(), dtype=float).T
    x0 = law.start_grid(U, y, "coarse")[0]
    x, nit, msg = fitmod.lbfgsb(obj, x0, lo, hi, 3)
    ref = minimize(
        obj, x0, jac=True, method="L-BFGS-B", bounds=law.bounds(),
        options=dict(maxiter=3, ftol=1e-15, gtol=fitmod.GTOL, maxcor=fitmod.MAXCOR),
    )  # fmt: skip
    assert nit == ref.nit == 3 and msg == ref.message
    assert x.tobytes() == ref.x.tobytes()
