"""Coverage of forecast intervals by simulation: do the 95% intervals cover 95%?

A study is simulated from a known saturating size law (the project's size law, y = a + b·N^c)
with a run-level random effect and evaluation noise, the law is fitted on the smallest sizes
exactly as ``forecast.forecast_split`` does for a real table, and its intervals at the
held-out sizes are checked against the truth:

    y_r = f(N_r)·exp(u_r) + e_r,    u_r ~ N(0, run_sigma²) (seed),    e_r ~ N(0, eval_sigma²)

with f(N) = a − B·(N/1e4)^−γ. The run effect is multiplicative (the fit's log scale), the
evaluation noise additive (a fixed query sample), so the fitted noise model is only
approximately right, as on real data.

* ``covered`` (the law's interval ``lo``/``hi``) is checked against f(N*), the law itself;
* ``covered_pi`` (the prediction interval) against the seed mean of ``seeds`` new runs at N*,
  which is what ``forecast_split`` compares with the actual.

Whether intervals are too wide or too narrow, apart from coverage's coarse 0/1 count:
``spread_ratio`` compares, per held-out size, the intervals' mean half-width in standard
deviations, (hi − lo)/(2·z), z = Φ⁻¹((1 + ci)/2), with the root mean square of the actual
error over the simulations, √mean((prediction − f(N*))²) (for the prediction interval: of
new seed mean − prediction). A ratio near 1 is an interval as wide as the forecast's real
error; well above 1, a conservative one.

Monte-Carlo error: the per-simulation coverage (averaged over the held-out sizes, which share
a fit) has standard error sd/√n_sims; a 95% interval of n_sims = 200 simulations at true
coverage 0.95 has a Monte-Carlo error of about ±0.015.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from .forecast import forecast_split
from .saturating import SaturatingLaw
from .table import size_label


@dataclass(frozen=True)
class Design:
    """A simulated study: ``sizes`` (N), ``seeds`` runs per size, the ``n_fit`` smallest
    sizes fitted, the rest forecast."""

    name: str
    sizes: tuple[float, ...]
    seeds: int
    n_fit: int


STUDY_SIZES = tuple(1e4 * 2.3**k for k in range(6))  # 10k … 640k, as the CPU study
DESIGNS = {
    "4 sizes x 1 seed": Design("4 sizes x 1 seed", STUDY_SIZES, 1, 4),  # the paper's design
    "6 sizes x 3 seeds": Design("6 sizes x 3 seeds", STUDY_SIZES, 3, 4),  # the CPU study
}
TRUTH = dict(a=0.75, B=0.40, gamma=0.35)  # y(10k) = 0.35 … y(640k) = 0.66
RUN_SIGMA, EVAL_SIGMA = 0.04, 0.01


def true_law(n, truth: dict = TRUTH) -> np.ndarray:
    """f(N) = a − B·(N/1e4)^−γ."""
    return truth["a"] - truth["B"] * (np.asarray(n, dtype=float) / 1e4) ** -truth["gamma"]


def simulate_table(
    design: Design,
    rng: np.random.Generator,
    *,
    truth: dict = TRUTH,
    run_sigma: float = RUN_SIGMA,
    eval_sigma: float = EVAL_SIGMA,
) -> pd.DataFrame:
    """One simulated final-checkpoint table: one row per run (size × seed)."""
    n = np.repeat(np.asarray(design.sizes, dtype=float), design.seeds)
    seed = np.tile(np.arange(design.seeds), len(design.sizes))
    y = true_law(n, truth) * np.exp(rng.normal(0, run_sigma, len(n))) + rng.normal(
        0, eval_sigma, len(n)
    )
    return pd.DataFrame(
        {
            "run_id": [f"{size_label(v)}-s{s}" for v, s in zip(n, seed)],
            "n_params": n,
            "size": [size_label(v) for v in n],
            "seed": seed,
            "step": 1,
            "ndcg@10": y,
        }
    )


def simulate_coverage(
    design: Design | str,
    *,
    n_sims: int = 200,
    n_boot: int = 100,
    seed: int = 0,
    interval: str = "auto",
    ci: float = 0.95,
    truth: dict = TRUTH,
    run_sigma: float = RUN_SIGMA,
    eval_sigma: float = EVAL_SIGMA,
) -> dict:
    """Coverage of ``forecast_split``'s intervals over ``n_sims`` simulated studies of
    ``design`` (``n_boot`` bootstrap draws each). Returns a JSON-ready record: coverage of
    the law's interval (``coverage``) and of the prediction interval (``coverage_pi``) with
    their Monte-Carlo standard errors, the share of valid intervals, the methods used, the
    median widths and the wall time."""
    design = DESIGNS[design] if isinstance(design, str) else design
    rng = np.random.default_rng(seed)
    fit_sizes = design.sizes[: design.n_fit]
    cov, cov_pi, width, width_pi, valid, methods = [], [], [], [], [], []
    err, err_pi, half, half_pi = [], [], [], []
    z = float(norm.ppf((1 + ci) / 2))
    t0 = time.perf_counter()
    for i in range(n_sims):
        table = simulate_table(design, rng, truth=truth, run_sigma=run_sigma, eval_sigma=eval_sigma)
        train = table[table["n_params"].isin(fit_sizes)]
        test = table[~table["n_params"].isin(fit_sizes)]
        rows, _, _ = forecast_split(
            train,
            test,
            SaturatingLaw(),
            y="ndcg@10",
            x="n_params",
            n_boot=n_boot,
            seed=seed + i,
            ci=ci,
            interval=interval,
            grid="coarse",
        )
        law = true_law(rows["n_params"], truth)
        # a fresh seed mean at each held-out size: the value a prediction interval must cover
        m = design.seeds
        new = (
            law[:, None] * np.exp(rng.normal(0, run_sigma, (len(law), m)))
            + rng.normal(0, eval_sigma, (len(law), m))
        ).mean(axis=1)
        ok = (rows["interval_status"] == "ok").to_numpy()
        valid.append(ok.mean())
        methods.extend(rows["interval_method"])
        if ok.all():
            lo, hi = rows["lo"].to_numpy(), rows["hi"].to_numpy()
            pl, ph = rows["pi_lo"].to_numpy(), rows["pi_hi"].to_numpy()
            cov.append(np.mean((lo <= law) & (law <= hi)))
            cov_pi.append(np.mean((pl <= new) & (new <= ph)))
            width.append(np.median(hi - lo))
            width_pi.append(np.median(ph - pl))
            pred = rows["prediction"].to_numpy()
            err.append(pred - law)
            err_pi.append(new - pred)
            half.append((hi - lo) / (2 * z))
            half_pi.append((ph - pl) / (2 * z))
    seconds = time.perf_counter() - t0

    def mc(v):
        v = np.asarray(v, dtype=float)
        return (
            float(v.mean()) if len(v) else float("nan"),
            float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan"),
        )

    def ratio(h, e):
        if not h:
            return []
        rms = np.sqrt(np.mean(np.square(e), axis=0))
        return np.round(np.mean(h, axis=0) / rms, 4).tolist()

    c, c_se = mc(cov)
    p, p_se = mc(cov_pi)
    names, counts = np.unique(methods, return_counts=True)
    return dict(
        design=design.name,
        sizes=[size_label(s) for s in design.sizes],
        seeds=design.seeds,
        fitted_sizes=design.n_fit,
        interval=interval,
        nominal=ci,
        n_sims=n_sims,
        n_boot=n_boot,
        seed=seed,
        coverage=c,
        coverage_mc_se=c_se,
        coverage_pi=p,
        coverage_pi_mc_se=p_se,
        n_valid_sims=len(cov),
        valid_share=float(np.mean(valid)),
        methods=dict(zip(names.tolist(), counts.tolist())),
        median_width=float(np.median(width)) if width else float("nan"),
        median_width_pi=float(np.median(width_pi)) if width_pi else float("nan"),
        spread_ratio=ratio(half, err),
        spread_ratio_pi=ratio(half_pi, err_pi),
        truth=dict(truth),
        run_sigma=run_sigma,
        eval_sigma=eval_sigma,
        seconds=seconds,
    )
