"""Two-stage forecast: a loss-like quantity in N, then the metric through a fitted link.

Language-model ladders forecast a task's accuracy in two steps (Bhagia et al. 2024,
"Establishing Task Scaling Laws via Compute-Efficient Model Ladders", arXiv 2412.04403): the
task loss as a power law in N (and D), then accuracy from loss by a sigmoid fitted on every
checkpoint of the small models. ``two_stage_split`` does the same for a reranker:

1. the loss-like quantity ``via`` (contrastive entropy) in N by ``law`` (the error form
   CE(N) = E + A·N^−α), on the ``select``-ed checkpoints ("final") of the fitted sizes;
2. the metric ``y`` as a monotone function of ``via``, ``link.LogisticLink``, on **every**
   checkpoint of the fitted sizes (their CE spans far more than the final checkpoints do);
3. the forecast link(CE(N*)) at the test rows' ``select``-ed checkpoints.

Intervals carry both stages replicate by replicate. Each stage's bootstrap is chosen as for
any forecast (``forecast.choose_interval``: run bootstrap or parametric); replicate b maps
stage 1's b-th draw of CE through the link's b-th replicate, and counts when both refits are
usable. Prediction intervals map where a new seed mean's CE lands (stage 1's noise model)
through the link and add the link's own scatter, NDCG given CE (its noise model): draw·exp(v₂).
Rows are ``forecast.forecast_split`` rows, with ``law`` = "<law> → logistic_link", ``target``
= "<via> → <y>", and ``link_status`` (the link fit's status) beside ``fit_status`` (stage 1's).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .bootstrap import BootstrapResult
from .fit import FitResult, fit_law
from .forecast import (
    _aggregate_test,
    choose_interval,
    forecast_columns,
    forecast_draws,
    interval_status,
    metric_interval,
    noise_factors,
    select_rows,
)
from .laws import Law, get_law
from .link import LogisticLink

LINK_SEED_OFFSET = 104_729  # the link's bootstrap draws from seed + this (apart from stage 1's)


def two_stage_split(
    train: pd.DataFrame,
    test: pd.DataFrame,
    law: Law | str,
    *,
    y: str,
    via: str,
    x: str | Sequence[str] | None = None,
    n: str = "n_params",
    d: str = "pairs_seen",
    select="final",
    link: Law | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    groups: str = "run_id",
    average_seeds: bool = True,
    interval: str = "auto",
    same_runs: bool = False,
    **fit_kwargs,
) -> tuple[pd.DataFrame, tuple[FitResult, FitResult], tuple]:
    """Forecast ``y`` at ``test``'s rows in two stages (module docstring): ``law`` fitted to
    ``via`` on ``select_rows(train, select)``, ``link`` (default ``LogisticLink()``) fitted to
    ``y`` against ``via`` on every row of ``train``. ``fit_kwargs`` (e.g. ``grid``) go to both
    fits. Returns (rows, (stage-1 fit, link fit), (stage-1 bootstrap, link bootstrap)); the
    signature is ``forecast_split``'s, so ``forecast_holdout`` and ``rollout_sizes`` take it as
    their ``split`` (with ``select="all"``: the link needs every checkpoint)."""
    law = get_law(law)
    link = LogisticLink() if link is None else link
    loss = fit_law(select_rows(train, select), law, y=via, x=x, n=n, d=d, **fit_kwargs)
    mapping = fit_law(train, link, y=y, x=via, **fit_kwargs)
    cols = list(loss.input_names)
    rows = _aggregate_test(select_rows(test, select), cols, y, average_seeds)
    X = tuple(rows[c].to_numpy(dtype=float) for c in cols)
    nan = np.full(len(rows), np.nan)
    pred, lo, hi, pi_lo, pi_hi = nan, nan, nan, nan, nan
    boots: list[BootstrapResult | None] = [None, None]
    methods, notes = ["none", "none"], ["", ""]
    usable = None
    if "degenerate" not in (loss.status, mapping.status):
        pred = mapping.predict_metric(loss.predict_metric(*X))
        if n_boot > 0:
            for i, (r, s) in enumerate(((loss, seed), (mapping, seed + LINK_SEED_OFFSET))):
                boots[i], methods[i], notes[i] = choose_interval(
                    r,
                    interval,
                    groups=groups,
                    size=n,
                    n_boot=n_boot,
                    seed=s,
                    ci=ci,
                    same_runs=same_runs and i == 0,
                )
        if boots[0] is not None and boots[1] is not None:
            usable = boots[0].usable & boots[1].usable
            draws, pi_draws = _propagate(loss, mapping, boots, X, rows["n_seeds"], seed, groups, n)
            if usable.any():
                lo, hi = metric_interval(mapping, draws[usable], ci)
                if pi_draws is not None:
                    pi_lo, pi_hi = metric_interval(mapping, pi_draws[usable], ci)
    note = "; ".join(f"{stage}: {t}" for stage, t in zip((via, "link"), notes) if t)
    status = interval_status(usable, pred, lo, hi, why=note or None)
    rows = forecast_columns(
        rows,
        pred,
        (lo, hi),
        (pi_lo, pi_hi),
        status,
        fit_status=loss.status,
        link_status=mapping.status,
        interval_method=" + ".join(dict.fromkeys(methods)),
        interval_note=note,
        n_boot_ok=0 if usable is None else int(usable.sum()),
        metric=y,
        law=f"{law.name} → {link.name}",
        target=f"{loss.target} → {y}",
    )
    return rows, (loss, mapping), tuple(boots)


def _propagate(loss, mapping, boots, X, n_seeds, seed, groups, size):
    """Per replicate b (all B rows), on the metric's scale: link_b(CE_b) and, where both noise
    models are measurable, link_b(CE_b·exp(v₁))·exp(v₂) (else None)."""
    ce, ce_pi = forecast_draws(boots[0], X, n_seeds, seed=seed, groups=groups, size=size)
    if loss.transform is not None:  # a ranking metric as the loss-like quantity: back to it
        ce = loss.transform.inverse(ce)
        ce_pi = None if ce_pi is None else loss.transform.inverse(ce_pi)
    scatter = noise_factors(
        boots[1], n_seeds, seed=seed + LINK_SEED_OFFSET, groups=groups, size=size
    )
    thetas = boots[1].thetas

    def through(values):
        with np.errstate(invalid="ignore", divide="ignore"):
            logv = np.log(values)
        return np.stack(
            [mapping.law.predict_many(thetas[b], logv[b][:, None])[0] for b in range(len(thetas))]
        )

    draws = through(ce)
    if ce_pi is None or scatter is None:
        return draws, None
    return draws, through(ce_pi) * scatter
