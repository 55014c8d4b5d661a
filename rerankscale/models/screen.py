"""Screen a pretraining design by readiness before a suite is built or a study is spent on it.

A suite design (the synthetic world, the shapes, the token budget, the learning-rate rule) is
worth building only if its members get better at ranking as they grow. Fine-tuning every
candidate to find out costs a study; the readiness probe (``models.readiness``) ranks members as
their fine-tuned rerankers rank them (Spearman .85–.93 on the shipped suites, docs/suite.md) at
about 6 s per member. ``run_screen`` pretrains a few members of a candidate design (a cheaper
token budget, two seeds), probes each, and ``summarize`` reports what the design must show:

* the seed-mean readiness per size, ``r̄(N) = (1/S) Σ_s r(N, s)``;
* its Spearman correlation with N over the sizes, ρ = 1 − 6 Σ d_i² / (n (n² − 1)) (no ties);
* whether ``r̄(N)`` strictly increases with N (``monotone``), what a study's "larger is better
  at every size" needs of its suite;
* the seed spread per size (max − min), the lottery a study's seed mean must average out.

Members are built by ``suite.build_suite`` into a folder named by the design's digest
(``runs/screens/<digest>/``), so a screen resumes where it stopped, two designs never share a
member, and nothing is written to the shipped ``suite/``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..config import ConfigError, parse_size
from ..data.seeding import digest
from ..data.synthetic.config import SyntheticConfig
from ..io import atomic_write_json
from ..paths import resolve
from .suite import DEEP_SUITE, SuiteSpec, build_suite, member_name

SCREEN_ROOT = "runs/screens"
SUMMARY = "screen.json"
MIN_TOKENS = 10_000  # below this a member has not left its initialisation
# the default design: the deep suites' recipe and world at 10M tokens, the A = 32 shapes
SIZES = ("23k", "53k", "120k", "280k", "640k")
SEEDS = (0, 1)
TOKENS = 10_000_000
ASPECT_RATIO = 32


class ScreenError(ConfigError):
    """A screen's design is invalid; the message names the knob and the fix."""


