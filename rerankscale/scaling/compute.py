"""Compute: training and serving FLOPs, compute-optimal allocation, iso-FLOP profiles,
equal-compute checkpoint comparisons and inference-aware allocation.

FLOPs (Kaplan et al. 2020, Table 1): a forward pass costs ≈ 2·N FLOPs per token (N
non-embedding parameters) plus 2·n_layer·n_ctx·d_attn for attention; training (forward +
backward) ≈ 3× that: C_train ≈ 6·N·tokens + 6·n_layers·seq_len·d_model·tokens. The attention
term is reported separately. Serving a reranker scores ``depth`` candidates per query, each a
(query, passage) pair of ``tokens_per_pair`` tokens: C_serve ≈ 2·N·tokens_per_pair·depth·queries.

Compute-optimal allocation (Hoffmann et al. 2022, Approach 3, eq. 4) for a joint law in (N, D)
with C = k·N·D (k = 6 when D is tokens; 6·tokens_per_pair when D counts pairs):
for L = E + A·N^−α + B·D^−β,

    N*(C) = G·(C/k)^(β/(α+β)),   D*(C) = G^−1·(C/k)^(α/(α+β)),   G = (αA/(βB))^(1/(α+β)),

so the allocation exponents are a = β/(α+β) for N and b = α/(α+β) for D. The paper's joint
metric form a + b·N^c + d·D^e is the same problem with A = −b, α = −c, B = −d, β = −e, and
Kaplan's form [(N_c/N)^(α/β) + D_c/D]^β has N*^(1+α/β) = (α/β)·N_c^(α/β)·(C/k)/D_c. Any other
law is optimised numerically over log N.

Inference-aware allocation (beyond the paper; cf. Sardana et al. 2024, "Beyond
Chinchilla-Optimal: Accounting for Inference in Language Model Scaling Laws"): for a total
budget C_tot = k·N·D + C_serve(N), pick N (and D = (C_tot − C_serve)/(k·N)) to optimise the law.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from .fit import FitResult
from .table import is_error_metric, seed_average, size_label

# --------------------------------------------------------------------------- FLOPs


@dataclass(frozen=True)
class TrainingFlops:
    """Training FLOPs split into the dense 6·N·tokens term and the attention term."""

    dense: np.ndarray | float
    attention: np.ndarray | float
    total: np.ndarray | float


def training_flops(n_params, tokens, *, n_layers=None, d_model=None, seq_len=None) -> TrainingFlops:
    """C = 6·N·tokens (dense) + 6·n_layers·seq_len·d_model·tokens (attention, if the shape is
    given; Kaplan et al. 2020: forward 2·n_layer·n_ctx·d_attn per token, ×3 for training)."""
    n_params, tokens = np.asarray(n_params, dtype=float), np.asarray(tokens, dtype=float)
    dense = 6.0 * n_params * tokens
    if n_layers is None and d_model is None and seq_len is None:
        attention = np.zeros_like(dense)
    elif None in (n_layers, d_model, seq_len):
        raise ValueError("the attention term needs all of n_layers, d_model and seq_len")
    else:
        attention = 6.0 * float(n_layers) * float(seq_len) * float(d_model) * tokens
    out = TrainingFlops(dense, attention, dense + attention)
    if dense.ndim == 0:
        return TrainingFlops(float(dense), float(attention), float(dense + attention))
    return out


def serving_flops(n_params, *, queries, depth, tokens_per_pair) -> np.ndarray | float:
    """Reranking cost: 2·N·tokens_per_pair FLOPs per scored pair × depth pairs × queries."""
    out = 2.0 * np.asarray(n_params, dtype=float) * tokens_per_pair * depth * queries
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- allocation


def _joint_terms(result: FitResult):
    """(A, alpha, B, beta) of an additive joint law in error form, or None."""
    p, name = result.params, result.law.name
    if name == "chinchilla":
        return p["A"], p["alpha"], p["B"], p["beta"]
    if name == "joint_saturating":
        return -p["b"], -p["c"], -p["d"], -p["e"]
    return None


def allocation_exponents(result: FitResult) -> dict[str, float]:
    """Exponents of N*(C) ∝ C^a and D*(C) ∝ C^b: a = β/(α+β), b = α/(α+β), for the
    Chinchilla, joint saturating and Kaplan forms."""
    _require_joint(result)
    p = result.params
    if result.law.name == "kaplan":
        al, be = p["alpha"], p["beta"]
    else:
        _, al, _, be = _joint_terms(result)
    return dict(a=be / (al + be), b=al / (al + be), alpha=al, beta=be)


def _require_joint(result: FitResult):
    if tuple(result.law.inputs) != ("N", "D"):
        raise ValueError(f"compute allocation needs a joint law in (N, D); got {result.law.name}")
    if result.status == "degenerate":
        raise ValueError(f"cannot allocate compute with a degenerate fit: {result.message}")


def _closed_form(result: FitResult, C: np.ndarray, k: float):
    Ck = C / k
    name = result.law.name
    if name == "kaplan":
        p = result.params
        r = p["alpha"] / p["beta"]
        N = (r * p["N_c"] ** r * Ck / p["D_c"]) ** (1.0 / (1.0 + r))
        return N, Ck / N
    terms = _joint_terms(result)
    if terms is None:
        return None
    A, al, B, be = terms
    if min(al, be) <= 0 or min(A, B) <= 0:
        raise ValueError(
            f"no interior optimum: exponents/coefficients must be positive, got {result.params}"
        )
    G = (al * A / (be * B)) ** (1.0 / (al + be))
    N = G * Ck ** (be / (al + be))
    return N, Ck / N


def _sign(result: FitResult) -> float:
    """+1 to minimise the fitted quantity (errors), −1 to maximise (metrics)."""
    return 1.0 if result.law.kind == "error" else -1.0


def _argmin_log(fun, lo: float, hi: float, n_grid: int = 801) -> float:
    """Minimise a scalar function of t = log N on [lo, hi]: grid, then bounded Brent."""
    t = np.linspace(lo, hi, n_grid)
    v = fun(t)
    i = int(np.nanargmin(v))
    a, b = t[max(i - 1, 0)], t[min(i + 1, n_grid - 1)]
    if b <= a:
        return float(t[i])
    res = minimize_scalar(
        lambda s: float(fun(np.array([s]))[0]),
        bounds=(a, b),
        method="bounded",
        options=dict(xatol=1e-10),
    )
    return float(res.x) if res.fun <= v[i] else float(t[i])


def _numeric(result: FitResult, C: np.ndarray, k: float):
    sign = _sign(result)
    N, D = [], []
    for c in np.atleast_1d(C):
        L = np.log(c / k)

        def f(t, L=L):
            return sign * result.predict(np.exp(t), np.exp(L - t))

        t = _argmin_log(f, 0.0, L)
        N.append(np.exp(t))
        D.append(np.exp(L - t))
    return np.array(N), np.array(D)


def compute_optimal(result: FitResult, C, *, k: float = 6.0, method: str = "auto") -> pd.DataFrame:
    """N*(C), D*(C) under C = k·N·D from a fitted joint law, with the law's value there.

    ``method``: "closed" (Chinchilla, joint saturating, Kaplan forms), "numeric" (grid +
    Brent over log N), or "auto" (closed when available). Columns: C, N_opt, D_opt,
    prediction (fitted scale), prediction_metric (metric scale), method.
    """
    _require_joint(result)
    C = np.atleast_1d(np.asarray(C, dtype=float))
    if method not in ("auto", "closed", "numeric"):
        raise ValueError(f"method must be 'auto', 'closed' or 'numeric', got {method!r}")
    sol = None if method == "numeric" else _closed_form(result, C, k)
    if sol is None and method == "closed":
        raise ValueError(f"no closed form for {result.law.name}; use method='numeric'")
    used = "closed" if sol is not None else "numeric"
    N, D = sol if sol is not None else _numeric(result, C, k)
    return pd.DataFrame(
        dict(
            C=C,
            N_opt=N,
            D_opt=D,
            prediction=result.predict(N, D),
            prediction_metric=result.predict_metric(N, D),
            method=used,
        )
    )


def fitted_allocation_exponents(opt: pd.DataFrame) -> dict[str, float]:
    """Slopes of log N_opt and log D_opt against log C (e.g. of a numeric ``compute_optimal``)."""
    lc = np.log(opt["C"].to_numpy())
    a = np.polyfit(lc, np.log(opt["N_opt"].to_numpy()), 1)[0]
    b = np.polyfit(lc, np.log(opt["D_opt"].to_numpy()), 1)[0]
    return dict(a=float(a), b=float(b))


def isoflop_profiles(
    result: FitResult, C, *, k: float = 6.0, n_points: int = 41, span: float = 30.0
) -> pd.DataFrame:
    """The law along iso-FLOP lines: for each budget C, N from N*/span to N*·span (log grid),
    D = C/(k·N). Columns: C, N, D, prediction, prediction_metric, N_opt."""
    opt = compute_optimal(result, C, k=k)
    frames = []
    for c, n_opt in zip(opt["C"], opt["N_opt"]):
        N = np.geomspace(n_opt / span, n_opt * span, n_points)
        D = c / (k * N)
        frames.append(
            pd.DataFrame(
                dict(
                    C=c,
                    N=N,
                    D=D,
                    prediction=result.predict(N, D),
                    prediction_metric=result.predict_metric(N, D),
                    N_opt=n_opt,
                )
            )
        )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- empirical


def _curves(df, metrics, by, n, flops_col):
    avg = seed_average(df, metrics, by=[*by, n, "step"], geometric=(flops_col,))
    return avg.sort_values([*by, n, flops_col])


def empirical_isoflop(
    df: pd.DataFrame,
    metric: str,
    budgets,
    *,
    by: Sequence[str] = ("objective", "eval_set"),
    n: str = "n_params",
    flops_col: str = "train_flops",
) -> pd.DataFrame:
    """Measured iso-FLOP profiles: each size's seed-averaged curve interpolated linearly in log
    FLOPs at each budget, only inside the FLOP range the size's checkpoints cover. Columns:
    by..., size, n_params, C, metric value."""
    by = [b for b in by if b in df.columns]
    avg = _curves(df, [metric], by, n, flops_col)
    rows = []
    for key, g in avg.groupby([*by, n], sort=True):
        lf = np.log(g[flops_col].to_numpy())
        m = g[metric].to_numpy()
        for c in np.atleast_1d(budgets):
            if lf[0] <= np.log(c) <= lf[-1]:
                rec = dict(zip([*by, n], key))
                rec.update(
                    size=g["size"].iloc[0] if "size" in g else size_label(key[-1]), C=float(c)
                )
                rec[metric] = float(np.interp(np.log(c), lf, m))
                rows.append(rec)
    return pd.DataFrame(rows)


def equal_compute_comparison(
    df: pd.DataFrame,
    metrics: str | Sequence[str],
    *,
    by: Sequence[str] = ("objective", "eval_set"),
    n: str = "n_params",
    flops_col: str = "train_flops",
    tie_tol: float = 0.0,
) -> pd.DataFrame:
    """Smaller vs larger model at matched training FLOPs, for every pair of sizes.

    Per ``by`` group and metric, seeds are averaged per (size, step) (metric: mean; FLOPs:
    geometric mean). For each pair (small, large) and each checkpoint of one model whose FLOPs
    fall inside the other model's checkpoint range, the other model's metric is interpolated
    linearly in log FLOPs between its two neighbouring checkpoints (no extrapolation). One row
    per anchor checkpoint: ``anchor`` ("small"/"large"), ``step`` (the anchor's), ``train_flops``,
    ``metric_small``, ``metric_large``, ``difference`` (large − small) and ``winner`` ("small",
    "large" or "tie" within ``tie_tol``; higher wins for ranking metrics, lower for errors).
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    by = [b for b in by if b in df.columns]
    avg = _curves(df, metrics, by, n, flops_col)
    rows = []
    groups = avg.groupby(by, sort=True) if by else [((), avg)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        curves = {s: c for s, c in g.groupby(n, sort=True)}
        sizes = sorted(curves)
        for metric in metrics:
            lower = is_error_metric(metric)
            for i, s_small in enumerate(sizes):
                for s_large in sizes[i + 1 :]:
                    cs, cl = curves[s_small], curves[s_large]
                    lfs, lfl = np.log(cs[flops_col].to_numpy()), np.log(cl[flops_col].to_numpy())
                    ms, ml = cs[metric].to_numpy(), cl[metric].to_numpy()
                    lo, hi = max(lfs[0], lfl[0]), min(lfs[-1], lfl[-1])
                    for anchor, c_a, lf_a, lf_o, m_a, m_o in (
                        ("small", cs, lfs, lfl, ms, ml),
                        ("large", cl, lfl, lfs, ml, ms),
                    ):
                        inside = (lf_a >= lo) & (lf_a <= hi)
                        for j in np.flatnonzero(inside):
                            other = float(np.interp(lf_a[j], lf_o, m_o))
                            m_small, m_large = (
                                (m_a[j], other) if anchor == "small" else (other, m_a[j])
                            )
                            diff = m_large - m_small
                            gain = -diff if lower else diff
                            winner = (
                                "tie"
                                if abs(diff) <= tie_tol
                                else ("large" if gain > 0 else "small")
                            )
                            rec = dict(zip(by, key))
                            rec.update(
                                metric=metric,
                                size_small=_label(cs, s_small),
                                size_large=_label(cl, s_large),
                                n_small=s_small,
                                n_large=s_large,
                                anchor=anchor,
                                step=int(c_a["step"].iloc[j]),
                                train_flops=float(np.exp(lf_a[j])),
                                metric_small=float(m_small),
                                metric_large=float(m_large),
                                difference=float(diff),
                                winner=winner,
                            )
                            rows.append(rec)
    return pd.DataFrame(rows)


def _label(curve: pd.DataFrame, n_value) -> str:
    return str(curve["size"].iloc[0]) if "size" in curve.columns else size_label(n_value)


# --------------------------------------------------------------------------- inference-aware


def inference_aware_optimum(
    result: FitResult,
    total_flops,
    *,
    queries: float,
    depth: int,
    tokens_per_pair: float,
    k: float = 6.0,
) -> pd.DataFrame:
    """Best N under a total budget C_tot = k·N·D + 2·N·tokens_per_pair·depth·queries.

    For each C_tot, D(N) = (C_tot − C_serve(N))/(k·N) for N < C_tot/(2·tokens_per_pair·depth·
    queries); the law is optimised over log N numerically. Columns: total_flops, N_opt, D_opt,
    train_flops, serve_flops, prediction, prediction_metric, and the training-only optimum
    N_train_only (all of C_tot spent on training) for comparison.
    """
    _require_joint(result)
    sign = _sign(result)
    per_n = 2.0 * tokens_per_pair * depth * queries
    rows = []
    for c in np.atleast_1d(np.asarray(total_flops, dtype=float)):
        t_hi = np.log(c / per_n) - 1e-9

        def f(t, c=c):
            N = np.exp(t)
            D = (c - per_n * N) / (k * N)
            out = np.full(t.shape, np.inf)
            ok = D > 0
            out[ok] = sign * result.predict(N[ok], D[ok])
            return out

        t = _argmin_log(f, 0.0, t_hi)
        N = float(np.exp(t))
        D = (c - per_n * N) / (k * N)
        train_only = compute_optimal(result, [c], k=k)["N_opt"].iloc[0]
        rows.append(
            dict(
                total_flops=c,
                N_opt=N,
                D_opt=D,
                train_flops=k * N * D,
                serve_flops=per_n * N,
                prediction=float(result.predict([N], [D])[0]),
                prediction_metric=float(result.predict_metric([N], [D])[0]),
                N_train_only=train_only,
            )
        )
    return pd.DataFrame(rows)
