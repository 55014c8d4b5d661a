"""Cluster bootstrap of a fitted law over independent units (whole runs).

Checkpoints of one run share its seed, data order and optimiser trajectory, so they are not
independent draws: resampling them as if they were gives intervals that are far too narrow
(the authors' bootstrap; see DESIGN §3.4 and the coverage test). Here the unit is the run
(size × seed, ``run_id``): each replicate draws as many runs as there are, with replacement,
keeps every checkpoint of a drawn run (a run drawn twice counts twice), and refits.

A replicate is a refit with integer weights w_i = (times the run of point i was drawn), which
is exactly the fit on the resampled table, warm-started from the full fit's optimum
(Besiroglu et al. 2024 refit their 4,000 bootstrap samples the same way). Percentile
intervals (Efron & Tibshirani 1993) for parameters and for any prediction; a covariance of the
parameters; a draws DataFrame ready for ``seaborn.pairplot``. Deterministic for a given seed.

Every replicate draws from its own random stream, ``replicate_rng(seed, b)`` (the b-th child of
``SeedSequence(seed)``), in the run bootstrap, the parametric bootstrap and the prediction
noise alike: what one replicate draws, or whether its refit converges, never shifts another
replicate's draws (a sequential stream would re-pair every later draw after any change in
how many numbers an earlier replicate consumed).

A refit that does not converge from the warm start is restarted, then retried from the law's
coarse start grid (``fit.retry_unconverged``); replicates whose refit is still not converged,
or degenerate (e.g. a resample with too few distinct sizes), are kept in ``draws`` with their
status and left out of the intervals; their count is reported (``n_excluded``), never hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .fit import FitResult, refit_many, retry_unconverged
from .optimize import single_threaded_blas

USABLE = ("ok", "on_bound")


def replicate_rng(seed: int, b: int) -> np.random.Generator:
    """The random stream of bootstrap replicate ``b``: the b-th child of ``SeedSequence(seed)``
    (``SeedSequence(seed).spawn(b + 1)[b]``, built directly). Independent of every other
    replicate's stream and of how many numbers any replicate draws."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))


def _group_codes(result: FitResult, groups) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(groups, str):
        if result.data is None or groups not in result.data.columns:
            raise ValueError(
                f"bootstrap over {groups!r} needs the fit's table rows (fit with fit_law on a "
                f"table that has a {groups!r} column), or pass groups= an array of unit labels"
            )
        labels = result.data[groups].to_numpy()
    else:
        labels = np.asarray(groups)
    if len(labels) != result.n_points:
        raise ValueError(f"{len(labels)} group labels for {result.n_points} points")
    uniq, codes = np.unique(labels, return_inverse=True)
    return uniq, codes


