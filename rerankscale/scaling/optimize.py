"""The fitting objective and its optimiser: Huber loss on log residuals, minimised by L-BFGS-B,
many problems at once.

Objective (Hoffmann et al. 2022, Approach 3; Besiroglu et al. 2024), for problem ``b``::

    F_b(θ) = Σ_i w_bi · Huber_δ(g(θ; u_i) − log y_bi) / (δ · Σ_i w_bi)

with ``g = log f`` the law's log prediction at centred log-inputs ``u`` and its analytic
gradient ``Σ_i w_bi·ψ_δ(r_bi)·∂g/∂θ / (δ Σ w_b)``. The rows of a ``HuberLogObjective`` share a
law and inputs and differ in weights (a bootstrap's multiplicities) and/or targets (a parametric
bootstrap's simulations).

The optimiser is scipy's compiled L-BFGS-B routine (``setulb``) driven the way scipy's own
driver (``scipy.optimize._lbfgsb_py._minimize_lbfgsb``) drives it, without ``minimize``'s
wrappers. ``lbfgsb_many`` runs B such drivers in lockstep: whenever some of them ask for
``(F, ∇F)`` at their current points, all those points are evaluated in one vectorised call.
On these 3–5 parameter problems an evaluation costs ~80 µs of Python and numpy overhead and
almost no arithmetic, so evaluating the 200 replicates of a bootstrap, or the hundreds of
starts of a joint fit, together costs little more than evaluating one. Each driver's
arguments and the objective's row-wise arithmetic (every reduction runs along one row, the
same way for any batch) do not depend on the other rows, so a problem solved in a batch gives
bit for bit what it gives alone (``tests/scaling/test_fit_driver.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
from scipy.optimize import minimize

try:  # the compiled routine scipy's own L-BFGS-B driver calls
    from scipy.optimize import _lbfgsb
    from scipy.optimize._lbfgsb_py import status_messages as _STATUS
    from scipy.optimize._lbfgsb_py import task_messages as _TASK
except ImportError:  # pragma: no cover - another scipy layout: minimize() is used
    _lbfgsb = None

GTOL = 1e-9  # L-BFGS-B projected-gradient tolerance (objective scaled as above)
BOUND_TOL = 1e-6
MAXCOR, MAXLS, MAXFUN = 20, 20, 15000  # L-BFGS-B memory; line-search steps; f,g evaluations
FACTR = 1e-15 / np.finfo(float).eps  # ftol=1e-15 as minimize() turns it into factr
_FG, _NEW_X, _STOP = 3, 1, 5  # setulb task codes: evaluate f and g; iteration done; stop

_BLAS = None


@contextmanager
def single_threaded_blas():
    """Run the block with BLAS limited to one thread (via threadpoolctl).

    scipy's L-BFGS-B calls multi-threaded OpenBLAS on tiny matrices; on a busy machine every
    such call waits for worker threads and an iteration costs ~2 ms instead of ~60 µs (10-30x
    slower fits). Without threadpoolctl installed this warns once and runs unchanged (set
    OPENBLAS_NUM_THREADS=1 in the environment instead)."""
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController()
        except ImportError:
            _BLAS = False
            warnings.warn(
                "threadpoolctl is not installed: L-BFGS-B fits may run 10-30x slower with a "
                "multi-threaded BLAS on a busy machine; pip install threadpoolctl or set "
                "OPENBLAS_NUM_THREADS=1",
                RuntimeWarning,
                stacklevel=3,
            )
    if _BLAS is False:
        yield
        return
    with _BLAS.limit(limits=1, user_api="blas"):
        yield


class HuberLogObjective:
    """``F_b(θ)`` and its gradient for B problems sharing ``law`` and centred inputs ``U``
    (n, k): targets ``y`` and weights ``w`` are (n,) for one problem or (B, n) for B.

    ``evaluate(thetas, rows)`` gives ``(F, ∇F)`` of problem ``rows[j]`` at ``thetas[j]``;
    calling the objective with one θ evaluates problem 0 (scipy's ``fun(x) -> (f, g)``)."""

    def __init__(self, law, U: np.ndarray, y: np.ndarray, w: np.ndarray, delta: float):
        y = np.atleast_2d(np.asarray(y, dtype=float))
        self.law, self.U, self.logy, self.delta = law, U, np.log(y), float(delta)
        self.floor = 0.5 * y.min(axis=1)
        w = np.atleast_2d(np.asarray(w, dtype=float))
        self.w = w / (self.delta * w.sum(axis=1, keepdims=True))

    def _row(self, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return table[np.minimum(rows, len(table) - 1)]  # a single row is shared by every problem

    def evaluate(self, thetas: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g, J = self.law.log_model_many(thetas, self.U, self._row(self.floor, rows))
        r = g - self._row(self.logy, rows)
        d = self.delta
        psi = np.clip(r, -d, d)
        # Huber: r²/2 inside [−δ, δ], δ(|r| − δ/2) outside  ==  psi·(r − psi/2)
        w = self._row(self.w, rows)
        f = (w * (psi * (r - 0.5 * psi))).sum(axis=1)
        grad = ((w * psi)[:, :, None] * J).sum(axis=1)
        return f, grad

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        f, grad = self.evaluate(np.asarray(theta, dtype=float)[None, :], np.zeros(1, dtype=int))
        return float(f[0]), grad[0]


def projected_gradient(theta, grad, bounds) -> float:
    """∞-norm of the gradient projected on the box (zero where a bound blocks the descent)."""
    lo, hi = np.array(bounds, dtype=float).T
    pg = np.asarray(grad, dtype=float).copy()
    pg[(theta <= lo + BOUND_TOL) & (pg > 0)] = 0.0
    pg[(theta >= hi - BOUND_TOL) & (pg < 0)] = 0.0
    return float(np.max(np.abs(pg))) if pg.size else 0.0


class _Driver:
    """One L-BFGS-B run's state: scipy's driver loop, one ``setulb`` call at a time."""

    def __init__(self, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, maxiter: int):
        n, m = len(x0), MAXCOR
        self.x = np.array(x0, dtype=np.float64)
        self.lo = np.ascontiguousarray(lo, dtype=np.float64)
        self.hi = np.ascontiguousarray(hi, dtype=np.float64)
        self.nbd = np.full(n, 2, dtype=np.int32)  # both bounds finite (checked by the caller)
        self.f = np.array(0.0, dtype=np.float64)
        self.g = np.zeros((n,), dtype=np.float64)
        self.wa = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m, np.float64)
        self.iwa = np.zeros(3 * n, dtype=np.int32)
        self.task = np.zeros(2, dtype=np.int32)
        self.ln_task = np.zeros(2, dtype=np.int32)
        self.lsave = np.zeros(4, dtype=np.int32)
        self.isave = np.zeros(44, dtype=np.int32)
        self.dsave = np.zeros(29, dtype=np.float64)
        self.maxiter, self.nit, self.nfev = maxiter, 0, 0

    def advance(self) -> bool:
        """Call ``setulb`` until it asks for (f, g) at ``x`` (True) or stops (False)."""
        while True:
            self.g = self.g.astype(np.float64)
            _lbfgsb.setulb(
                MAXCOR, self.x, self.lo, self.hi, self.nbd, self.f, self.g, FACTR, GTOL,
                self.wa, self.iwa, self.task, self.lsave, self.isave, self.dsave, MAXLS,
                self.ln_task,
            )  # fmt: skip
            if self.task[0] == _FG:
                return True
            if self.task[0] != _NEW_X:
                return False
            self.nit += 1  # an iteration ended
            if self.nit >= self.maxiter:
                self.task[0], self.task[1] = _STOP, 504
            elif self.nfev > MAXFUN:
                self.task[0], self.task[1] = _STOP, 502

    def told(self, f: float, g: np.ndarray) -> None:
        self.f, self.g = f, g
        self.nfev += 1

    @property
    def message(self) -> str:
        return _STATUS[self.task[0]] + ": " + _TASK[self.task[1]]


Evaluate = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def lbfgsb_many(evaluate: Evaluate, X0: np.ndarray, lo: np.ndarray, hi: np.ndarray, maxiter: int):
    """L-BFGS-B from each row of ``X0`` on the finite box ``[lo, hi]``, all runs in lockstep:
    ``evaluate(X, runs)`` returns ``(F, ∇F)`` of the runs ``runs`` at the rows of ``X``.
    Returns one ``(x, nit, message)`` per row; run ``j`` gives what ``lbfgsb`` gives alone,
    and both what ``minimize(..., method="L-BFGS-B")`` gives. None when this scipy has no
    such routine (the caller then uses ``minimize``)."""
    if _lbfgsb is None:
        return None
    drivers = [_Driver(x0, lo, hi, maxiter) for x0 in np.atleast_2d(X0)]
    waiting = [j for j, d in enumerate(drivers) if d.advance()]
    while waiting:
        runs = np.asarray(waiting)
        F, G = evaluate(np.stack([drivers[j].x for j in waiting]), runs)
        for j, f, g in zip(waiting, F, G):
            drivers[j].told(float(f), g)
        waiting = [j for j in waiting if drivers[j].advance()]
    return [(d.x, d.nit, d.message) for d in drivers]


def lbfgsb(obj, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, maxiter: int):
    """One L-BFGS-B run of ``obj(x) -> (f, g)`` from ``x0``: ``lbfgsb_many`` with one run."""

    def evaluate(X, runs):
        f, g = obj(X[0].copy())
        return [f], [g]

    out = lbfgsb_many(evaluate, np.asarray(x0, dtype=float)[None, :], lo, hi, maxiter)
    return None if out is None else out[0]


def minimize_many(
    obj: HuberLogObjective,
    starts: np.ndarray,
    problems: Sequence[int],
    bounds,
    maxiter: int = 2000,
) -> list[tuple[np.ndarray, float, float, int, str]]:
    """L-BFGS-B of problem ``problems[j]`` of ``obj`` from ``starts[j]`` (clipped to the
    bounds), all at once. Returns ``(theta, loss, projected-gradient norm, nit, message)``
    per start."""
    lo, hi = np.array(bounds, dtype=float).T
    problems = np.asarray(problems, dtype=int)
    X0 = np.clip(np.atleast_2d(np.asarray(starts, dtype=float)), lo, hi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        runs = (
            lbfgsb_many(lambda X, j: obj.evaluate(X, problems[j]), X0, lo, hi, maxiter)
            if np.all(np.isfinite(lo) & np.isfinite(hi) & (lo < hi))
            else None
        )
        if runs is None:
            runs = []
            for x0, b in zip(X0, problems):
                res = minimize(
                    lambda x, b=b: _one(obj, x, b),
                    x0,
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bounds,
                    options=dict(maxiter=maxiter, ftol=1e-15, gtol=GTOL, maxcor=MAXCOR),
                )
                runs.append((res.x, res.nit, res.message))
        thetas = np.stack([np.asarray(x, dtype=float) for x, _, _ in runs])
        F, G = obj.evaluate(thetas, problems)
    return [
        (theta, float(f), projected_gradient(theta, g, bounds), int(nit), str(message))
        for theta, f, g, (_, nit, message) in zip(thetas, F, G, runs)
    ]


def _one(obj: HuberLogObjective, x: np.ndarray, problem: int) -> tuple[float, np.ndarray]:
    f, g = obj.evaluate(np.asarray(x, dtype=float)[None, :], np.array([problem]))
    return float(f[0]), g[0]


def minimize_from(obj: HuberLogObjective, theta0, bounds, maxiter: int = 2000):
    """One L-BFGS-B run on problem 0. Returns (theta, loss, projected-gradient norm, nit,
    message)."""
    return minimize_many(obj, np.asarray(theta0, dtype=float)[None, :], [0], bounds, maxiter)[0]
