"""The study's figures, as functions of DataFrames and fit results returning matplotlib Figures.

One fixed colour per objective in every figure (``OBJECTIVE_COLORS``, seaborn's colorblind
palette); sizes within an objective are shades of its colour (light = small, dark = large).
Held-out (forecast) points are stars, fitted points circles; the extrapolation region is
shaded.

Figures: F1 ``plot_size_scaling`` (metric vs N, law, forecast intervals), F2
``plot_exposure_scaling`` (metric vs exposure per size and objective, with fits), F3
``plot_joint_slices`` (joint-law slices with held-out sizes), F4 ``plot_compute_optimal``
(N*, D* vs C and iso-FLOP profiles), F5 ``plot_equal_compute`` (equal-compute checkpoint
comparison), F6 ``plot_ce_vs_metric`` (contrastive entropy against ranking metrics), F7
``plot_rollout`` (rollout bias against extrapolation distance, ``scaling.rollout``); plus
``plot_residuals`` and ``plot_bootstrap_pairs`` (Besiroglu et al. 2024 style diagnostics).

Each function returns a ``matplotlib.figure.Figure`` (no pyplot state) with the tidy data it
drew attached as ``fig.rerankscale_data``; ``save_figure`` writes ``<id>.png``, ``<id>.pdf``
and ``<id>.csv`` atomically. This module imports neither torch nor transformers.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from rerankscale.io import atomic_write_bytes
from rerankscale.scaling.fit import FitResult
from rerankscale.scaling.table import is_error_metric, seed_average, size_label

# seaborn.color_palette("colorblind").as_hex(), fixed here so every figure agrees
COLORBLIND = [
    "#0173b2",
    "#de8f05",
    "#029e73",
    "#d55e00",
    "#cc78bc",
    "#ca9161",
    "#fbafe4",
    "#949494",
    "#ece133",
    "#56b4e9",
]
OBJECTIVE_COLORS = {
    "pointwise": COLORBLIND[0],
    "pairwise": COLORBLIND[1],
    "listwise": COLORBLIND[2],
    "lambdaloss": COLORBLIND[3],
    "listmle": COLORBLIND[4],
}
OBJECTIVE_ALIASES = {"bce": "pointwise", "ranknet": "pairwise", "listnet": "listwise"}


def objective_color(objective: str) -> str:
    """The fixed colour of an objective (aliases bce/ranknet/listnet map to the paper's
    losses); unknown objectives get a stable colour from the rest of the palette."""
    name = OBJECTIVE_ALIASES.get(objective, objective)
    if name in OBJECTIVE_COLORS:
        return OBJECTIVE_COLORS[name]
    spare = COLORBLIND[len(OBJECTIVE_COLORS) :]
    return spare[sum(map(ord, str(name))) % len(spare)]


def size_shades(objective: str, n: int) -> list[tuple[float, float, float]]:
    """``n`` shades of the objective's colour, light (smallest size) to dark (largest)."""
    base = np.array(to_rgb(objective_color(objective)))
    mix = np.linspace(0.55, -0.35, n) if n > 1 else np.array([0.0])
    out = []
    for m in mix:
        c = base + (1 - base) * m if m >= 0 else base * (1 + m)
        out.append(tuple(np.clip(c, 0, 1)))
    return out


def save_figure(
    fig: Figure, df: pd.DataFrame | None, figures_dir: str | Path, artifact_id: str
) -> dict[str, Path]:
    """Write ``<artifact_id>.png`` (150 dpi), ``.pdf`` and ``.csv`` (``df``, or the figure's
    attached ``rerankscale_data`` when ``df`` is None) into ``figures_dir``, each atomically
    (temporary file + rename). The PDF carries no creation date, so the same figure gives the
    same bytes. Returns the paths."""
    if df is None:
        df = getattr(fig, "rerankscale_data", None)
    if df is None:
        raise ValueError(
            "save_figure needs the data behind the figure (df), none given or attached"
        )
    out = Path(figures_dir)
    paths = {}
    for fmt in ("png", "pdf"):
        buf = io.BytesIO()
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        fig.savefig(buf, format=fmt, dpi=150, bbox_inches="tight", metadata=metadata)
        paths[fmt] = atomic_write_bytes(out / f"{artifact_id}.{fmt}", buf.getvalue())
    paths["csv"] = atomic_write_bytes(out / f"{artifact_id}.csv", df.to_csv(index=False).encode())
    return paths