def screen_spec(
    world: dict | None = None,
    sizes: tuple[str, ...] | None = None,
    seeds: tuple[int, ...] | None = None,
    tokens: int | None = None,
    aspect_ratio: int | None = None,
    lr_width_const: float | None = None,
    base: SuiteSpec = DEEP_SUITE,
    engine: str | None = None,
    batch_size: int | None = None,
    lr_max: float | None = None,
    word_swap: float | None = None,
    mixed_registers: float | None = None,
) -> SuiteSpec:
    """The suite spec of a candidate design: ``base`` with the given world (default: ``base``'s),
    sizes, seeds, token budget, shape rule and learning-rate rule
    (lr = min(lr_max, lr_width_const / d_model)); a knob left at None takes the default design's
    value (``SIZES``, ``SEEDS``, ``TOKENS``, ``ASPECT_RATIO``, ``base``'s lr rule). ``engine``
    is the pretraining forward (``PretrainRecipe.engine``; "fast": the lean MLM forward,
    1.2–2.3× faster on the suite's shapes, docs/throughput.md; default ``base``'s, "hf").
    ``batch_size`` (sequences per step) and ``lr_max`` (the rule's cap) default to ``base``'s
    (16 and 0.01); the token budget is kept, so a larger batch takes fewer steps. ``word_swap``
    (``PretrainRecipe.word_swap``, default ``base``'s, 0) is the share of masked words replaced
    by another word of the batch; ``mixed_registers`` (``PretrainCorpus.mixed_registers``,
    default ``base``'s, 0) the probability that a question–answer document words a side's
    relation with either register's paraphrase. Every knob is checked here, before any
    pretraining."""
    world = dict(base.world if world is None else world)
    sizes = SIZES if sizes is None else sizes
    seeds = SEEDS if seeds is None else seeds
    tokens = TOKENS if tokens is None else tokens
    aspect_ratio = ASPECT_RATIO if aspect_ratio is None else aspect_ratio
    SyntheticConfig.from_overrides(world)  # an unknown or out-of-range knob: one-line error
    if len(sizes) < 2:
        raise ScreenError(f"a screen needs at least 2 sizes to compare, got {list(sizes)}")
    ordered = sorted(sizes, key=parse_size)
    if len(set(map(parse_size, sizes))) != len(sizes):
        raise ScreenError(f"sizes {list(sizes)} repeat a size; give each size once")
    if not seeds or any(int(s) < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ScreenError(f"seeds {list(seeds)}: give distinct pretraining seeds ≥ 0, e.g. 0,1")
    if tokens < MIN_TOKENS:
        raise ScreenError(f"tokens={tokens:,}: use at least {MIN_TOKENS:,} pretraining tokens")
    if aspect_ratio < 1:
        raise ScreenError(f"aspect_ratio={aspect_ratio}: d_model / n_layers must be ≥ 1")
    recipe = dataclasses.replace(base.recipe, tokens=int(tokens))
    if lr_width_const is not None:
        if not lr_width_const > 0:
            raise ScreenError(f"lr_width_const={lr_width_const}: must be > 0 (default 0.4)")
        recipe = dataclasses.replace(recipe, lr_width_const=float(lr_width_const))
    if batch_size is not None:
        recipe = dataclasses.replace(recipe, batch_size=int(batch_size))
    if lr_max is not None:
        if not lr_max > 0:
            raise ScreenError(f"lr_max={lr_max}: must be > 0 (default 0.01)")
        recipe = dataclasses.replace(recipe, lr_max=float(lr_max))
    if word_swap is not None:
        recipe = dataclasses.replace(recipe, word_swap=float(word_swap))
    corpus = base.corpus
    if mixed_registers is not None:  # PretrainCorpus checks its range
        corpus = dataclasses.replace(corpus, mixed_registers=float(mixed_registers))
    if engine is not None:
        recipe = dataclasses.replace(recipe, engine=engine)
    recipe.validate()  # batch size, word swap, engine: one-line ConfigError
    return dataclasses.replace(
        base,
        world=world,
        sizes=tuple(ordered),
        seeds=tuple(int(s) for s in seeds),
        recipe=recipe,
        corpus=corpus,
        aspect_ratio=int(aspect_ratio),
    )


def screen_dir(spec: SuiteSpec, root: str | Path = SCREEN_ROOT) -> Path:
    """The design's own folder: ``<root>/<digest of the spec>``."""
    return resolve(root) / digest(spec.to_dict())


def summarize(spec: SuiteSpec, manifest: dict) -> dict:
    """Per size: N, shape, readiness (best layer) per seed, seed mean and spread, held-out MLM
    loss; over sizes: Spearman ρ(N, seed-mean readiness) and whether it strictly increases."""
    members = manifest["members"]
    rows = []
    for size in spec.sizes:
        names = [member_name(size, s) for s in spec.seeds]
        entries = [members[n] for n in names if n in members and "readiness" in members[n]]
        if not entries:
            continue
        ready = [e["readiness"]["mrr_best"] for e in entries]
        rows.append(
            {
                "size": size,
                "n_params_non_embedding": entries[0]["n_params_non_embedding"],
                "shape": entries[0]["shape"],
                "seeds": len(entries),
                "readiness": ready,
                "readiness_mean": float(np.mean(ready)),
                "readiness_spread": float(np.ptp(ready)),
                "heldout_loss_mean": float(np.mean([e["heldout_loss_final"] for e in entries])),
                "seconds": float(sum(e["seconds"] for e in entries)),
            }
        )
    from scipy.stats import spearmanr

    means = np.array([r["readiness_mean"] for r in rows])
    n = np.array([r["n_params_non_embedding"] for r in rows], dtype=float)
    varies = len(rows) > 1 and np.ptp(means) > 0  # ρ is undefined for a constant
    return {
        "spec": spec.to_dict(),
        "sizes": rows,
        "spearman_n_readiness": float(spearmanr(n, means).statistic) if varies else float("nan"),
        "monotone": bool(len(rows) > 1 and np.all(np.diff(means) > 0)),
        "complete": len(rows) == len(spec.sizes)
        and all(r["seeds"] == len(spec.seeds) for r in rows),
    }


def run_screen(
    spec: SuiteSpec, folder: str | Path | None = None, workers: int = 2, progress: bool = True
) -> dict:
    """Build (or resume) every member of ``spec`` in ``folder`` (default ``screen_dir(spec)``),
    probe each, and write and return the summary (``screen.json`` in the folder)."""
    folder = Path(folder) if folder is not None else screen_dir(spec)
    manifest = build_suite(spec, folder, workers=workers, progress=progress)
    summary = summarize(spec, manifest)
    summary["folder"] = str(folder)
    atomic_write_json(folder / SUMMARY, summary)
    return summary


def format_summary(summary: dict) -> str:
    """The screen as a plain-text table, one line per size, and its verdict."""
    lines = [f"{'size':>6} {'N':>9} {'shape':>8}  readiness per seed   mean   spread  MLM loss"]
    for r in summary["sizes"]:
        shape = f"{r['shape']['n_layers']}x{r['shape']['d_model']}"
        seeds = " ".join(f"{v:.3f}" for v in r["readiness"])
        lines.append(
            f"{r['size']:>6} {r['n_params_non_embedding']:>9,} {shape:>8}  {seeds:<19} "
            f"{r['readiness_mean']:.3f}  {r['readiness_spread']:.3f}   {r['heldout_loss_mean']:.3f}"
        )
    verdict = "strictly increasing" if summary["monotone"] else "NOT strictly increasing"
    lines.append(
        f"seed-mean readiness is {verdict} in N; Spearman rho(N, readiness) = "
        f"{summary['spearman_n_readiness']:.2f}"
    )
    return "\n".join(lines)
