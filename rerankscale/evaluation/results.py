"""The results table: its schema, validation and selections, and how it is built.

One row per (run_id, step, eval_set). Each run directory holds ``config.json`` (written by
training) and ``eval/metrics.jsonl`` (written by evaluation). ``collect`` joins them into one
table with the columns the scaling analysis consumes:

    run_id, dataset, family, size, objective, seed, n_params (non-embedding), n_params_total,
    step, queries_seen, pairs_seen, tokens_seen, train_flops, attention_flops, eval_set,
    subset, n_queries, <metrics...>

* keys: ``KEY_COLUMNS`` = ``run_id``, ``step``, ``eval_set`` (unique together);
* run description: ``RUN_COLUMNS`` (``objective``, ``seed``, ``size`` label, ``family``,
  ``dataset``; scale ``n_params`` = non-embedding, Kaplan et al. 2020, and ``n_params_total``);
* a checkpoint's record: ``CHECKPOINT_COLUMNS`` = ``step``, the exposures ``EXPOSURE_COLUMNS``
  (``queries_seen``, ``pairs_seen``, ``tokens_seen``: the candidate D axes of a law) and
  compute (``train_flops``, ``attention_flops``), as evaluation copies them into every
  metrics row;
* metrics (``metric_columns``): named ``ndcg@10``, ``mrr@10``, ``map``, ``recall@k``, ``p@k``
  (ranking metrics, higher is better, bounded by what the candidate list allows) and ``ce@k``
  (contrastive entropy, an error: lower is better).

Where a checkpoint was evaluated both on the eval set's seeded query subset and on the full
set, the full-set row wins; the ``subset`` column says which one a row is. Two checks, one
error class (``ResultsError``): ``validate`` (a built or loaded table: unique keys, no NaN
metric) and ``validate_results_table`` (a table the scaling fits can use: also numeric, finite
and positive N, D and FLOPs), each naming the offending rows and the fix.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rerankscale.io import atomic_write_bytes, atomic_write_text, read_jsonl

KEY_COLUMNS = ("run_id", "step", "eval_set")
RUN_COLUMNS = (
    "run_id",
    "dataset",
    "family",
    "size",
    "objective",
    "seed",
    "n_params",
    "n_params_total",
)
EXPOSURE_COLUMNS = ("queries_seen", "pairs_seen", "tokens_seen")
CHECKPOINT_COLUMNS = ("step", *EXPOSURE_COLUMNS, "train_flops", "attention_flops")
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


class ResultsError(ValueError):
    """The results table or a run directory is not valid, or the table cannot be analysed as it
    is; the message names the problem, the offending rows and the fix."""


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


# --------------------------------------------------------------------------- building


def run_summary(run_dir: Path) -> dict:
    """The run-level columns of a run directory, from its ``config.json``."""
    path = Path(run_dir) / "config.json"
    if not path.exists():
        raise ResultsError(
            f"{run_dir} has no config.json: it is not a run directory (train it first)"
        )
    info = json.loads(path.read_text())
    cfg = info["config"]
    model = info.get("model", {})
    return {
        "run_id": info["run_id"],
        "dataset": cfg["data"]["train_dataset"],
        "family": cfg["model"]["family"],
        "size": cfg["model"]["size"],
        "objective": cfg["train"]["objective"],
        "seed": cfg["train"]["seed"],
        "n_params": model.get("n_params"),
        "n_params_total": model.get("n_params_total"),
    }


def run_dirs(runs_dir: Path) -> list[Path]:
    """Run directories below ``runs_dir`` (those with a ``config.json``), sorted."""
    runs_dir = Path(runs_dir)
    return sorted(p.parent for p in runs_dir.glob("*/config.json"))


def collect(runs_dir: Path) -> pd.DataFrame:
    """Join every run's config with its metrics rows into the results table."""
    rows = []
    for run_dir in run_dirs(runs_dir):
        summary = run_summary(run_dir)
        chosen: dict[tuple, dict] = {}
        for row in read_jsonl(run_dir / "eval" / "metrics.jsonl"):
            key = (row["step"], row["eval_set"])
            if key in chosen and not chosen[key].get("subset") and row.get("subset"):
                continue  # keep the full-set evaluation
            if key in chosen and bool(chosen[key].get("subset")) == bool(row.get("subset")):
                raise ResultsError(
                    f"{run_dir}/eval/metrics.jsonl evaluates step {key[0]} on {key[1]} twice; "
                    "delete one of the two lines"
                )
            chosen[key] = row
        for row in chosen.values():
            # nested fields (the baseline on the same queries, evaluation settings) stay in
            # metrics.jsonl; the table holds scalars
            row = {k: v for k, v in row.items() if not isinstance(v, dict)}
            merged = {**row, **summary}
            frozen = merged.get("frozen_metrics")
            if isinstance(frozen, list):
                merged["frozen_metrics"] = ",".join(frozen)
            rows.append(merged)
    if not rows:
        raise ResultsError(
            f"no evaluated checkpoints under {runs_dir}: run the sweep (`rerankscale sweep`) or "
            "train and evaluate a run first"
        )
    table = pd.DataFrame(rows)
    leading = [
        c
        for c in (*RUN_COLUMNS, *CHECKPOINT_COLUMNS, "eval_set", "subset", "n_queries")
        if c in table
    ]
    rest = sorted(c for c in table.columns if c not in leading)
    table = table[leading + rest].sort_values(["run_id", "eval_set", "step"]).reset_index(drop=True)
    validate(table)
    return table