def _figure(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.4, **kw):
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _objectives(df: pd.DataFrame) -> list[str]:
    order = list(OBJECTIVE_COLORS)
    present = list(dict.fromkeys(df["objective"]))
    return sorted(present, key=lambda o: (order.index(o) if o in order else len(order), o))


def _curve_x(lo: float, hi: float, n: int = 100) -> np.ndarray:
    return np.geomspace(lo, hi, n)


def _better(metric: str) -> str:
    """Which way a metric improves: "lower" for error metrics (CE), else "higher"."""
    return "lower" if is_error_metric(metric) else "higher"


def _short(n: float) -> str:
    """A count in short form for titles: 9.98k, 640k, 1.2M."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.3g}"


def _flops_label(c: float) -> str:
    """A compute budget as a label: C = 3.0×10⁹."""
    exp = int(np.floor(np.log10(c)))
    sup = str(exp).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"C = {c / 10**exp:.1f}×10{sup}"


# --------------------------------------------------------------------------- F1


def plot_size_scaling(
    points: pd.DataFrame,
    fits: Mapping[str, FitResult] | None = None,
    forecasts: pd.DataFrame | None = None,
    *,
    metric: str,
    x: str = "n_params",
    baseline: float | None = None,
    eval_set: str | None = None,
    forecast_of: str = "held out",
) -> Figure:
    """F1: ``metric`` against model size per objective (log x), the fitted law per objective
    (solid over the fitted range, dashed beyond it), held-out sizes (stars) with the forecast
    and its 95% interval (error bars; the legend names the interval method). ``points``: the
    rows the fits used (e.g. final checkpoints, one per run); ``fits``: objective → FitResult of a one-input law in N (its
    ``predict_metric`` is drawn; a fit whose status is not ``ok`` says so in the legend);
    ``forecasts``: a ``forecast_holdout`` frame; ``baseline``: the first stage's value, drawn
    as a dotted line; ``eval_set`` names the eval set in the title; ``forecast_of`` names the
    forecast sizes ("held out": the largest, shaded; "off-grid": sizes between the fitted ones
    (F8), not shaded)."""
    fig, axes = _figure()
    ax = axes[0, 0]
    _first_stage_line(ax, baseline)
    drawn = []
    held_x = []
    if forecasts is not None and len(forecasts):
        fc = forecasts[forecasts["metric"] == metric] if "metric" in forecasts else forecasts
        fx = x if x in fc.columns else "n_params"
        held_x = sorted(fc[fx].unique())
    for obj in _objectives(points):
        color = objective_color(obj)
        p = points[points["objective"] == obj]
        status = fits[obj].status if fits is not None and obj in fits else None
        label = obj if status in (None, "ok") else f"{obj} (fit {status})"
        ax.scatter(p[x], p[metric], color=color, s=18, alpha=0.8, label=label)
        drawn.append(pd.DataFrame(dict(objective=obj, kind="fit_point", x=p[x], y=p[metric])))
        if fits is not None and obj in fits and fits[obj].status != "degenerate":
            r = fits[obj]
            lo, hi = float(p[x].min()), float(max([p[x].max(), *held_x]))
            xs = _curve_x(lo, hi)
            ys = r.predict_metric(xs)
            inside = xs <= p[x].max() * (1 + 1e-9)
            ax.plot(xs[inside], ys[inside], color=color, lw=1.5)
            ax.plot(xs[~inside], ys[~inside], color=color, lw=1.5, ls="--")
            drawn.append(pd.DataFrame(dict(objective=obj, kind="law", x=xs, y=ys)))
        if forecasts is not None and len(forecasts):
            f = fc[fc["objective"] == obj] if "objective" in fc else fc
            if len(f):
                ax.scatter(
                    f[fx],
                    f["actual"],
                    marker="*",
                    s=90,
                    color=color,
                    edgecolor="black",
                    linewidth=0.5,
                    zorder=5,
                )
                err = np.vstack([f["prediction"] - f["lo"], f["hi"] - f["prediction"]])
                valid = (
                    (f["interval_status"] == "ok").to_numpy()
                    if "interval_status" in f
                    else np.ones(len(f), dtype=bool)
                )
                err = np.where(valid, np.abs(err), 0.0)  # an invalid interval is not drawn
                methods = (
                    sorted(set(f.loc[valid, "interval_method"]))
                    if ("interval_method" in f and np.any(valid))
                    else []
                )
                what = (f"95% {', '.join(methods)}" if methods else "95%") if np.any(valid) else ""
                if not np.all(valid):
                    what = (
                        f"{what}; no valid interval at some sizes" if what else "no valid interval"
                    )
                ax.errorbar(
                    f[fx],
                    f["prediction"],
                    yerr=err,
                    fmt="x",
                    color=color,
                    capsize=3,
                    zorder=4,
                    label=f"{obj} forecast ({what})",
                )
                drawn.append(
                    pd.DataFrame(dict(objective=obj, kind="heldout_actual", x=f[fx], y=f["actual"]))
                )
                drawn.append(
                    pd.DataFrame(
                        dict(
                            objective=obj,
                            kind="forecast",
                            x=f[fx],
                            y=f["prediction"],
                            lo=f["lo"],
                            hi=f["hi"],
                            interval_method=f.get("interval_method", "-"),
                        )
                    )
                )
    if held_x and forecast_of == "held out":
        ax.axvspan(min(held_x) / 1.25, max(held_x) * 1.25, color="0.92", zorder=0)
    _size_axis(ax)
    ax.set_xlabel("non-embedding parameters N" if x == "n_params" else x)
    ax.set_ylabel(metric)
    # below the axes, in two columns: inside, it covered the held-out forecasts
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            frameon=False,
            fontsize=7.5,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncol=2,
        )
    where = f" on {eval_set}" if eval_set else ""
    ax.set_title(
        f"{metric}{where} vs model size (higher is better)\n★ {forecast_of}, × forecast ± 95%",
        fontsize=9,
    )
    fig.rerankscale_data = pd.concat(drawn, ignore_index=True) if drawn else pd.DataFrame()
    return fig


# --------------------------------------------------------------------------- F2 / F3


def _curve_for(fits, obj, n_value):
    """A callable exposure → metric from either objective → joint fit or (objective, N) → 1-D fit."""
    if fits is None:
        return None
    r = fits.get((obj, n_value)) or fits.get(obj)
    if r is None or r.status == "degenerate":
        return None
    if len(r.law.inputs) == 2:
        return lambda d: r.predict_metric(np.full_like(d, n_value), d)
    return lambda d: r.predict_metric(d)


def _size_axis(ax) -> None:
    """A log axis of parameter counts N, labelled at powers of ten only: over a span under a
    decade (the off-grid sizes') matplotlib labels every minor tick and the labels overlap."""
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())


