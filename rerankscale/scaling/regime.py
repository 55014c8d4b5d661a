"""Is a study in the paper's regime? The checks of T7, measured on a results table (no torch).

The paper's rerankers (pretrained Ettin members fine-tuned on MS MARCO) start above the first
stage, improve smoothly with exposure, and a larger member is better at every checkpoint. Each
check here is one of those statements, computed on seed means (``scaling.seed_average`` over
runs of a size × objective × checkpoint × eval set):

* ``above_first_stage``: every seed-mean learning curve is above the first stage (BM25) from its
  second checkpoint on;
* ``power_law_regime``: the exposure law y = a + b·D^c fits each curve with R² ≥ 0.9, and the
  curve is not convex in log exposure (its slope per log unit over the second half is not larger
  than over the first half);
* ``monotone_in_size``: at every checkpoint from the middle of training on, the seed mean
  strictly increases with N over all sizes (held-out ones included).

Each function returns a table with one row per unit checked and a boolean ``ok``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rerankscale import scaling as sc


def seed_means(table: pd.DataFrame, metric: str = "ndcg@10") -> pd.DataFrame:
    """Mean and count over seeds per (eval set, objective, size, checkpoint)."""
    keys = ["eval_set", "objective", "size", "n_params", "queries_seen"]
    out = table.groupby(keys, as_index=False).agg(y=(metric, "mean"), n_seeds=("seed", "nunique"))
    return out.sort_values(keys, ignore_index=True)


def above_first_stage(
    table: pd.DataFrame, first_stage: dict[str, float], metric: str = "ndcg@10"
) -> pd.DataFrame:
    """Per curve: the smallest margin over the first stage from the second checkpoint on."""
    rows = []
    for (es, obj, size, n), c in seed_means(table, metric).groupby(
        ["eval_set", "objective", "size", "n_params"]
    ):
        later = c["y"].to_numpy()[1:]
        margin = float(later.min() - first_stage[es])
        rows.append(
            {
                "eval_set": es,
                "objective": obj,
                "size": size,
                "n_params": n,
                "first": float(c["y"].iloc[0]),
                "min_from_second": float(later.min()),
                "first_stage": first_stage[es],
                "margin": margin,
                "ok": margin > 0,
            }
        )
    return pd.DataFrame(rows)


def curvature(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slopes of y per unit of log x over the first and the second half of a curve."""
    u = np.log(np.asarray(x, dtype=float))
    mid = len(u) // 2
    early = (y[mid] - y[0]) / (u[mid] - u[0])
    late = (y[-1] - y[mid]) / (u[-1] - u[mid])
    return float(early), float(late)


def power_law_regime(
    table: pd.DataFrame, metric: str = "ndcg@10", min_r2: float = 0.9
) -> pd.DataFrame:
    """Per seed-mean curve: R² of the exposure law, early and late slopes, exposure span."""
    rows = []
    for (es, obj, size, n), c in seed_means(table, metric).groupby(
        ["eval_set", "objective", "size", "n_params"]
    ):
        x, y = c["queries_seen"].to_numpy(float), c["y"].to_numpy(float)
        # the coarse start grid, as every other fit of the analysis: on the committed CPU study
        # its 12 starts reach the optimum the full grid's 45 find (R² equal to 5e-10, the same
        # fit status for all 36 curves) at a quarter of the cost (4 s of CPU instead of 14 s)
        r = sc.fit(sc.SaturatingLaw(), x, y, grid="coarse")
        resid = y - r.predict(x) if r.status != "degenerate" else np.full_like(y, np.nan)
        r2 = float(1 - np.sum(resid**2) / np.sum((y - y.mean()) ** 2))
        early, late = curvature(x, y)
        rows.append(
            {
                "eval_set": es,
                "objective": obj,
                "size": size,
                "n_params": n,
                "r2": r2,
                "fit_status": r.status,
                "slope_early": early,
                "slope_late": late,
                "span": float(x.max() / x.min()),
                "ok": r2 >= min_r2 and late <= early and x.max() / x.min() >= 16,
            }
        )
    return pd.DataFrame(rows)


def monotone_in_size(table: pd.DataFrame, metric: str = "ndcg@10") -> pd.DataFrame:
    """Per (eval set, objective, checkpoint) from the middle of training on: whether the seed
    mean strictly increases with N, and the smallest step between adjacent sizes."""
    means = seed_means(table, metric)
    rows = []
    for (es, obj), part in means.groupby(["eval_set", "objective"]):
        points = sorted(part["queries_seen"].unique())
        for q in points[len(points) // 2 :]:
            c = part[part["queries_seen"] == q].sort_values("n_params")
            steps = np.diff(c["y"].to_numpy())
            if not len(steps):  # one size: nothing to order
                continue
            worst = int(np.argmin(steps))
            rows.append(
                {
                    "eval_set": es,
                    "objective": obj,
                    "queries_seen": int(q),
                    "min_step": float(steps.min()),
                    "worst_pair": f"{c['size'].iloc[worst]}→{c['size'].iloc[worst + 1]}",
                    "ok": bool((steps > 0).all()),
                }
            )
    return pd.DataFrame(rows)


def summary(
    table: pd.DataFrame, first_stage: dict[str, float], metric: str = "ndcg@10"
) -> pd.DataFrame:
    """T7: each check's share of units passing, and the worst unit."""
    out = []
    for name, t, worst_col in (
        (
            "above first stage from checkpoint 2",
            above_first_stage(table, first_stage, metric),
            "margin",
        ),
        (
            "power-law regime (R² ≥ 0.9, not convex, span ≥ 16×)",
            power_law_regime(table, metric),
            "r2",
        ),
        ("strictly increasing in N from mid-training", monotone_in_size(table, metric), "min_step"),
    ):
        measured = t[worst_col].notna().any()  # not, e.g., when every fit is degenerate
        worst = t.loc[t[worst_col].idxmin()] if measured else None
        out.append(
            {
                "check": name,
                "metric": metric,
                "units": len(t),
                "passed": int(t["ok"].sum()),
                "worst_value": float(worst[worst_col]) if measured else float("nan"),
                "worst_unit": " · ".join(
                    str(worst[k])
                    for k in ("eval_set", "objective", "size", "queries_seen", "worst_pair")
                    if k in worst.index
                )
                if measured
                else f"none: no unit has a {worst_col}",
            }
        )
    return pd.DataFrame(out)
