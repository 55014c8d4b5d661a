"""Figures of one run: training curves and metrics against exposure (notebooks 02 and 03).

Reads only the run directory's ``train_log.jsonl`` and ``eval/metrics.jsonl``; imports
neither torch nor transformers.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from rerankscale.io import read_jsonl


def training_log(run_dir: str | Path) -> pd.DataFrame:
    """The run's ``train_log.jsonl`` as a table (empty if nothing was logged yet)."""
    return pd.DataFrame(read_jsonl(Path(run_dir) / "train_log.jsonl"))


def run_metrics(run_dir: str | Path) -> pd.DataFrame:
    """The run's ``eval/metrics.jsonl`` as a table, sorted by eval set and exposure."""
    table = pd.DataFrame(read_jsonl(Path(run_dir) / "eval" / "metrics.jsonl"))
    if table.empty:
        return table
    return table.sort_values(["eval_set", "queries_seen", "subset"]).reset_index(drop=True)


def training_curves(run_dir: str | Path):
    """Loss, learning rate and gradient norm against training queries seen."""
    log = training_log(run_dir)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), constrained_layout=True)
    if log.empty:
        fig.suptitle(f"{Path(run_dir).name}: no training log yet")
        return fig
    for ax, column in zip(axes, ("loss", "lr", "grad_norm")):
        if column in log:
            ax.plot(log["queries_seen"], log[column], lw=1)
        ax.set_xlabel("training queries seen")
        ax.set_ylabel(column)
        ax.set_xscale("log")
    axes[0].set_yscale("log")
    fig.suptitle(Path(run_dir).name)
    return fig


def metrics_vs_exposure(run_dir: str | Path, metrics=("ndcg@10", "mrr@10"), baseline=None):
    """Each metric against queries seen, one line per eval set (full-set points filled,
    subset points hollow); ``baseline`` maps eval set → {metric: first-stage value}."""
    table = run_metrics(run_dir)
    metrics = [m for m in metrics if not table.empty and m in table]
    fig, axes = plt.subplots(
        1,
        max(1, len(metrics)),
        figsize=(5 * max(1, len(metrics)), 3.4),
        constrained_layout=True,
        squeeze=False,
    )
    for ax, metric in zip(axes[0], metrics):
        for i, (eval_set, rows) in enumerate(table.groupby("eval_set")):
            color = f"C{i}"
            ax.plot(rows["queries_seen"], rows[metric], color=color, lw=1, label=eval_set)
            full = rows[~rows["subset"].astype(bool)]
            ax.scatter(full["queries_seen"], full[metric], color=color, s=18)
            if baseline and eval_set in baseline and metric in baseline[eval_set]:
                ax.axhline(baseline[eval_set][metric], color=color, ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("training queries seen")
        ax.set_ylabel(metric)
        ax.legend(fontsize=8)
    fig.suptitle(f"{Path(run_dir).name} (dotted: first stage)")
    return fig