def _log_ticks(ax, values) -> None:
    """Readable ticks on a log axis that spans less than a few decades: powers of two (or of
    ten when the span is wide), plain numbers, no minor labels."""
    values = np.asarray(values, dtype=float)
    span = values.max() / values.min() if len(values) and values.min() > 0 else 1.0
    if span < 1e3:
        ax.xaxis.set_major_locator(mticker.LogLocator(base=2))
        ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())


def _first_stage_line(ax, baseline: float | None) -> None:
    if baseline is not None and np.isfinite(baseline):
        ax.axhline(
            baseline, color="0.35", ls=":", lw=1.2, label=f"first stage (BM25) {baseline:.3f}"
        )


def _exposure_panels(df, fits, metric, exposure, heldout_sizes, title, baseline=None):
    objs = _objectives(df)
    fig, axes = _figure(ncols=len(objs), sharey=True)
    avg = seed_average(df, [metric], by=["objective", "n_params", "step"], geometric=(exposure,))
    held = set(heldout_sizes)
    drawn = []
    for ax, obj in zip(axes[0], objs):
        _first_stage_line(ax, baseline)
        a = avg[avg["objective"] == obj]
        sizes = sorted(a["n_params"].unique())
        for shade, n_value in zip(size_shades(obj, len(sizes)), sizes):
            c = a[a["n_params"] == n_value].sort_values(exposure)
            label = c["size"].iloc[0] if "size" in c else size_label(n_value)
            is_held = n_value in held or label in held
            ax.scatter(
                c[exposure],
                c[metric],
                s=30 if is_held else 14,
                marker="*" if is_held else "o",
                facecolors="none" if is_held else [shade],
                edgecolors=[shade],
                linewidths=0.8,
                label=label + (" (held out)" if is_held else ""),
            )
            drawn.append(
                pd.DataFrame(
                    dict(
                        objective=obj,
                        size=label,
                        n_params=n_value,
                        kind="heldout" if is_held else "point",
                        x=c[exposure],
                        y=c[metric],
                    )
                )
            )
            curve = _curve_for(fits, obj, n_value)
            if curve is not None:
                xs = _curve_x(c[exposure].min(), c[exposure].max())
                ys = curve(xs)
                ax.plot(xs, ys, color=shade, lw=1.3, ls="--" if is_held else "-")
                drawn.append(
                    pd.DataFrame(
                        dict(objective=obj, size=label, n_params=n_value, kind="law", x=xs, y=ys)
                    )
                )
        ax.set_xscale("log")
        _log_ticks(ax, a[exposure])
        ax.set_xlabel(exposure)
        ax.set_title(obj, color=objective_color(obj), fontsize=10)
        ax.legend(frameon=False, fontsize=7)
    axes[0, 0].set_ylabel(metric)
    fig.suptitle(title, fontsize=10)
    fig.rerankscale_data = pd.concat(drawn, ignore_index=True) if drawn else pd.DataFrame()
    return fig


