"""Notebook 06 (compute): the joint law in (N, training tokens) so that C = 6·N·D is dense
training compute (``compute_fits``), the compute-allocation exponents (T4) and compute-optimal
frontier (F4), the equal-compute checkpoint comparison (T5, F5) and the inference-aware
optimum (T6). Imports neither torch nor transformers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rerankscale import scaling as sc
from rerankscale.config import parse_size
from rerankscale.reporting import plots
from rerankscale.reporting.analysis import Analysis

# --------------------------------------------------------------------------- compute (T4-T6, F4, F5)


def tokens_per_query(a: Analysis) -> float:
    """Mean non-padding training tokens per training query (sets D in tokens)."""
    final = sc.final_checkpoints(a.on())
    return float((final["tokens_seen"] / final["queries_seen"]).median())


def compute_fits(a: Analysis, metric: str = "ndcg@10") -> dict[str, sc.FitResult]:
    """Joint law per objective in (N, training tokens) on every size and checkpoint, so that
    C = 6·N·D is dense training compute."""
    rows = a.on()
    return a.cached_fits(
        "compute",
        metric,
        None,
        lambda: {
            obj: sc.fit_law(
                g, sc.ChinchillaLaw(), y=metric, n="n_params", d="tokens_seen", grid="coarse"
            )
            for obj, g in rows.groupby("objective")
        },
    )


def has_interior_optimum(r: sc.FitResult) -> bool:
    """Whether a joint fit implies a compute-optimal split: both terms present (A, α, B, β > 0).
    When the size term vanishes (α or A at 0: larger models did not help) every FLOP should
    go to data and there is no N*(C) to report."""
    if r.status == "degenerate":
        return False
    return all(r.params[k] > 1e-9 for k in ("A", "alpha", "B", "beta"))


def compute_budgets(a: Analysis, n: int = 9) -> np.ndarray:
    """Log-spaced compute budgets spanning the study's measured dense training FLOPs."""
    flops = a.on()["dense_flops"]
    return np.geomspace(flops.min(), flops.max(), n)


def t4_allocation(
    a: Analysis, metric: str = "ndcg@10", n_boot: int = 200, seed: int = 0
) -> pd.DataFrame:
    """T4: allocation exponents N* ∝ C^a, D* ∝ C^b per objective (a = β/(α+β), b = α/(α+β)),
    with 95% bootstrap intervals over runs."""
    rows = []
    for obj, r in compute_fits(a, metric).items():
        row = {
            "objective": obj,
            "metric": metric,
            "status": r.status,
            "on_bound": ",".join(r.on_bound),
            "interior_optimum": has_interior_optimum(r),
        }
        if not row["interior_optimum"]:
            rows.append(row)  # no N*(C): exponents would be meaningless
            continue
        row.update(sc.allocation_exponents(r))
        row.update(alpha=r.params["alpha"], beta=r.params["beta"])
        if n_boot:
            draws = sc.bootstrap_fit(r, n_boot=n_boot, seed=seed).draws
            draws = draws[draws["status"].isin(["ok", "on_bound"])]
            share = draws["beta"] / (draws["alpha"] + draws["beta"])
            row.update(
                a_lo=share.quantile(0.025),
                a_hi=share.quantile(0.975),
                b_lo=1 - share.quantile(0.975),
                b_hi=1 - share.quantile(0.025),
                n_boot=len(draws),
            )
        rows.append(row)
    return pd.DataFrame(rows)


def f4_compute_optimal(a: Analysis, metric: str = "ndcg@10"):
    """F4: N*(C), D*(C) per objective and the iso-FLOP profiles of the joint law, with the
    measured iso-FLOP points (each size's curve interpolated at the budget)."""
    budgets = compute_budgets(a)
    fits = compute_fits(a, metric)
    optimal, iso = [], []
    for obj, r in fits.items():
        if not has_interior_optimum(r):
            continue
        optimal.append(sc.compute_optimal(r, budgets, k=6.0).assign(objective=obj))
        iso.append(sc.isoflop_profiles(r, budgets[::4], k=6.0).assign(objective=obj))
    empirical = sc.empirical_isoflop(a.on(), metric, budgets[::4], flops_col="dense_flops")
    missing = sorted(set(fits) - {o["objective"].iloc[0] for o in optimal})
    if not optimal:
        optimal = [pd.DataFrame(columns=["C", "N_opt", "D_opt", "objective"])]
        iso = [pd.DataFrame(columns=["C", "N", "prediction_metric", "N_opt", "objective"])]
    sizes = a.on()["n_params"]
    fig = plots.plot_compute_optimal(
        pd.concat(optimal),
        pd.concat(iso),
        empirical=empirical,
        metric=metric,
        trained=(sizes.min(), sizes.max()),
    )
    if missing:
        fig.suptitle(
            f"no interior optimum (size term vanished) for: {', '.join(missing)}", fontsize=8
        )
    if len(fig.axes) > 1 and sc.is_ranking_metric(metric):
        fig.axes[1].set_ylim(0, 1)  # the law extrapolated far below the data leaves [0, 1]
    return fig


def equal_compute(a: Analysis, metric: str = "ndcg@10") -> pd.DataFrame:
    """Every checkpoint of each size against each other size at matched training FLOPs."""
    return sc.equal_compute_comparison(a.on(), metric, flops_col="train_flops")


def t5_equal_compute(eq: pd.DataFrame) -> pd.DataFrame:
    """T5: per objective and size pair, how often the larger model wins at equal training
    FLOPs and by how much (mean difference large − small over matched checkpoints)."""
    keys = ["objective", "metric", "size_small", "size_large", "n_small", "n_large"]
    out = (
        eq.groupby(keys)
        .agg(
            matched=("difference", "size"),
            larger_wins=("winner", lambda w: float((w == "large").mean())),
            mean_difference=("difference", "mean"),
            at_max_flops=("difference", "last"),
        )
        .reset_index()
    )
    return out.sort_values(["objective", "n_small", "n_large"]).reset_index(drop=True)


def f5_equal_compute(eq: pd.DataFrame):
    """F5: larger − smaller at matched training FLOPs (adjacent size pairs)."""
    return plots.plot_equal_compute(eq, adjacent_only=True)


def t6_inference_aware(
    a: Analysis,
    metric: str = "ndcg@10",
    queries: float = 1e6,
    budgets_per_train: tuple[float, ...] = (1.0, 3.0, 10.0),
) -> pd.DataFrame:
    """T6 (beyond the paper): the best size when serving is paid for too. Total cost =
    6·N·D_tokens (training) + 2·N·tokens_per_pair·depth·queries (reranking ``queries``
    queries at the study's candidate depth); budgets are multiples of the largest measured
    training compute. ``N_train_only`` is the optimum when everything is spent on training."""
    depth = a.study.base.eval.depth
    final = sc.final_checkpoints(a.on())
    per_pair = float((final["tokens_seen"] / final["pairs_seen"]).median())
    top = a.on()["dense_flops"].max()
    frames = []
    for obj, r in compute_fits(a, metric).items():
        if not has_interior_optimum(r):
            continue
        serve_per_n = 2.0 * per_pair * depth * queries
        totals = [top * m + serve_per_n * parse_size(a.study.sizes[-1]) for m in budgets_per_train]
        frames.append(
            sc.inference_aware_optimum(
                r,
                totals,
                queries=queries,
                depth=depth,
                tokens_per_pair=per_pair,
                k=6.0,
            ).assign(objective=obj, queries=queries, depth=depth, tokens_per_pair=per_pair)
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
