"""Print the README's result tables (markdown) from a committed artifact set.

    .venv/bin/python tools/readme_tables.py [figures]

Reads ``T1_final_metrics.csv`` (final NDCG@10, seed mean ± sd), ``T7_regime.csv`` (the regime
checks) and ``T3_forecast_summary.csv`` (held-out forecasts) and prints the tables that the
README's "The CPU study" section shows, so they are regenerated from ``figures/``, never typed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from rerankscale.config import load_preset, parse_size

METRIC = "ndcg@10"


def final_metrics(figures: Path, held_out: set[str]) -> str:
    t1 = pd.read_csv(figures / "T1_final_metrics.csv")
    out = []
    for eval_set, part in t1.groupby("eval_set", sort=True):
        first = part[part["size"] == "-"]
        runs = part[part["size"] != "-"]
        sizes = sorted(runs["size"].unique(), key=parse_size)
        bm25 = float(first[METRIC].iloc[0]) if len(first) else float("nan")
        out.append(
            f"Final-checkpoint NDCG@10 on `{eval_set}` (mean ± sd of the seeds; first stage "
            f"BM25: {bm25:.3f}; * held out):\n"
        )
        out.append(
            "| objective | " + " | ".join(s + ("*" if s in held_out else "") for s in sizes) + " |"
        )
        out.append("|---" * (len(sizes) + 1) + "|")
        for objective, rows in runs.groupby("objective", sort=True):
            cells = []
            for size in sizes:
                row = rows[rows["size"] == size].iloc[0]
                cells.append(f"{row[METRIC]:.3f} ± {row[METRIC + ' sd']:.3f}")
            out.append(f"| {objective} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def regime(figures: Path) -> str:
    t7 = pd.read_csv(figures / "T7_regime.csv")
    out = ["| check | passed | worst case |", "|---|---|---|"]
    for row in t7.itertuples(index=False):
        worst = f"{row.worst_unit}: {row.worst_value:+.3f}" if pd.notna(row.worst_unit) else "—"
        out.append(f"| {row.check} | {row.passed} / {row.units} | {worst} |")
    return "\n".join(out)


def forecasts(figures: Path) -> str:
    t3 = pd.read_csv(figures / "T3_forecast_summary.csv")
    t3 = t3[t3["metric"] == METRIC].sort_values(["kind", "eval_set", "objective"])
    out = [
        "| law | eval set | objective | MAE | bias (actual − predicted) | 95% intervals covering | interval |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in t3.itertuples(index=False):
        covered = round(r.coverage * r.n_valid_intervals) if pd.notna(r.coverage) else 0
        out.append(
            f"| {r.kind} | {r.eval_set} | {r.objective} | {r.mae:.3f} | {r.bias:+.3f} | "
            f"{covered} / {r.n} | {r.interval_method} |"
        )
    return "\n".join(out)


def main() -> None:
    figures = Path(sys.argv[1] if len(sys.argv) > 1 else "figures")
    held_out = set(load_preset("cpu").held_out)
    print(final_metrics(figures, held_out))
    print(regime(figures), "\n")
    print(forecasts(figures))


if __name__ == "__main__":
    main()