def plot_exposure_scaling(
    df: pd.DataFrame,
    fits: Mapping | None = None,
    *,
    metric: str,
    exposure: str = "pairs_seen",
    baseline: float | None = None,
    eval_set: str | None = None,
) -> Figure:
    """F2: seed-averaged ``metric`` against training exposure, one panel per objective, one
    shade per size, with fitted curves. ``fits``: {(objective, n_params): 1-D fit in the
    exposure} or {objective: joint fit in (N, D)}; ``baseline``: the first stage (dotted)."""
    where = f" on {eval_set}" if eval_set else ""
    return _exposure_panels(
        df,
        fits,
        metric,
        exposure,
        (),
        f"{metric}{where} vs {exposure} (higher is better)",
        baseline,
    )


def plot_joint_slices(
    df: pd.DataFrame,
    fits: Mapping[str, FitResult],
    *,
    metric: str,
    exposure: str = "pairs_seen",
    heldout_sizes: Sequence = (),
    baseline: float | None = None,
    eval_set: str | None = None,
) -> Figure:
    """F3: slices of each objective's joint law L(N, D) at every size (curves), with the
    measured points; held-out sizes (labels or N values) are hollow stars with dashed curves."""
    where = f" on {eval_set}" if eval_set else ""
    status = {o: r.status for o, r in fits.items() if r.status != "ok"}
    flags = "; fits not ok: " + ", ".join(f"{o} {s}" for o, s in status.items()) if status else ""
    return _exposure_panels(
        df,
        fits,
        metric,
        exposure,
        heldout_sizes,
        f"joint law slices: {metric}{where} (dashed: held-out sizes){flags}",
        baseline,
    )


# --------------------------------------------------------------------------- F4


