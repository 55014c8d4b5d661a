"""The pretrained suite's own scaling (T0s, F0), as Ettin's report shows for its family.

Reads a shipped suite's ``manifest.json`` (``suite/`` or ``suite/<name>/``) and each member's
``pretrain.json`` (no torch). The held-out MLM loss of the final members (every pretraining
seed) is fitted in model size with the error power law L(N) = E + A·N^−α (``scaling.PowerLaw``,
Huber on log residuals, as every law of the study);
the training curves give loss against pretraining tokens per member. Two probes are tabulated
beside, both taken before any fine-tuning: the cloze probe (``suite.probe_member``: the share of
the query mass whose register mapping the MLM head fills in) and the readiness probe
(``models.readiness``: how well a linear listwise scorer on the frozen states ranks a query's
positive above its BM25 negatives, which is what predicts the fine-tuned reranker).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from rerankscale import scaling as sc
from rerankscale.config import ConfigError, kept_seeds
from rerankscale.models.tokenizer import SUITE_DIR
from rerankscale.paths import ROOT_SUITE, named_suite_dir
from rerankscale.reporting import plots


def suite_folder(suite: str) -> Path:
    """The shipped suite's folder (``paths.named_suite_dir``); ``FileNotFoundError`` naming
    the suite when it has no manifest."""
    folder = named_suite_dir(suite, SUITE_DIR)
    if not (folder / "manifest.json").is_file():
        raise FileNotFoundError(
            f"suite {suite!r} has no {folder / 'manifest.json'}; name a shipped suite "
            "(rerankscale.models.suite.SUITES) or build it with `make suite SUITE=<name>`"
        )
    return folder


def suite_table(suite: str = ROOT_SUITE) -> pd.DataFrame:
    """One row per member (size × pretraining seed) of the shipped suite ``suite``
    (``rerankscale.models.suite.SUITES``): N, shape, tokens, held-out MLM loss, the cloze probe,
    the readiness probe (``models.readiness``; NaN for a member without it), whether a study
    with ``model.suite_seed: ready`` fine-tunes it (``kept``: ``config.kept_seeds``; None where
    a size's readiness is incomplete), pretraining seconds."""
    manifest = json.loads((suite_folder(suite) / "manifest.json").read_text())
    sizes = {name.partition("-p")[0] for name in manifest["members"]}
    kept = {size: _kept(manifest, size) for size in sizes}
    rows = []
    for name, m in manifest["members"].items():
        probe, ready = m["probe"], m.get("readiness", {})
        size, _, seed = name.partition("-p")
        rows.append(
            {
                "member": name,
                "size": size,
                "pretrain_seed": int(seed or 0),
                "kept": None if kept[size] is None else int(seed or 0) in kept[size],
                "n_params": m["n_params_non_embedding"],
                "d_model": m["shape"]["d_model"],
                "n_layers": m["shape"]["n_layers"],
                "n_heads": m["shape"]["n_heads"],
                "tokens": m["tokens_seen"],
                "heldout_mlm_loss": m["heldout_loss_final"],
                "probe_query_weighted": probe["query_weighted"],
                "probe_accuracy": probe["accuracy"],
                "relations_known": probe["relations_known"],
                "probe_constant_guess": probe["constant_guess"],
                "readiness_mrr": ready.get("mrr_last", np.nan),
                "readiness_best_layer_mrr": ready.get("mrr_best", np.nan),
                "readiness_chance": ready.get("chance", np.nan),
                "seconds": m["seconds"],
            }
        )
    return pd.DataFrame(rows).sort_values(["n_params", "pretrain_seed"], ignore_index=True)


def _kept(manifest: dict, size: str) -> list[int] | None:
    """The pretraining seeds the readiness screen keeps at ``size`` (``config.kept_seeds``);
    None where a member of that size has no readiness."""
    try:
        return kept_seeds(manifest, size, "this suite")
    except ConfigError:
        return None


def suite_curves(suite: str = ROOT_SUITE) -> pd.DataFrame:
    """Training curves: (member, size, n_params, tokens, loss) of every member."""
    frames = []
    for folder in sorted(suite_folder(suite).iterdir()):
        log = folder / "pretrain.json"
        if folder.is_dir() and log.is_file():
            d = json.loads(log.read_text())
            c = pd.DataFrame(d["curve"])
            frames.append(
                c.assign(
                    member=folder.name,
                    size=folder.name.partition("-p")[0],
                    n_params=d["n_params_non_embedding"],
                )
            )
    return pd.concat(frames, ignore_index=True).sort_values(["n_params", "member", "tokens"])


def size_law(table: pd.DataFrame) -> sc.FitResult:
    """L(N) = E + A·N^−α on the members' final held-out MLM loss."""
    return sc.fit(
        sc.PowerLaw(),
        table["n_params"].to_numpy(float),
        table["heldout_mlm_loss"].to_numpy(float),
        input_names=("n_params",),
        target="heldout_mlm_loss",
    )


def f0_suite_scaling(table: pd.DataFrame, curves: pd.DataFrame, law: sc.FitResult):
    """Left: held-out MLM loss vs N with the fitted law; middle: training loss vs tokens;
    right: both probes vs N."""
    fig, axes = plots._figure(ncols=3, width=4.0)
    ax = axes[0, 0]
    ax.scatter(table["n_params"], table["heldout_mlm_loss"], color="k", zorder=3)
    x = plots._curve_x(table["n_params"].min(), table["n_params"].max())
    p = law.params
    ax.plot(
        x,
        fitted_curve(law, x),
        color="0.4",
        label=f"L = {p['E']:.2f} + {p['A']:.3g}·N^−{p['alpha']:.2f} ({law.status})",
    )
    ax.set(
        xlabel="non-embedding parameters N",
        ylabel="held-out MLM loss",
        title="suite: loss vs size (lower is better)",
    )
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    shades = plots.size_shades("listwise", table["n_params"].nunique())
    for shade, (_, by_size) in zip(shades, curves.groupby("n_params", sort=True)):
        for i, (_, c) in enumerate(by_size.groupby("member", sort=True)):
            label = c["size"].iloc[0] if i == 0 else None  # one label per size, all its seeds
            ax.plot(c["tokens"], c["loss"], color=shade, label=label, lw=1)
    ax.set(
        xscale="log",
        xlabel="pretraining tokens",
        ylabel="training MLM loss",
        title="suite: loss vs tokens (lower is better)",
    )
    ax.legend(fontsize=7, ncol=2)
    ax = axes[0, 2]
    seeds = table["pretrain_seed"].nunique()
    probes = [("probe_query_weighted", "cloze: query mass mapped", "k")]
    if table["readiness_mrr"].notna().all():
        probes.append(("readiness_mrr", "readiness: linear MRR@8", "tab:blue"))
    for column, label, color in probes:
        mean = table.groupby("n_params")[column].mean()
        ax.plot(mean.index, mean.to_numpy(), "-", color=color, label=label)
        ax.scatter(table["n_params"], table[column], color=color, s=10, alpha=0.6)
    ax.axhline(
        table["probe_constant_guess"].iloc[0],
        ls=":",
        color="k",
        label="cloze: always the top relation",
    )
    if len(probes) > 1:
        ax.axhline(
            table["readiness_chance"].iloc[0], ls=":", color="tab:blue", label="readiness: chance"
        )
    ax.set(
        ylim=(0, 1),
        xlabel="non-embedding parameters N",
        ylabel="probe value (dots: pretraining seeds)" if seeds > 1 else "probe value",
        title="probes before fine-tuning (higher is better)",
    )
    ax.legend(fontsize=7)
    for ax in (axes[0, 0], axes[0, 2]):
        plots._size_axis(ax)
    fig.rerankscale_data = table.assign(law_prediction=fitted_curve(law, table["n_params"]))
    return fig


def fitted_curve(law: sc.FitResult, n: np.ndarray) -> np.ndarray:
    p = law.params
    return p["E"] + p["A"] * np.asarray(n, dtype=float) ** -p["alpha"]
