"""Parametric bootstrap of a fitted law: intervals that stay valid when runs are few.

The run bootstrap (``bootstrap.py``) resamples whole runs. It needs several runs at every
size: with one run per size (the paper's 4 sizes × 1 seed) most resamples lose a size and are
degenerate, and the usable ones reproduce the data, so the "interval" collapses onto the
prediction (``forecast.interval_status``). Here the data are *simulated* around the fitted law
from a noise model measured on the data, and the law is refitted on each simulation.

Noise model, on the log scale the fit works on (``fit.py`` fits log residuals), for point j
of run i:

    log y_ij = log f(x_ij; θ) + u_i + e_ij,    u_i ~ N(0, σ_run²),    e_ij ~ N(0, σ_pt²)

u_i is the run's random effect (seed, data order), shared by all its checkpoints; e_ij the
checkpoint-to-checkpoint noise (evaluation sample, optimiser jitter). ``estimate_noise``
measures both from the fit's log residuals r_ij and their run means r̄_i (n points, R runs):

* σ_pt² (only when runs have several points):
  s_pt² = Σ_ij (r_ij − r̄_i)² / (n − R),  df_pt = n − R;
* σ_run², **measured from seeds where there are seeds**: runs at the same size share the fitted
  law, so the spread of their mean residuals around the size's mean is run-to-run noise
  with no misfit in it:
  s_b² = Σ_s Σ_{i∈s} (r̄_i − r̄_s)² / Σ_s (R_s − 1),  df_run = Σ_s (R_s − 1),
  σ_run² = max(s_b² − s_pt²/n̄, 0) (n̄ points per run);
  without seeds (one run per size), from the residuals of the fit: s_b² = Σ_i r̄_i² / (R − p),
  df_run = R − p (the residual variance of a p-parameter fit; not estimable when R ≤ p).
  With one point per run the two components cannot be told apart; their sum is put in σ_run.

Replicate b of ``parametric_bootstrap``:

1. draws σ*² = s²·df / χ²_df for each component (the sampling distribution of s²);
2. simulates y* = f(x; θ̂)·exp(u* + e*), u* ~ N(0, σ*_run²) per run, e* ~ N(0, σ*_pt²);
3. refits the law on y* from θ̂ (warm start; the same Huber estimator, bounds and statuses;
   a refit that does not converge is restarted, then retried from the coarse start grid:
   ``fit.retry_unconverged``).

Steps 1–2 draw from the replicate's own stream (``bootstrap.replicate_rng(seed, b)``).

At one degree of freedom σ* has no finite mean (1/χ²_1), so a rare draw makes y* overflow;
the simulated log noise is clipped to ±``LOG_NOISE_CAP`` (a factor e^10, far beyond any
plausible metric: such a replicate is an extreme one with or without the clip).

Percentile intervals of f(x; θ*_b) are confidence intervals for the law. Prediction intervals
(``prediction_noise``) multiply each draw by exp(v*_b), v*_b ~ N(0, (σ*_run² + σ*_pt²)/m): the
seed mean of m new runs at one checkpoint.

Why draw σ*: four points and a three-parameter law leave one residual degree of freedom;
plugging in s alone gives intervals that cover about 70% (P(|t_1| < 1.96)). Drawing σ from its
scaled inverse χ² makes the bootstrap of a linear model reproduce the exact Student-t interval
(x'θ* − x'θ̂ = σ*·√h·z with σ*² ~ s²·df/χ²_df, i.e. s·√h·t_df): the posterior predictive of
the normal linear model under the reference prior (Gelman et al. 2013, *Bayesian Data
Analysis*, 3rd ed., §14.2), here carried through the nonlinear refit. Residual resampling
(Davison & Hinkley 1997, *Bootstrap Methods and their Application*, §6.2.3 and §7.3 for
nonlinear regression; Efron & Tibshirani 1993, §9.5) resamples the residuals themselves; with
1–9 residual degrees of freedom there are too few to resample, hence the Gaussian draw (a
parametric bootstrap, Efron & Tibshirani 1993, §6.5). Profile-likelihood intervals (Venzon &
Moolgavkar 1988; Seber & Wild 1989, §5.1) were the alternative: they rest on the χ²
calibration of the likelihood ratio that fails at 1–2 degrees of freedom, and need a root
search per forecast point instead of one set of refits shared by every prediction.

Coverage is checked by simulation: ``bench/bench_coverage.py`` and ``docs/forecasting.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .bootstrap import BootstrapResult, replicate_rng
from .fit import FitResult, refit_many, retry_unconverged
from .optimize import single_threaded_blas

RUN_BOOTSTRAP = "run bootstrap"
PARAMETRIC_BOOTSTRAP = "parametric bootstrap"
LOG_NOISE_CAP = 10.0  # simulated log noise is clipped to ±10 (a factor e^10)


class NoiseNotEstimable(ValueError):
    """The data cannot measure the run-to-run spread (one run per size and no residual
    degrees of freedom); the message says why."""


@dataclass(frozen=True)
class NoiseModel:
    """Log-scale noise of a fit: run effect sd ``sigma_run`` (``df_run`` degrees of freedom)
    and within-run sd ``sigma_pt`` (``df_pt``; 0 and 0 with one point per run); ``source`` says
    where σ_run came from (``"seeds"`` or ``"residuals"``)."""

    sigma_run: float
    df_run: float
    sigma_pt: float
    df_pt: float
    source: str

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, 2) draws of (σ*_run, σ*_pt): σ*² = s²·df/χ²_df (σ* = 0 where s = 0)."""
        out = np.zeros((n, 2))
        for j, (s, df) in enumerate(((self.sigma_run, self.df_run), (self.sigma_pt, self.df_pt))):
            if s > 0 and df > 0:
                out[:, j] = s * np.sqrt(df / rng.chisquare(df, size=n))
        return out

    @property
    def sigma_total(self) -> float:
        """sd of one new run's log value at one checkpoint around the law."""
        return float(np.hypot(self.sigma_run, self.sigma_pt))