def plot_compute_optimal(
    optimal: pd.DataFrame,
    isoflop: pd.DataFrame | None = None,
    *,
    empirical: pd.DataFrame | None = None,
    metric: str | None = None,
    trained: tuple[float, float] | None = None,
) -> Figure:
    """F4: left, N*(C) (solid) and D*(C) (dashed) per objective on log-log axes; right, the
    iso-FLOP profiles (law's metric vs N at fixed C, optimum marked, compute budget labelled)
    and measured iso-FLOP points (``empirical_isoflop``). Frames carry an ``objective``
    column. ``trained``: the (smallest, largest) N trained, shaded on both panels; an N* outside
    it is stated in the title as an extrapolation."""
    fig, axes = _figure(ncols=2 if isoflop is not None else 1)
    ax = axes[0, 0]
    drawn = []
    if trained is not None:
        ax.axhspan(*trained, color="0.93", zorder=0)  # N* on the y axis here
        if isoflop is not None:
            axes[0, 1].axvspan(*trained, color="0.93", zorder=0)
        outside = optimal[(optimal["N_opt"] < trained[0]) | (optimal["N_opt"] > trained[1])]
        share = len(outside) / max(len(optimal), 1)
        span = f"{_short(trained[0])}–{_short(trained[1])}"
        ax.set_title(
            f"N* inside the trained sizes ({span}, shaded) at every budget"
            if share == 0
            else f"N* outside the trained sizes ({span}, shaded)\nat {share:.0%} of budgets: "
            "those optima are extrapolations",
            fontsize=8,
        )
    for obj in _objectives(optimal):
        o = optimal[optimal["objective"] == obj].sort_values("C")
        color = objective_color(obj)
        ax.plot(o["C"], o["N_opt"], color=color, label=f"{obj} N*")
        ax.plot(o["C"], o["D_opt"], color=color, ls="--", label=f"{obj} D*")
        drawn.append(pd.DataFrame(dict(objective=obj, kind="N_opt", x=o["C"], y=o["N_opt"])))
        drawn.append(pd.DataFrame(dict(objective=obj, kind="D_opt", x=o["C"], y=o["D_opt"])))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel("compute-optimal N* (—), D* (- -)")
    ax.legend(frameon=False, fontsize=7)
    if isoflop is not None:
        ax2 = axes[0, 1]
        col = "prediction_metric"
        ends: dict[float, list[tuple[float, float]]] = {}  # budget -> curve ends (N, metric)
        extrapolated = False
        for obj in _objectives(isoflop):
            color = objective_color(obj)
            iso = isoflop[isoflop["objective"] == obj]
            budgets = sorted(iso["C"].unique())
            for shade, c in zip(size_shades(obj, len(budgets)), budgets):
                s = iso[iso["C"] == c].sort_values("N")
                ax2.plot(s["N"], s[col], color=shade, lw=1.2)
                i = int(np.argmin(np.abs(np.log(s["N"].to_numpy() / s["N_opt"].iloc[0]))))
                n_opt = float(s["N"].iloc[i])
                out = trained is not None and not (trained[0] <= n_opt <= trained[1])
                extrapolated |= out
                ax2.scatter(
                    [n_opt],
                    [s[col].iloc[i]],
                    marker="D",
                    s=22,
                    zorder=4,
                    facecolor="white" if out else shade,
                    edgecolor=shade,
                    linewidth=1.2,
                )
                ends.setdefault(float(c), []).append((s["N"].iloc[-1], s[col].iloc[-1]))
                drawn.append(
                    pd.DataFrame(dict(objective=obj, kind="isoflop", C=c, x=s["N"], y=s[col]))
                )
            if empirical is not None and metric is not None:
                e = empirical[empirical["objective"] == obj]
                ax2.scatter(
                    e["n_params"], e[metric], color=color, marker="o", facecolor="none", s=22
                )
                drawn.append(
                    pd.DataFrame(
                        dict(objective=obj, kind="measured", C=e["C"], x=e["n_params"], y=e[metric])
                    )
                )
        # one label per budget (the objectives share the budgets), right of its curves' ends
        for c, pts in ends.items():
            n_end = max(n for n, _ in pts)
            y_end = float(np.mean([y for _, y in pts]))
            ax2.annotate(
                _flops_label(c),
                (n_end, y_end),
                fontsize=7.5,
                color="0.2",
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
            )
        ax2.set_xscale("log")
        if ends:
            ax2.autoscale_view()
            lo, hi = ax2.get_xlim()
            n_max = max(n for pts in ends.values() for n, _ in pts)
            ax2.set_xlim(lo, max(hi, n_max * 20))  # room for the labels
        ax2.set_xlabel("N at fixed compute")
        ax2.set_ylabel(metric or "law prediction")
        marks = "◆ optimum (◇ outside the trained sizes), ○ measured"
        ax2.set_title(
            f"iso-FLOP profiles at compute C\n{marks if extrapolated else '◆ optimum, ○ measured'}",
            fontsize=8,
        )
    fig.rerankscale_data = pd.concat(drawn, ignore_index=True) if drawn else pd.DataFrame()
    return fig


# --------------------------------------------------------------------------- F5