@dataclass
class BootstrapResult:
    """Bootstrap replicates of a fit. ``thetas`` (B, p) natural internal parameters,
    ``statuses`` (B,), ``losses`` (B,); ``fit`` the full-data fit; ``groups`` the unit name;
    ``n_units`` the number of units resampled."""

    fit: FitResult
    thetas: np.ndarray
    statuses: np.ndarray
    losses: np.ndarray
    groups: str
    n_units: int
    seed: int
    ci: float = 0.95

    @property
    def method(self) -> str:
        """The interval method's name, as tables and figures show it."""
        return "run bootstrap"

    @property
    def usable(self) -> np.ndarray:
        return np.isin(self.statuses, USABLE)

    @property
    def n_boot(self) -> int:
        return len(self.statuses)

    @property
    def n_excluded(self) -> int:
        return int((~self.usable).sum())

    def status_counts(self) -> dict[str, int]:
        s, c = np.unique(self.statuses, return_counts=True)
        return dict(zip(s.tolist(), c.tolist()))

    @property
    def draws(self) -> pd.DataFrame:
        """One row per replicate: reported parameters, ``status``, ``loss`` (pairplot-ready:
        ``sns.pairplot(b.draws[b.usable], vars=b.fit.law.param_names)``)."""
        law = self.fit.law
        rows = [
            law.params(t) if np.all(np.isfinite(t)) else dict.fromkeys(law.param_names, np.nan)
            for t in self.thetas
        ]
        out = pd.DataFrame(rows, columns=list(law.param_names))
        out.insert(0, "replicate", np.arange(self.n_boot))
        out["status"] = self.statuses
        out["loss"] = self.losses
        return out

    def _q(self, ci):
        ci = self.ci if ci is None else ci
        return (1 - ci) / 2, (1 + ci) / 2

    def param_intervals(self, ci: float | None = None) -> pd.DataFrame:
        """Per parameter: full-fit estimate, bootstrap mean, se, percentile interval [lo, hi]."""
        qlo, qhi = self._q(ci)
        d = self.draws[self.usable]
        rows = []
        for name in self.fit.law.param_names:
            v = d[name].to_numpy(dtype=float)
            rows.append(
                dict(
                    param=name,
                    estimate=self.fit.params[name],
                    mean=v.mean(),
                    se=v.std(ddof=1),
                    lo=np.quantile(v, qlo),
                    hi=np.quantile(v, qhi),
                    n_boot=len(v),
                )
            )
        return pd.DataFrame(rows)

    def cov(self) -> pd.DataFrame:
        """Covariance of the reported parameters over usable replicates."""
        d = self.draws[self.usable][list(self.fit.law.param_names)]
        return d.cov()

    def predict(self, *inputs) -> np.ndarray:
        """Predictions (B_usable, n) of every usable replicate at ``inputs`` (fitted scale)."""
        logX = self.fit._log_inputs(inputs)
        return self.fit.law.predict_many(self.thetas[self.usable], logX)

    def predict_interval(
        self, *inputs, ci: float | None = None, metric: bool = False
    ) -> pd.DataFrame:
        """Point prediction (full fit) and percentile interval at ``inputs``. ``metric=True``
        maps to the metric's scale (undoing 1 − metric; the bounds swap accordingly)."""
        qlo, qhi = self._q(ci)
        draws = self.predict(*inputs)
        est = self.fit.predict(*inputs)
        lo, hi = np.quantile(draws, [qlo, qhi], axis=0)
        if metric and self.fit.transform is not None:
            t = self.fit.transform
            est, a, b = t.inverse(est), t.inverse(lo), t.inverse(hi)
            lo, hi = np.minimum(a, b), np.maximum(a, b)
        return pd.DataFrame({"prediction": est, "lo": lo, "hi": hi})


def bootstrap_fit(
    result: FitResult,
    *,
    groups: str | Sequence = "run_id",
    n_boot: int = 1000,
    seed: int = 0,
    strata: str | Sequence | None = None,
    ci: float = 0.95,
    maxiter: int = 2000,
) -> BootstrapResult:
    """Cluster bootstrap of ``result`` over ``groups`` (a column of ``result.data``, default
    ``run_id``, or an array of unit labels, one per point).

    Each of ``n_boot`` replicates draws the units with replacement (within each stratum when
    ``strata`` — a column or labels constant within a unit — is given) and refits with a warm
    start from the full fit (restarted, then retried from the coarse start grid, when it does not
    converge: ``fit.retry_unconverged``).
    Replicate b resamples with ``replicate_rng(seed, b)``: same inputs and seed, same draws.
    """
    if result.status == "degenerate":
        raise ValueError(f"cannot bootstrap a degenerate fit: {result.message}")
    uniq, codes = _group_codes(result, groups)
    G = len(uniq)
    if strata is None:
        unit_strata = np.zeros(G, dtype=int)
    else:
        s = result.data[strata].to_numpy() if isinstance(strata, str) else np.asarray(strata)
        _, s_codes = np.unique(s, return_inverse=True)
        unit_strata = np.full(G, -1)
        for g in range(G):
            vals = np.unique(s_codes[codes == g])
            if len(vals) != 1:
                raise ValueError(
                    f"unit {uniq[g]!r} spans several strata; strata must be constant per unit"
                )
            unit_strata[g] = vals[0]
    members = [np.flatnonzero(unit_strata == k) for k in np.unique(unit_strata)]
    p = result.law.n_params
    thetas = np.full((n_boot, p), np.nan)
    statuses = np.empty(n_boot, dtype=object)
    losses = np.full(n_boot, np.nan)
    counts = np.zeros((n_boot, G))
    for b in range(n_boot):
        rng = replicate_rng(seed, b)
        for m in members:
            np.add.at(counts[b], rng.choice(m, size=len(m), replace=True), 1.0)
    with single_threaded_blas():  # every replicate at once (``fit.refit_many``)
        refits = refit_many(result, weights=counts[:, codes], maxiter=maxiter)
        for b, r in enumerate(refits):
            r = retry_unconverged(r, maxiter=maxiter)
            statuses[b] = r.status
            losses[b] = r.loss
            thetas[b] = r.theta
    name = groups if isinstance(groups, str) else "groups"
    return BootstrapResult(result, thetas, statuses.astype(str), losses, name, G, seed, ci)