def _labels(result: FitResult, col: str | None, fallback: np.ndarray) -> np.ndarray:
    if col is not None and result.data is not None and col in result.data.columns:
        return result.data[col].to_numpy()
    return fallback


def estimate_noise(
    result: FitResult, *, groups: str = "run_id", size: str = "n_params", same_runs: bool = False
) -> NoiseModel:
    """The noise model of ``result`` (see the module docstring), from its log residuals,
    its runs (column ``groups`` of the fit's rows; every point its own run without it) and
    their sizes (column ``size``; without it, the law's first input). Raises
    ``NoiseNotEstimable`` when the run-to-run spread cannot be measured.

    ``same_runs=True`` is for forecasts that continue the fitted runs (later checkpoints of
    the same curves): their run effects are in the fit and in the target alike, so only the
    within-run component is kept (σ_run = 0)."""
    if result.status == "degenerate":
        raise NoiseNotEstimable(f"degenerate fit: {result.message}")
    r = result.residuals()
    n = len(r)
    runs = _labels(result, groups, np.arange(n))
    sizes = _labels(result, size, result.X[:, 0])
    frame = pd.DataFrame({"r": r, "run": runs, "size": sizes})
    per_run = frame.groupby("run", sort=True).agg(
        rbar=("r", "mean"), k=("r", "size"), size=("size", "first")
    )
    R = len(per_run)
    df_pt = n - R
    if df_pt > 0:
        dev = frame["r"] - frame["run"].map(per_run["rbar"])
        s_pt = float(np.sqrt(np.sum(dev**2) / df_pt))
    else:
        s_pt, df_pt = 0.0, 0
    if same_runs:
        if not df_pt:
            raise NoiseNotEstimable("within-run spread not estimable: one point per run")
        return NoiseModel(0.0, 0.0, s_pt, float(df_pt), "within runs")
    by_size = per_run.groupby("size")["rbar"]
    df_seed = int((by_size.size() - 1).sum())
    if df_seed > 0:
        ss = float(((per_run["rbar"] - by_size.transform("mean")) ** 2).sum())
        s_b2, df_run, source = ss / df_seed, df_seed, "seeds"
    else:
        df_run = R - result.law.n_params
        if df_run <= 0:
            raise NoiseNotEstimable(
                f"run-to-run spread not estimable: {R} runs, one per size, for "
                f"{result.law.n_params} parameters (need seeds, or more runs than parameters)"
            )
        s_b2, source = float(np.sum(per_run["rbar"] ** 2)) / df_run, "residuals"
    s_run2 = max(s_b2 - s_pt**2 / float(per_run["k"].mean()), 0.0) if df_pt else s_b2
    return NoiseModel(float(np.sqrt(s_run2)), float(df_run), s_pt, float(df_pt), source)