# --------------------------------------------------------------------------- validation


def validate(table: pd.DataFrame) -> None:
    """A built or loaded table: unique keys and no NaN metrics; errors name the offending rows."""
    key = list(KEY_COLUMNS)
    missing = [c for c in (*RUN_COLUMNS, "step", "eval_set") if c not in table]
    if missing:
        raise ResultsError(f"results table lacks column(s) {missing}")
    dup = table[table.duplicated(key, keep=False)]
    if len(dup):
        raise ResultsError(
            f"duplicate keys {key} in the results table (a run evaluated twice?):\n"
            f"{dup[key].to_string()}\nremove the duplicate rows from the runs' eval/metrics.jsonl"
        )
    metrics = metric_columns(table)
    bad = table[table[metrics].isna().any(axis=1)] if metrics else table.iloc[0:0]
    if len(bad):
        cols = [c for c in metrics if table[c].isna().any()]
        raise ResultsError(
            f"NaN in metric column(s) {cols} for rows:\n{bad[key].to_string()}\n"
            "re-evaluate those checkpoints (delete their rows from eval/metrics.jsonl and rerun)"
        )


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
    """Check a results table and return it unchanged, or raise ``ResultsError``.

    Checks, in order: required columns present; at least one metric column (or ``metrics``
    given and present); numeric dtypes for N, D, FLOPs and metrics; no NaN/inf in metrics;
    N, exposures and FLOPs strictly positive (a power law in x needs log x); the key
    (run_id, step, eval_set) unique. Every message names the offending rows and the fix.
    """
    if not isinstance(df, pd.DataFrame):
        raise ResultsError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ResultsError(
            f"results table is missing required columns {missing}. Present: {list(df.columns)}. "
            "Fix: build the table with rerankscale.evaluation.results.collect(runs_dir), or add the columns "
            "(n_params = non-embedding parameter count; exposures and train_flops per checkpoint)."
        )
    metrics = list(metrics) if metrics is not None else metric_columns(df)
    if not metrics:
        raise ResultsError(
            "results table has no metric columns (expected names like 'ndcg@10', 'mrr@10', "
            f"'map', 'ce@64'); columns are {list(df.columns)}. Fix: pass metrics=[...] explicitly."
        )
    absent = [m for m in metrics if m not in df.columns]
    if absent:
        raise ResultsError(
            f"metric columns {absent} are not in the results table. Fix: choose among "
            f"{metric_columns(df)}."
        )
    numeric = [c for c in (*positive, *metrics) if c in df.columns]
    not_numeric = [c for c in numeric if not pd.api.types.is_numeric_dtype(df[c])]
    if not_numeric:
        raise ResultsError(
            f"columns {not_numeric} must be numeric but have dtypes "
            f"{[str(df[c].dtype) for c in not_numeric]}. Fix: convert them with pd.to_numeric."
        )
    values = df[metrics].to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = bad.any(axis=1)
        cols = [m for m, b in zip(metrics, bad.any(axis=0)) if b]
        raise ResultsError(
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
            raise ResultsError(
                f"{int(nonpos.sum())} rows have non-positive or missing {col!r} (a power law "
                f"needs log {col}):\n{_show_rows(df, nonpos, [col])}\n"
                "Fix: drop the step-0 / untrained checkpoints (df[df[col] > 0]) or repair the "
                "exposure and parameter counts of these runs."
            )
    dup = df.duplicated(list(KEY_COLUMNS), keep=False).to_numpy()
    if dup.any():
        raise ResultsError(
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


# --------------------------------------------------------------------------- files


def save(table: pd.DataFrame, path_stem: Path) -> tuple[Path, Path]:
    """Write ``<stem>.csv`` and ``<stem>.parquet`` atomically; returns both paths."""
    path_stem = Path(path_stem)
    csv_path = path_stem.with_suffix(".csv")
    parquet_path = path_stem.with_suffix(".parquet")
    atomic_write_text(csv_path, table.to_csv(index=False, float_format="%.10g"))
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    atomic_write_bytes(parquet_path, buffer.getvalue())
    return csv_path, parquet_path


def load(path: Path) -> pd.DataFrame:
    """Read a saved results table (.csv or .parquet) and validate it."""
    path = Path(path)
    if not path.exists():
        raise ResultsError(
            f"no results table at {path}: run `make study` (or `rerankscale sweep`) to create it"
        )
    fix = "rebuild it with `rerankscale figures` (or `make study`)"
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ResultsError(
            f"the results table {path} is empty (no header, no rows); {fix}"
        ) from None
    if table.empty:
        raise ResultsError(f"the results table {path} has a header but no rows; {fix}")
    if "subset" in table:
        table["subset"] = table["subset"].astype(bool)
    validate(table)
    return table