def plot_equal_compute(
    eq: pd.DataFrame, *, metric: str | None = None, adjacent_only: bool = False
) -> Figure:
    """F5: metric of the larger minus the smaller model at matched training FLOPs, per size
    pair (one line per pair, shade = pair), one panel per objective; above 0 the larger model
    is better (below 0 for error metrics such as CE). ``adjacent_only`` keeps the pairs of
    neighbouring sizes (less clutter with many sizes)."""
    if metric is not None:
        eq = eq[eq["metric"] == metric]
    if adjacent_only:
        keep = []
        for _, g in eq.groupby(["objective"], sort=False):
            sizes = sorted(set(g["n_small"]) | set(g["n_large"]))
            nxt = dict(zip(sizes[:-1], sizes[1:]))
            keep.append(g[g["n_large"] == g["n_small"].map(nxt)])
        eq = pd.concat(keep) if keep else eq
    metric = metric or str(eq["metric"].iloc[0])
    objs = _objectives(eq)
    fig, axes = _figure(ncols=max(len(objs), 1), sharey=True)
    for ax, obj in zip(axes[0], objs):
        e = eq[eq["objective"] == obj]
        pairs = e[["n_small", "n_large"]].drop_duplicates().sort_values(["n_small", "n_large"])
        for shade, (_, pr) in zip(size_shades(obj, len(pairs)), pairs.iterrows()):
            s = e[(e["n_small"] == pr["n_small"]) & (e["n_large"] == pr["n_large"])].sort_values(
                "train_flops"
            )
            ax.plot(
                s["train_flops"],
                s["difference"],
                color=shade,
                marker=".",
                lw=1,
                label=f"{s['size_large'].iloc[0]} − {s['size_small'].iloc[0]}",
            )
        ax.axhline(0, color="0.4", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("training FLOPs")
        ax.set_title(obj, color=objective_color(obj), fontsize=10)
        # below the panel: inside, the legend sat on the lines
        ax.legend(
            frameon=False,
            fontsize=8,
            title="larger − smaller",
            title_fontsize=8,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.24),
            ncol=3,
        )
    better = "lower" if is_error_metric(metric) else "higher"
    axes[0, 0].set_ylabel(f"Δ {metric} (larger − smaller; {better} is better)")
    wins = "below" if is_error_metric(metric) else "above"
    fig.suptitle(
        f"Equal training compute: {metric} of the larger minus the smaller model at matched "
        f"training FLOPs ({wins} 0: the larger model is better)",
        fontsize=10,
    )
    fig.rerankscale_data = eq.reset_index(drop=True)
    return fig


# --------------------------------------------------------------------------- F6


def plot_ce_vs_metric(
    df: pd.DataFrame,
    *,
    ce: str = "ce@64",
    metrics: Sequence[str] = ("ndcg@10",),
    eval_set: str | None = None,
) -> Figure:
    """F6: contrastive entropy (x) against ranking metrics (y), one point per checkpoint,
    coloured by objective (CE depends on score scale, so objectives form separate bands).
    Axis labels say which way is better; ``eval_set`` names the eval set in the title."""
    metrics = list(metrics)
    fig, axes = _figure(ncols=len(metrics))
    drawn = []
    for ax, m in zip(axes[0], metrics):
        for obj in _objectives(df):
            d = df[df["objective"] == obj]
            ax.scatter(d[ce], d[m], s=10, alpha=0.6, color=objective_color(obj), label=obj)
            drawn.append(pd.DataFrame(dict(objective=obj, metric=m, x=d[ce], y=d[m])))
        ax.set_xlabel(f"{ce} (contrastive entropy; {_better(ce)} is better)")
        ax.set_ylabel(f"{m} ({_better(m)} is better)")
        ax.legend(frameon=False, fontsize=7)
    where = f" on {eval_set}" if eval_set else ""
    fig.suptitle(f"Contrastive entropy vs ranking metrics{where}, every checkpoint", fontsize=10)
    fig.rerankscale_data = pd.concat(drawn, ignore_index=True) if drawn else pd.DataFrame()
    return fig


# --------------------------------------------------------------------------- F7
# One panel per (eval set, axis): the signed error of every rollout forecast (bias = actual −
# predicted) against its extrapolation distance ln(x / x_max fitted) in log N or log D; filled
# where the 95% prediction interval covered the actual, hollow where it missed, crosses where
# no valid interval exists; the panel title gives the coverage and the interval methods.

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


# --------------------------------------------------------------------------- diagnostics


