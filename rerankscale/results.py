"""The consolidated results table: one row per (run_id, step, eval_set).

Each run directory holds ``config.json`` (written by training) and ``eval/metrics.jsonl``
(written by evaluation). ``collect`` joins them into one table with the columns the scaling
analysis consumes:

    run_id, dataset, family, size, objective, seed, n_params (non-embedding), n_params_total,
    step, queries_seen, pairs_seen, tokens_seen, train_flops, attention_flops, eval_set,
    subset, n_queries, <metrics...>

Where a checkpoint was evaluated both on the eval set's seeded query subset and on the full
set, the full-set row wins; the ``subset`` column says which one a row is. The key (run_id,
step, eval_set) is unique; a duplicate is an error, as is a NaN metric.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from rerankscale.io import atomic_write_bytes, atomic_write_text, read_jsonl

KEY = ["run_id", "step", "eval_set"]
RUN_COLUMNS = [
    "run_id",
    "dataset",
    "family",
    "size",
    "objective",
    "seed",
    "n_params",
    "n_params_total",
]
EXPOSURE_COLUMNS = [
    "step",
    "queries_seen",
    "pairs_seen",
    "tokens_seen",
    "train_flops",
    "attention_flops",
]
NON_METRIC_COLUMNS = set(
    RUN_COLUMNS
    + EXPOSURE_COLUMNS
    + [
        "eval_set",
        "subset",
        "n_queries",
        "frozen_metrics",
        "seconds",
        "n_excluded",
        "ce_excluded",
    ]
)


class ResultsError(ValueError):
    """The results table or a run directory is not valid; the message names rows and the fix."""


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
        for c in RUN_COLUMNS + EXPOSURE_COLUMNS + ["eval_set", "subset", "n_queries"]
        if c in table
    ]
    rest = sorted(c for c in table.columns if c not in leading)
    table = table[leading + rest].sort_values(["run_id", "eval_set", "step"]).reset_index(drop=True)
    validate(table)
    return table


def metric_columns(table: pd.DataFrame) -> list[str]:
    """Columns holding metrics (numeric, not run/exposure bookkeeping)."""
    return [
        c
        for c in table.columns
        if c not in NON_METRIC_COLUMNS
        and (pd.api.types.is_numeric_dtype(table[c]) or table[c].isna().all())
    ]


def validate(table: pd.DataFrame) -> None:
    """Unique keys and no NaN metrics; errors name the offending rows."""
    key = KEY
    missing = [c for c in RUN_COLUMNS + ["step", "eval_set"] if c not in table]
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
            f"NaN in metric column(s) {cols} for rows:\n{bad[KEY].to_string()}\n"
            "re-evaluate those checkpoints (delete their rows from eval/metrics.jsonl and rerun)"
        )


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


def final_checkpoints(table: pd.DataFrame) -> pd.DataFrame:
    """The last (largest ``queries_seen``) checkpoint of each run and eval set."""
    idx = table.groupby(["run_id", "eval_set"])["queries_seen"].idxmax()
    return table.loc[np.sort(idx.to_numpy())].reset_index(drop=True)