@dataclass
class ParametricBootstrapResult(BootstrapResult):
    """A ``BootstrapResult`` whose replicates are refits on data simulated from the fitted law
    (``method`` = ``"parametric bootstrap"``); ``noise`` the measured noise model and
    ``sigmas`` (B, 2) the (σ*_run, σ*_pt) drawn for each replicate."""

    noise: NoiseModel | None = None
    sigmas: np.ndarray | None = None

    @property
    def method(self) -> str:
        return PARAMETRIC_BOOTSTRAP

    @property
    def usable_sigmas(self) -> np.ndarray:
        return self.sigmas[self.usable]


def parametric_bootstrap(
    result: FitResult,
    *,
    groups: str = "run_id",
    size: str = "n_params",
    n_boot: int = 200,
    seed: int = 0,
    ci: float = 0.95,
    maxiter: int = 2000,
    noise: NoiseModel | None = None,
    same_runs: bool = False,
) -> ParametricBootstrapResult:
    """``n_boot`` refits of ``result``'s law on data simulated from the fit and its noise
    model (``estimate_noise(result, same_runs=same_runs)`` unless ``noise`` is given).
    Deterministic for a given ``seed``. Raises ``NoiseNotEstimable`` when the noise cannot
    be measured."""
    if result.status == "degenerate":
        raise ValueError(f"cannot bootstrap a degenerate fit: {result.message}")
    if noise is None:
        noise = estimate_noise(result, groups=groups, size=size, same_runs=same_runs)
    runs = _labels(result, groups, np.arange(result.n_points))
    _, codes = np.unique(runs, return_inverse=True)
    R = int(codes.max()) + 1
    sigmas = np.zeros((n_boot, 2))
    f_hat = result.predict(result.X)
    p = result.law.n_params
    thetas = np.full((n_boot, p), np.nan)
    statuses = np.empty(n_boot, dtype=object)
    losses = np.full(n_boot, np.nan)
    simulated = np.empty((n_boot, result.n_points))
    for b in range(n_boot):
        rng = replicate_rng(seed, b)
        sigmas[b] = noise.draw(rng, 1)[0]
        u = rng.normal(0.0, 1.0, R)[codes] * sigmas[b, 0]
        e = rng.normal(0.0, 1.0, result.n_points) * sigmas[b, 1]
        simulated[b] = f_hat * np.exp(np.clip(u + e, -LOG_NOISE_CAP, LOG_NOISE_CAP))
    with single_threaded_blas():  # every simulation at once (``fit.refit_many``)
        refits = refit_many(result, targets=simulated, start=result.theta, maxiter=maxiter)
        for b, r in enumerate(refits):
            r = retry_unconverged(r, maxiter=maxiter)  # a far-off simulation
            statuses[b], losses[b], thetas[b] = r.status, r.loss, r.theta
    return ParametricBootstrapResult(
        result,
        thetas,
        statuses.astype(str),
        losses,
        groups,
        R,
        seed,
        ci,
        noise=noise,
        sigmas=sigmas,
    )


def prediction_noise(boot: BootstrapResult, noise: NoiseModel, n_seeds, seed: int) -> np.ndarray:
    """Log-scale noise (B, m), one row per replicate of ``boot`` (usable or not: callers keep
    ``boot.usable`` rows), to add to its prediction draws for the seed mean of ``n_seeds[k]``
    new runs at one checkpoint: v ~ N(0, (σ*_run² + σ*_pt²)/m), with the replicate's own σ* for
    a parametric bootstrap and a fresh σ* draw otherwise; clipped to ±``LOG_NOISE_CAP`` like
    the simulated data. Row b draws from ``replicate_rng(seed, b)``: a replicate whose status
    differs (a refit at a convergence threshold on another machine) changes its own row only."""
    m = np.asarray(n_seeds, dtype=float)
    own = boot.sigmas if isinstance(boot, ParametricBootstrapResult) else None
    v = np.empty((boot.n_boot, len(m)))
    for b in range(boot.n_boot):
        rng = replicate_rng(seed, b)
        sig = own[b] if own is not None else noise.draw(rng, 1)[0]
        v[b] = rng.normal(0.0, 1.0, len(m)) * np.hypot(sig[0], sig[1])
    v /= np.sqrt(np.maximum(m, 1.0))[None, :]
    return np.clip(v, -LOG_NOISE_CAP, LOG_NOISE_CAP)
