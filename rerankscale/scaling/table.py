"""Metric helpers for the scaling fits, seed averages and a synthetic results table.

The results table itself (its schema, metric names, validation, final checkpoints and the error
class) is ``rerankscale.evaluation.results``; the names the scaling package has always offered are
re-exported here. This module adds the error transforms a law is fitted on (``to_error``:
1 − NDCG, contrastive entropy as it is), ``seed_average`` and ``synthetic_results_table``,
which draws a table from known laws (with a run-level random effect) for tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rerankscale.evaluation.results import (
    EXPOSURE_COLUMNS,
    KEY_COLUMNS,
    OPTIONAL_COLUMNS,
    POSITIVE_COLUMNS,
    REQUIRED_COLUMNS,
    ResultsError,
    final_checkpoints,
    is_error_metric,
    is_ranking_metric,
    metric_columns,
    validate_results_table,
)

__all__ = [
    "EXPOSURE_COLUMNS",
    "KEY_COLUMNS",
    "OPTIONAL_COLUMNS",
    "POSITIVE_COLUMNS",
    "REQUIRED_COLUMNS",
    "ErrorTransform",
    "LogErrorTransform",
    "ResultsError",
    "ResultsTableError",
    "final_checkpoints",
    "from_error",
    "is_error_metric",
    "is_ranking_metric",
    "metric_columns",
    "seed_average",
    "size_label",
    "synthetic_results_table",
    "synthetic_truth",
    "to_error",
    "validate_results_table",
]

# the scaling package's earlier name of ``ResultsError`` (the same class), kept for notebooks
ResultsTableError = ResultsError


@dataclass(frozen=True)
class ErrorTransform:
    """Map a metric to an error quantity that decays as a power law.

    Ranking metrics (higher is better, at most ``ceiling``): error = ceiling − metric, so a
    metric saturating at the ceiling becomes an error decaying to 0 (plus an irreducible floor).
    The ceiling is what the candidate list allows: 1 for NDCG/MRR/MAP when every relevant item
    can be ranked first; first-stage recall@depth for recall@k of a reranked fixed list.
    Error quantities (contrastive entropy, losses) are kept as they are.
    """

    metric: str
    ceiling: float = 1.0

    @property
    def flips(self) -> bool:
        return is_ranking_metric(self.metric)

    @property
    def name(self) -> str:
        if not self.flips:
            return self.metric
        c = "1" if self.ceiling == 1.0 else f"{self.ceiling:g}"
        return f"{c} - {self.metric}"

    def forward(self, values):
        values = np.asarray(values, dtype=float)
        return self.ceiling - values if self.flips else values

    def inverse(self, values):
        values = np.asarray(values, dtype=float)
        return self.ceiling - values if self.flips else values


@dataclass(frozen=True)
class LogErrorTransform:
    """A ranking metric as a log-loss: error = −ln(metric / ceiling), 0 at the ceiling and
    growing without bound as the metric falls to 0 (the metric must be positive).

    A power law in this error, −ln y = E + A·x^−α, is a power law on the log-metric:
    y = ceiling·exp(−E − A·x^−α), which rises to ceiling·e^−E and stays in (0, ceiling]
    wherever it is extrapolated. Near the ceiling −ln y ≈ 1 − y (the error form); far below it
    the two differ (−ln 0.4 = 0.92 against 0.6).
    """

    metric: str
    ceiling: float = 1.0

    @property
    def name(self) -> str:
        c = "" if self.ceiling == 1.0 else f"/{self.ceiling:g}"
        return f"-ln({self.metric}{c})"

    def forward(self, values):
        return -np.log(np.asarray(values, dtype=float) / self.ceiling)

    def inverse(self, values):
        return self.ceiling * np.exp(-np.asarray(values, dtype=float))


def to_error(values, metric: str, ceiling: float = 1.0) -> np.ndarray:
    """Error quantity for ``metric``: ``ceiling − values`` for ranking metrics (1 − NDCG by
    default), ``values`` unchanged for error metrics such as contrastive entropy."""
    if not (is_ranking_metric(metric) or is_error_metric(metric)):
        raise ValueError(
            f"unknown metric {metric!r}: cannot tell whether higher or lower is better; "
            "name ranking metrics like 'ndcg@10' / 'mrr@10' / 'map' and errors like 'ce@64'"
        )
    return ErrorTransform(metric, ceiling).forward(values)


def from_error(values, metric: str, ceiling: float = 1.0) -> np.ndarray:
    """Inverse of ``to_error``."""
    return ErrorTransform(metric, ceiling).inverse(values)


# --------------------------------------------------------------------------- selections


def seed_average(
    df: pd.DataFrame,
    metrics: Sequence[str],
    by: Sequence[str] = ("objective", "eval_set", "n_params", "step"),
    geometric: Sequence[str] = ("train_flops", *EXPOSURE_COLUMNS),
) -> pd.DataFrame:
    """Average over seeds: arithmetic mean of ``metrics``, geometric mean of the positive scale
    columns in ``geometric`` (present ones), and ``n_seeds`` per group."""
    by = list(by)
    geo = [c for c in geometric if c in df.columns and c not in by]
    work = df[by + list(metrics) + geo].copy()
    for c in geo:
        work[c] = np.log(work[c].astype(float))
    out = work.groupby(by, sort=True).mean().reset_index()
    for c in geo:
        out[c] = np.exp(out[c])
    out["n_seeds"] = df.groupby(by, sort=True).size().to_numpy()
    if "size" in df.columns and "size" not in by:
        labels = df.groupby(by, sort=True)["size"].first().to_numpy()
        out.insert(len(by), "size", labels)
    return out


# --------------------------------------------------------------------------- synthetic table


def size_label(n: float) -> str:
    """A short label for a parameter count (``17_000_000`` → ``"17m"``)."""
    for suffix, scale in (("b", 1e9), ("m", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{suffix}"
    return f"{n:.3g}"


DEFAULT_SYNTHETIC_LAWS = {
    # error-domain Chinchilla laws: err(N, D) = E + A (N/1e6)^-alpha + B (D/1e3)^-beta
    "ndcg@10": dict(E=0.45, A=0.20, alpha=0.35, B=0.20, beta=0.30),
    "ce@64": dict(E=1.20, A=1.50, alpha=0.30, B=1.00, beta=0.25),
}


def synthetic_results_table(
    sizes: Sequence[float] = (1e6, 2e6, 4e6, 8e6, 16e6, 32e6),
    seeds: int = 3,
    n_checkpoints: int = 20,
    objectives: Sequence[str] = ("pointwise",),
    eval_sets: Sequence[str] = ("synthetic-dev",),
    laws: dict[str, dict[str, float]] | None = None,
    run_sigma: float = 0.01,
    point_sigma: float = 0.003,
    queries: tuple[float, float] = (200.0, 20_000.0),
    docs_per_query: int = 11,
    tokens_per_pair: int = 128,
    seed: int = 0,
) -> pd.DataFrame:
    """A results table drawn from known Chinchilla laws in the error domain.

    For every metric m with law parameters (E, A, alpha, B, beta) in ``laws`` (defaults in
    ``DEFAULT_SYNTHETIC_LAWS``), run r of size N and checkpoint t with D = pairs_seen:

        err = (E + A·(N/1e6)^−alpha + B·(D/1e3)^−beta) · exp(u_r + e_rt),
        u_r ~ Normal(0, run_sigma), e_rt ~ Normal(0, point_sigma)

    so checkpoints of one run share the run effect u_r (correlated, as in real sweeps). Ranking
    metrics are reported as 1 − err, error metrics (``ce@k``) as err. Checkpoints are spaced
    log-uniformly in queries seen over ``queries``. Note the laws are in units N/1e6, D/1e3:
    in raw units A_raw = A·1e6^alpha, B_raw = B·1e3^beta (see ``synthetic_truth``).
    """
    laws = DEFAULT_SYNTHETIC_LAWS if laws is None else laws
    rng = np.random.default_rng(seed)
    q = np.unique(np.round(np.geomspace(queries[0], queries[1], n_checkpoints)))
    rows = []
    for objective in objectives:
        for n in sizes:
            for s in range(seeds):
                run_id = f"{objective}-{size_label(n)}-s{s}"
                run_effect = {m: rng.normal(0.0, run_sigma) for m in laws}
                for step, qs in enumerate(q, start=1):
                    pairs = qs * docs_per_query
                    tokens = pairs * tokens_per_pair
                    for ev in eval_sets:
                        row = dict(
                            run_id=run_id,
                            objective=objective,
                            seed=s,
                            step=step * 100,
                            eval_set=ev,
                            size=size_label(n),
                            family="synthetic",
                            dataset="synthetic",
                            n_params=float(n),
                            n_params_total=float(n) * 1.3,
                            queries_seen=float(qs),
                            pairs_seen=float(pairs),
                            tokens_seen=float(tokens),
                            train_flops=6.0 * n * tokens,
                        )
                        for m, p in laws.items():
                            err = p["E"] + p["A"] * (n / 1e6) ** -p["alpha"]
                            err += p["B"] * (pairs / 1e3) ** -p["beta"]
                            err *= np.exp(run_effect[m] + rng.normal(0.0, point_sigma))
                            row[m] = 1.0 - err if is_ranking_metric(m) else err
                        rows.append(row)
    return pd.DataFrame(rows)


def synthetic_truth(metric: str = "ndcg@10", laws: dict[str, dict[str, float]] | None = None):
    """Parameters of ``synthetic_results_table``'s law for ``metric`` in raw units of N and D
    (the Chinchilla parametrisation E, A, alpha, B, beta)."""
    p = dict((DEFAULT_SYNTHETIC_LAWS if laws is None else laws)[metric])
    p["A"] = p["A"] * 1e6 ** p["alpha"]
    p["B"] = p["B"] * 1e3 ** p["beta"]
    return p
