"""Forecast methods for a ranking metric, compared on held-out error (issue 9, item 3).

Four ways to forecast a metric y (NDCG@10) of larger models from smaller ones, each a law in N
on the final checkpoints fitted by the same robust fitter (``fit.py``) with the same intervals
(``forecast.choose_interval``):

* ``saturating``  y = a + b·N^c (b ≤ 0, c ≤ 0, a ≤ 1): the paper's law on the metric itself
  (Seetharaman et al. 2026; T3's size law);
* ``error``       1 − y = E + A·N^−α: the error form (Kaplan et al. 2020; Hoffmann et al. 2022);
* ``log``         −ln y = E + A·N^−α: a power law on the log-metric, y = e^−E·exp(−A·N^−α)
  (``table.LogErrorTransform``);
* ``two-stage``   CE(N) = E + A·N^−α for the contrastive entropy, then y = link(CE) with a
  logistic link fitted on every checkpoint of the fitted sizes (``twostage.py``; Bhagia et al.
  2024, arXiv 2412.04403).

``compare_methods`` runs every method through the same windows, ``forecast.forecast_holdout``
(fit without the held-out sizes) and ``rollout.rollout_sizes`` (the expanding window: fit on the
k smallest sizes, forecast every larger one), with the same seeds, so the run bootstrap draws
the same resamples for every method; ``summarize_methods`` puts their MAE, RMSE, signed bias
(actual − predicted) and 95 % interval coverage side by side.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from .forecast import Split, forecast_holdout, forecast_split, summarize_forecasts
from .laws import Law, PowerLaw, SaturatingLaw
from .parallel import run_tasks
from .rollout import rollout_sizes
from .table import LogErrorTransform
from .twostage import two_stage_split

EVALUATIONS = ("holdout", "rollout")


@dataclass(frozen=True)
class Method:
    """One forecast method: its ``name``, ``formula``, the ``law`` in N (of the loss-like
    quantity for a two-stage method), the ``split`` that fits and forecasts (signature of
    ``forecast.forecast_split``), its extra keyword arguments ``options`` and the rows the
    windows hand it (``select``: "final", or "all" when the split picks its own)."""

    name: str
    formula: str
    law: Law
    split: Split = forecast_split
    options: Mapping = field(default_factory=dict)
    select: str = "final"


def forecast_methods(y: str = "ndcg@10", via: str = "ce@24") -> list[Method]:
    """The four methods (module docstring) for metric ``y``; ``via`` is the loss-like quantity
    of the two-stage method."""
    return [
        Method("saturating", f"{y} = a + b·N^c", SaturatingLaw()),
        Method("error", f"1 − {y} = E + A·N^−α", PowerLaw()),
        Method(
            "log",
            f"−ln {y} = E + A·N^−α",
            PowerLaw(),
            options={"transform": LogErrorTransform(y)},
        ),
        Method(
            "two-stage",
            f"{via} = E + A·N^−α, then {y} = b + a / (1 + exp(k·({via} − x0)))",
            PowerLaw(),
            split=two_stage_split,
            options={"via": via},
            select="all",
        ),
    ]


def compare_methods(
    df: pd.DataFrame,
    methods: Sequence[Method],
    *,
    y: str,
    holdout: int | Sequence | None = 2,
    rollout: bool = True,
    by: Sequence[str] = ("objective", "eval_set"),
    n: str = "n_params",
    n_boot: int = 200,
    seed: int = 0,
    **kwargs,
) -> pd.DataFrame:
    """Every method's forecasts of ``y``: the ``holdout`` sizes from the others
    (``forecast_holdout``; None: no hold-out) and, with ``rollout``, every larger size from
    the k smallest
    (``rollout_sizes``, every k ≥ 3), per ``by`` group. Rows are forecast rows with
    ``evaluation`` ("holdout" or "rollout"), ``method`` and ``formula`` in front (rollout rows
    carry ``origin``, ``horizon`` and ``log_distance``). Other keyword arguments (``grid``,
    ``interval``, ``ci``...) go to every method's split."""

    def one(m: Method, evaluation: str) -> pd.DataFrame:
        opts = dict(y=y, n=n, x=n, by=by, select=m.select, n_boot=n_boot, seed=seed, split=m.split)
        opts.update(m.options, **kwargs)
        if evaluation == "holdout":
            rows = forecast_holdout(df, m.law, holdout=holdout, **opts)
        else:
            rows = rollout_sizes(df, m.law, **opts)
        rows.insert(0, "formula", m.formula)
        rows.insert(0, "method", m.name)
        rows.insert(0, "evaluation", evaluation)
        return rows

    evaluations = (["holdout"] if holdout is not None else []) + (["rollout"] if rollout else [])
    # one task per method and evaluation, on several cores (``parallel.run_tasks``)
    frames = run_tasks([functools.partial(one, m, e) for m in methods for e in evaluations])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def summarize_methods(fc: pd.DataFrame, by: Sequence[str] = ("evaluation",)) -> pd.DataFrame:
    """Per ``by`` group and method: the forecasts' count, MAE, RMSE, signed bias (actual −
    predicted: positive = the method under-predicts), coverage of the law's and of the
    prediction interval over the valid intervals and the interval methods
    (``forecast.summarize_forecasts``), with ``rank`` by MAE within the group (1 = best).
    Methods keep the order they were compared in. No forecasts (e.g. a study of three sizes
    and none held out): an empty table with those columns."""
    if fc.empty:
        stats = ["n", "n_failed", "mae", "rmse", "bias", "coverage", "coverage_pi", "rank"]
        return pd.DataFrame(columns=[*by, "method", "formula", *stats])
    by = [b for b in by if b in fc.columns]
    out = summarize_forecasts(fc, [*by, "method"])
    order = {name: i for i, name in enumerate(dict.fromkeys(fc["method"]))}
    formula = fc.drop_duplicates("method").set_index("method")["formula"]
    out.insert(len(by) + 1, "formula", out["method"].map(formula))
    out["rank"] = (out.groupby(by)["mae"] if by else out["mae"]).rank(method="min")
    keys = [*by, "method"]
    out = out.sort_values(keys, key=lambda s: s.map(order) if s.name == "method" else s)
    return out.reset_index(drop=True)