def plot_residuals(result: FitResult, *, by: str | None = "run_id") -> Figure:
    """Log residuals log f(x) − log y of a fit against its first input (Besiroglu et al. 2024
    style), coloured by ``by`` groups when the fit's table rows are available."""
    fig, axes = _figure()
    ax = axes[0, 0]
    r = result.residuals()
    x = result.X[:, 0]
    ax.scatter(x, r, s=10, alpha=0.7, color=COLORBLIND[0])
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(result.input_names[0] if result.input_names else result.law.inputs[0])
    ax.set_ylabel("log residual")
    ax.set_title(f"{result.law.name} on {result.target}: {result.status}", fontsize=9)
    data = pd.DataFrame(dict(x=x, residual=r))
    if by and result.data is not None and by in result.data.columns:
        data[by] = result.data[by].to_numpy()
    fig.rerankscale_data = data
    return fig


def plot_bootstrap_pairs(boot) -> Figure:
    """Pairplot of bootstrap parameter draws (Besiroglu et al. 2024 style), usable replicates
    only, coefficients on a log10 scale; returns the seaborn PairGrid's Figure."""
    import seaborn as sns

    law = boot.fit.law
    d = boot.draws[boot.usable]
    cols = {}
    for name, theta_name in zip(law.param_names, law.theta_names):
        # coefficients span orders of magnitude: show them as log10 |value|
        if theta_name.startswith("log_"):
            cols[f"log10 |{name}|"] = np.log10(np.abs(d[name].to_numpy(dtype=float)))
        else:
            cols[name] = d[name].to_numpy(dtype=float)
    grid = sns.pairplot(pd.DataFrame(cols), corner=True, plot_kws=dict(s=6, alpha=0.4))
    fig = grid.figure
    import matplotlib.pyplot as plt

    plt.close(fig)  # detach from pyplot's registry; the Figure stays usable and displayable
    fig.rerankscale_data = d.reset_index(drop=True)
    return fig


def plot_lr_sweep(best: pd.DataFrame, rule: Mapping[str, float] | None = None) -> Figure:
    """The fine-tuning lr sweep (``rerankscale.orchestration.lr_sweep.best_rates``), one panel
    per objective: each size's validation score (mean NDCG@10 over the checkpoints) against
    its rate as a multiple of the study's rule (×1), fitted sizes solid and checked (held-out)
    ones dashed, each size's ``lr*`` (parabola vertex) as a cross on its curve's level; the
    title gives ``rule`` (``{"c", "p"}``, the fit ``lr* = c / d_model^p``) where there is one."""
    objectives = _objectives(best)
    fig, axes = _figure(ncols=len(objectives), width=4.4, sharey=False)
    rows = []
    for ax, objective in zip(axes[0], objectives):
        part = best[best["objective"] == objective].sort_values("n_params")
        for shade, (_, row) in zip(size_shades(objective, len(part)), part.iterrows()):
            scores = {
                float(c.split("@x")[1]): row[c]
                for c in part.columns
                if c.startswith("score@x") and np.isfinite(row[c])
            }
            grid = sorted(scores)
            fitted = bool(row.get("fitted", True))
            ax.plot(
                grid,
                [scores[m] for m in grid],
                "o-" if fitted else "o--",
                color=shade,
                ms=4,
                label=f"{row['size']}" + ("" if fitted else " (held out, check)"),
            )
            star = row["lr_star"] / row["lr_rule"]
            ax.plot([star], [max(scores.values())], "x", color=shade, ms=7)
            rows += [
                {
                    "objective": objective,
                    "size": row["size"],
                    "multiplier": m,
                    "lr": m * row["lr_rule"],
                    "score": scores[m],
                    "lr_star_multiplier": star,
                    "fitted": fitted,
                }
                for m in grid
            ]
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"×{v:g}"))
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel("fine-tuning lr ÷ the study's rule (×1)")
        ax.set_ylabel("validation NDCG@10, mean over checkpoints")
        title = f"{objective}: × = best rate (vertex)"
        if rule and objective == "listwise":
            title += f"\nfit on fitted sizes: lr* = {rule['c']:.3g} / d_model^{rule['p']:.2f}"
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    fig.rerankscale_data = pd.DataFrame(rows)
    return fig
