"""F7: rollout validation (``scaling.rollout``) as a figure.

One panel per (eval set, axis): the signed error of every rollout forecast, bias = actual −
predicted (positive: the law under-predicts), against its extrapolation distance ln(x / x_max
fitted) in log N or log D; one colour per objective (``plots.OBJECTIVE_COLORS``); filled
markers where the 95% prediction interval covered the actual, hollow where it missed, crosses
where no valid interval exists. The panel title gives the coverage and the interval methods.
Imports neither torch nor transformers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rerankscale.reporting.plots import _figure, _objectives, objective_color

AXIS_LABELS = {"size": "ln(N / largest fitted N)", "exposure": "ln(D / largest fitted D)"}


def plot_rollout(ro: pd.DataFrame, *, metric: str | None = None) -> Figure:
    """F7 from a rollout frame (``rollout_sizes`` and/or ``rollout_exposure`` rows); a frame
    without rows (too few sizes and checkpoints to roll out) gives a figure that says so."""
    if "prediction" not in ro:
        ro = pd.DataFrame(columns=["metric", "prediction", "eval_set", "axis", "objective"])
    if metric is not None:
        ro = ro[ro["metric"] == metric]
    ro = ro[ro["prediction"].notna()]
    eval_sets = sorted(ro["eval_set"].unique()) if "eval_set" in ro else [None]
    axes_kinds = [k for k in ("size", "exposure") if k in set(ro["axis"])]
    fig, axes = _figure(ncols=max(len(axes_kinds), 1), nrows=max(len(eval_sets), 1), sharey="row")
    objs = _objectives(ro)
    drawn = []
    for i, ev in enumerate(eval_sets):
        for j, kind in enumerate(axes_kinds):
            ax = axes[i, j]
            part = ro[(ro["axis"] == kind) & ((ro["eval_set"] == ev) if ev is not None else True)]
            ax.axhline(0.0, color="0.5", lw=0.8)
            for k, obj in enumerate(objs):
                p = part[part["objective"] == obj]
                valid = (p["interval_status"] == "ok").to_numpy()
                hit = valid & (p["covered_pi"] == 1).to_numpy()
                x = p["log_distance"].to_numpy() + 0.03 * (k - (len(objs) - 1) / 2)
                y = p["bias"].to_numpy()
                c = objective_color(obj)
                ax.scatter(x[hit], y[hit], s=16, color=c, label=obj)
                ax.scatter(x[valid & ~hit], y[valid & ~hit], s=16, facecolors="none", edgecolors=c)
                ax.scatter(x[~valid], y[~valid], s=16, marker="x", color=c)
                drawn.append(
                    pd.DataFrame(
                        dict(
                            eval_set=ev,
                            axis=kind,
                            objective=obj,
                            x=p["log_distance"],
                            y=y,
                            covered_pi=p["covered_pi"],
                            interval_status=p["interval_status"],
                        )
                    )
                )
            v = part[part["interval_status"] == "ok"]
            cov = v["covered_pi"].astype(float).mean() if len(v) else np.nan
            methods = ", ".join(sorted(set(part["interval_method"])))
            ax.set_title(
                f"{ev or ''} · {kind}: 95% PI covered {cov:.0%} of {len(v)}\n({methods})",
                fontsize=7,
            )
            ax.set_xlabel(AXIS_LABELS[kind])
            if j == 0:
                ax.set_ylabel("bias = actual − predicted")
    if len(axes_kinds):
        axes[0, 0].legend(frameon=False, fontsize=7)
    else:
        axes[0, 0].text(0.5, 0.5, "no rollout: too few sizes and checkpoints", ha="center")
        axes[0, 0].set_axis_off()
    fig.suptitle(
        "rollout: forecasts from every origin (filled: 95% PI covered; hollow: missed; "
        "×: no valid interval)",
        fontsize=8,
    )
    fig.rerankscale_data = pd.concat(drawn, ignore_index=True) if drawn else pd.DataFrame()
    return fig
