"""The results table the scaling analysis consumes: schema, validation, metric helpers.

One row per (run, checkpoint, eval set), as written by ``rerankscale.results.collect``:

* keys: ``run_id``, ``step``, ``eval_set`` (unique together);
* run description: ``objective``, ``seed``, ``size`` (label), ``family``, ``dataset``;
* scale: ``n_params`` (non-embedding, Kaplan et al. 2020), ``n_params_total``;
* exposure: ``queries_seen``, ``pairs_seen``, ``tokens_seen``; compute: ``train_flops``;
* metrics: ``ndcg@10``, ``mrr@10``, ``map``, ``recall@k``, ``p@k`` (higher is better, bounded by
  what the candidate list allows) and ``ce@k`` (contrastive entropy, lower is better).

``validate_results_table`` turns every problem the fits would otherwise trip over later (a
missing column, a NaN metric, a non-positive N or D, a duplicated key) into a
``ResultsTableError`` naming the rows and the fix. ``synthetic_results_table`` draws a table
from known laws (with a run-level random effect) for tests and benchmarks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

KEY_COLUMNS = ("run_id", "step", "eval_set")
EXPOSURE_COLUMNS = ("queries_seen", "pairs_seen", "tokens_seen")
POSITIVE_COLUMNS = ("n_params", "n_params_total", *EXPOSURE_COLUMNS, "train_flops")
REQUIRED_COLUMNS = (
    "run_id",
    "objective",
    "seed",
    "step",
    "eval_set",
    *POSITIVE_COLUMNS,
)
OPTIONAL_COLUMNS = ("size", "family", "dataset")

_RANKING_RE = re.compile(
    r"^(ndcg|mrr|map|recall|r|p|precision|success|hits?|rprec|bpref)(@\d+)?$", re.I
)
_ERROR_RE = re.compile(r"^(ce|contrastive_entropy|loss|[a-z0-9_]+_loss)(@\d+)?$", re.I)


class ResultsTableError(ValueError):
    """The results table cannot be analysed as it is; the message names the problem, the
    offending rows and the fix."""


# --------------------------------------------------------------------------- metric names


def is_ranking_metric(name: str) -> bool:
    """True for higher-is-better ranking metrics (``ndcg@10``, ``mrr@10``, ``map``, ``recall@k``,
    ``p@k`` ...)."""
    return bool(_RANKING_RE.match(name))


def is_error_metric(name: str) -> bool:
    """True for lower-is-better quantities that are already errors (``ce@64``, ``*_loss``)."""
    return bool(_ERROR_RE.match(name))


def metric_columns(df: pd.DataFrame) -> list[str]:
    """Columns of ``df`` whose names are ranking metrics or error metrics, in table order."""
    return [
        c for c in df.columns if isinstance(c, str) and (is_ranking_metric(c) or is_error_metric(c))
    ]


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


# --------------------------------------------------------------------------- validation


def _show_rows(df: pd.DataFrame, mask, extra: Sequence[str] = (), limit: int = 10) -> str:
    cols = [c for c in (*KEY_COLUMNS, *extra) if c in df.columns]
    bad = df.loc[np.asarray(mask, dtype=bool), cols]
    text = bad.head(limit).to_string()
    if len(bad) > limit:
        text += f"\n... and {len(bad) - limit} more"
    return text


def validate_results_table(
    df: pd.DataFrame,
    metrics: Iterable[str] | None = None,
    *,
    required: Sequence[str] = REQUIRED_COLUMNS,
    positive: Sequence[str] = POSITIVE_COLUMNS,
) -> pd.DataFrame:
    """Check a results table and return it unchanged, or raise ``ResultsTableError``.

    Checks, in order: required columns present; at least one metric column (or ``metrics``
    given and present); numeric dtypes for N, D, FLOPs and metrics; no NaN/inf in metrics;
    N, exposures and FLOPs strictly positive (a power law in x needs log x); the key
    (run_id, step, eval_set) unique. Every message names the offending rows and the fix.
    """
    if not isinstance(df, pd.DataFrame):
        raise ResultsTableError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ResultsTableError(
            f"results table is missing required columns {missing}. Present: {list(df.columns)}. "
            "Fix: build the table with rerankscale.results.collect(runs_dir), or add the columns "
            "(n_params = non-embedding parameter count; exposures and train_flops per checkpoint)."
        )
    metrics = list(metrics) if metrics is not None else metric_columns(df)
    if not metrics:
        raise ResultsTableError(
            "results table has no metric columns (expected names like 'ndcg@10', 'mrr@10', "
            f"'map', 'ce@64'); columns are {list(df.columns)}. Fix: pass metrics=[...] explicitly."
        )
    absent = [m for m in metrics if m not in df.columns]
    if absent:
        raise ResultsTableError(
            f"metric columns {absent} are not in the results table. Fix: choose among "
            f"{metric_columns(df)}."
        )
    numeric = [c for c in (*positive, *metrics) if c in df.columns]
    not_numeric = [c for c in numeric if not pd.api.types.is_numeric_dtype(df[c])]
    if not_numeric:
        raise ResultsTableError(
            f"columns {not_numeric} must be numeric but have dtypes "
            f"{[str(df[c].dtype) for c in not_numeric]}. Fix: convert them with pd.to_numeric."
        )
    values = df[metrics].to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = bad.any(axis=1)
        cols = [m for m, b in zip(metrics, bad.any(axis=0)) if b]
        raise ResultsTableError(
            f"{int(rows.sum())} rows have NaN/inf in metric columns {cols}:\n"
            f"{_show_rows(df, rows, cols)}\n"
            "Fix: re-run evaluation for these checkpoints, or drop them explicitly "
            f"(df.dropna(subset={cols})) and say so in the analysis."
        )
    for col in positive:
        if col not in df.columns:
            continue
        v = df[col].to_numpy(dtype=float)
        nonpos = ~(v > 0)
        if nonpos.any():
            raise ResultsTableError(
                f"{int(nonpos.sum())} rows have non-positive or missing {col!r} (a power law "
                f"needs log {col}):\n{_show_rows(df, nonpos, [col])}\n"
                "Fix: drop the step-0 / untrained checkpoints (df[df[col] > 0]) or repair the "
                "exposure and parameter counts of these runs."
            )
    dup = df.duplicated(list(KEY_COLUMNS), keep=False).to_numpy()
    if dup.any():
        raise ResultsTableError(
            f"{int(dup.sum())} rows share a key (run_id, step, eval_set):\n"
            f"{_show_rows(df, dup, ['objective', 'size', 'seed'])}\n"
            "Fix: each run must have one row per checkpoint and eval set; two runs merged under "
            "one run_id (or an evaluation appended twice) must be separated or de-duplicated."
        )
    return df


# --------------------------------------------------------------------------- selections


def final_checkpoints(df: pd.DataFrame, last: int = 1) -> pd.DataFrame:
    """Rows of the ``last`` highest steps of every (run_id, eval_set)."""
    rank = df.groupby(["run_id", "eval_set"])["step"].rank(method="dense", ascending=False)
    return df[rank <= last]


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
