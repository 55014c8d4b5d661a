"""The shipped pretrained mini-suite: an offline stand-in for the Ettin encoder family.

Ettin (Weller et al. 2025, arXiv 2507.11412) pretrains every size on the same data with one
recipe and publishes the weights; the paper fine-tunes them. This module does the same for the
synthetic world: ``build_suite`` pretrains one ModernBERT member per size with masked-language
modelling on the world's pretraining collection (``data.synthetic.pretraining``; separate from
every ranking collection), the same token budget for every member and the learning rate by
width, and writes each member to ``suite/<size>/`` (Hugging Face ``ModernBertForMaskedLM``
folder: ``model.safetensors``, ``config.json``, tokenizer, ``pretrain.json`` with the training
curve, held-out MLM loss and the knowledge probe). ``suite/manifest.json`` lists every member
with its cache key (corpus, shape, tokenizer, recipe, seed) and the sha256 of each file.

The built suite is committed with the project, so ``make study`` fine-tunes it without
pretraining; ``member_path(size)`` verifies a member against the manifest and names the command
that rebuilds it when it is missing or differs. ``make suite`` (``rerankscale suite``) rebuilds
the members whose files do not match the manifest's key, one member per process, resumable at
member granularity: a member is written to a temporary folder and renamed into place, so a kill
loses at most the member in progress.

The probe (``probe_member``) asks, before any fine-tuning is spent, whether pretraining learned
what ranking needs: for every relation and each of its query-side paraphrases, the cloze
``<name> <query-side paraphrase> [SEP] <name> [MASK] [MASK]`` is filled with the highest-scoring
passage-side paraphrase (sum of the two pieces' log-probabilities over all 1,200 passage-side
words); ``accuracy`` is the share of (relation, paraphrase, entity) cases whose best word
belongs to the asked relation (chance 1/400), ``query_weighted`` weights relations by the query
law (Zipf ``zipf_qrel``), the share of the query mass whose register mapping the member knows.

The cloze reads knowledge through the MLM head, and a member can hold what ranking needs without
the head showing it (docs/calibration.md, stop 21). So each member also carries the readiness
probe (``models.readiness``): the mean reciprocal rank with which a linear listwise scorer on
its frozen mean-pooled states ranks a training query's positive above its BM25 negatives, per
layer. It ranks the members as their fine-tuned rerankers rank (stop 23), and is added to the
manifest of members built before it existed by ``fill_readiness`` (``make suite``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rerankscale.config import ConfigError, member_name, parse_size, size_name
from rerankscale.data.synthetic.config import SyntheticConfig, synthetic_config
from rerankscale.data.synthetic.pretraining import PretrainCorpus, pretraining_texts
from rerankscale.data.synthetic.world import build_world, zipf_weights
from rerankscale.io import atomic_write_json
from rerankscale.models.modernbert import quiet_transformers
from rerankscale.models.pretrain import (
    LOG_FILE,
    PretrainRecipe,
    member_key,
    pretrain_mlm,
    recipe_key_fields,
)
from rerankscale.models.readiness import probe_groups, readiness_probe
from rerankscale.models.shapes import ASPECT_RATIO, MIN_HEADS, Shape, shape_for
from rerankscale.models.tokenizer import SUITE_DIR, file_lock, get_tokenizer, save_and_check
from rerankscale.paths import ROOT_SUITE, named_suite_dir
from rerankscale.provenance import cpu_capability, cpu_model, package_versions

MANIFEST = "manifest.json"
CORPUS_ID = "rerankscale/synthetic/pretrain"
TOKENIZER_DATASET = "rerankscale/synthetic/train"  # the world's word-level vocabulary
REBUILD = "make suite"


class SuiteError(ConfigError):
    """A suite member is missing or differs from the manifest; the message names the fix."""


@dataclass(frozen=True)
class SuiteSpec:
    """Which members, pretrained how. Every field but ``keep`` is part of each member's key."""

    sizes: tuple[str, ...] = ("10k", "23k", "53k", "120k", "280k", "640k")
    # pretraining seeds per size (MultiBERTs, Sellam et al. 2022): member ``<size>`` for seed 0,
    # ``<size>-p<seed>`` for the others; each replaces ``recipe.seed``
    seeds: tuple[int, ...] = (0,)
    recipe: PretrainRecipe = field(
        default_factory=lambda: PretrainRecipe(
            tokens=10_000_000, batch_size=16, lr_width_const=0.4, lr_max=0.01, max_texts=10**8
        )
    )
    corpus: PretrainCorpus = field(default_factory=PretrainCorpus)
    vocab_size: int = 1024
    # the synthetic world's knobs (``SyntheticConfig`` overrides) the collection is drawn from;
    # a study fine-tuning the suite must use the same world (``DataConfig.synthetic``)
    world: dict = field(default_factory=dict)
    # the shape rule's d_model / n_layers (``shapes.shape_for``); lower is deeper
    aspect_ratio: int = ASPECT_RATIO
    # the fewest attention heads of the shape rule (``shapes.MIN_HEADS``): 1 keeps the narrowest
    # members' heads ~32 dims wide instead of splitting 20 or 32 dims into two
    min_heads: int = MIN_HEADS
    # how many of each size's pretraining seeds a study fine-tunes with ``model.suite_seed:
    # ready``: those whose readiness probe (``readiness.py``, read before any fine-tuning) is
    # best (``rerankscale.config.ready_seeds``); None: all of them. Not part of the keys.
    keep: int | None = None

    def shape(self, size: str) -> Shape:
        return shape_for(size, aspect_ratio=self.aspect_ratio, min_heads=self.min_heads)

    def world_config(self) -> SyntheticConfig:
        return SyntheticConfig.from_overrides(dict(self.world))

    def to_dict(self) -> dict:
        out = {
            "sizes": list(self.sizes),
            **({"seeds": list(self.seeds)} if self.seeds != (0,) else {}),
            "recipe": recipe_key_fields(self.recipe),
            "corpus": self.corpus.to_dict(),
            "vocab_size": self.vocab_size,
        }
        if self.world:  # absent for the default world: the shipped manifest stays as written
            out["world"] = dict(sorted(self.world.items()))
        if self.aspect_ratio != ASPECT_RATIO:
            out["aspect_ratio"] = self.aspect_ratio
        if self.min_heads != MIN_HEADS:
            out["min_heads"] = self.min_heads
        if self.keep is not None:
            out["keep"] = self.keep
        return out

    def members(self) -> list[tuple[str, int]]:
        """Every (size, pretraining seed) the suite holds."""
        return [(size, seed) for size in self.sizes for seed in self.seeds]

    def member_recipe(self, seed: int) -> PretrainRecipe:
        return dataclasses.replace(self.recipe, seed=int(seed))


DEFAULT_SUITE = SuiteSpec()

# Depth grows with N (aspect ratio 20: 2 layers to 53k, then 3, 4, 5), document packing, a
# flatter query law (Zipf 1.0: the register mapping's tail is worth NDCG, so capacity is
# rewarded), three pretraining seeds per size for ``model.suite_seed: paired``
# (docs/calibration.md, stops 17–19).
DEEP_SUITE = SuiteSpec(
    seeds=(0, 1, 2),
    recipe=dataclasses.replace(DEFAULT_SUITE.recipe, packing="documents"),
    world={"zipf_qrel": 1.0},
    aspect_ratio=20,
)

# The deep suite at twice the pretraining tokens (20M per member, everything else equal): at
# 10M some members had not yet acquired the world's relations (53k-p0: 7 of 400 known, dev
# NDCG@10 .545 after fine-tuning; at 20M: 68 known, .822), docs/calibration.md stop 20.
DEEP20_SUITE = dataclasses.replace(
    DEEP_SUITE, recipe=dataclasses.replace(DEEP_SUITE.recipe, tokens=20_000_000)
)

# Mixed registers (``PretrainCorpus.mixed_registers``: a pretraining question or answer words
# its relation with any of the relation's paraphrases half the time, so MLM learns the
# paraphrases as interchangeable in context) at the A = 32 shapes (2 layers to 120k, then 3, 4),
# the deep recipe at 10M tokens with the lean MLM forward (docs/calibration.md, stops 27–28).
# Its study (preset ``cpu-mixed``) compresses 53k–640k to one level, so it ships its manifest only.
MIXED_SUITE = dataclasses.replace(
    DEEP_SUITE,
    recipe=dataclasses.replace(DEEP_SUITE.recipe, engine="fast"),
    corpus=PretrainCorpus(mixed_registers=0.5),
    aspect_ratio=32,
)

# The mixed suite in a world with 20× the relations (``n_relations`` 8,000 instead of 400, query
# law Zipf 1.0): more of the world's knowledge than the small members can hold, so a larger
# member knows more of the tail its queries ask about; the default study's suite of stops 29-34
# (docs/calibration.md, stops 26–29). Five pretraining seeds per size, of which the ``cpu-10m``
# study fine-tunes the three with the best readiness (``keep``, stop 30) and ``cpu-unscreened``
# all five.
MIXED8K_SUITE = dataclasses.replace(
    MIXED_SUITE, world={"n_relations": 8000, "zipf_qrel": 1.0}, seeds=(0, 1, 2, 3, 4), keep=3
)

# Off-grid members of the same recipe and world: one size between each pair of the grid's
# neighbours where the shape rule changes (35k: 2 x 40; 180k: 3 x 76, the first 3-layer size;
# 420k: 3 x 120), five seeds each, screened like ``mixed8k``. The laws fitted on the ``cpu-10m``
# study are tested on them (preset ``cpu-10m-offgrid``; T10 and F8 of notebook 05); nothing of
# that study is fitted on them. Manifest only: ``make suite SUITE=mixed8k-offgrid``.
MIXED8K_OFFGRID_SUITE = dataclasses.replace(MIXED8K_SUITE, sizes=("35k", "180k", "420k"))

# The mixed8k recipe and world at four times the pretraining tokens (40M per member): at 10M
# the ranking-relevant knowledge a member can use ends where a relation is stated ~3,000 times
# (about rank 30 of the query law), so every member from 120k up is held to the same frontier;
# at 40M it moves to about rank 100 and the sizes from 53k up separate (docs/calibration.md,
# stops 33-34). One head below 53k (``min_heads``, stop 35): with two, 10k's and 23k's heads
# were 10 and 16 dims wide and both sizes fell below a threshold. Three pretraining seeds per
# size (stop 36), for a study that fine-tunes every one (``model.suite_seed: paired``, no
# screen): with one seed per size each size's results are one draw of the pretraining lottery
# (280k: held-out MLM loss 3.152 for seed 0, 3.078 for seed 2). The default ``cpu`` study's
# suite since stop 35; since stop 37 it fine-tunes member s with fine-tuning seed s.
MIXED8K_40M_SUITE = dataclasses.replace(
    MIXED8K_SUITE,
    recipe=dataclasses.replace(MIXED8K_SUITE.recipe, tokens=40_000_000),
    seeds=(0, 1, 2),
    keep=None,
    min_heads=1,
)

# Off-grid members of the 40M suite (35k: 2 x 40, one head; 180k: 3 x 76; 420k: 3 x 120): the
# sizes the laws of its study are tested on (preset ``cpu-offgrid``; T10 and F8 of notebook 05),
# three pretraining seeds each like the grid (seed 0 since stop 35, seeds 1 and 2 since stop 37),
# fine-tuned paired. Manifest only: ``make suite SUITE=mixed8k-40m-offgrid`` (14,355 s of one
# core by its manifest).
MIXED8K_40M_OFFGRID_SUITE = dataclasses.replace(MIXED8K_40M_SUITE, sizes=("35k", "180k", "420k"))

# The 40M suite with depth growing inside the fitted range: aspect ratio 27 (Ettin-68m's, 19 x
# 512; Ettin's 17m-400m span 27-38) instead of 32. 10k-53k stay 2 layers and 280k (3 x 96) and
# 640k (4 x 128) keep their shapes, so 15 of the 18 grid members are mixed8k-40m's, bit for bit
# (``adopt_members``); 120k becomes 3 x 64 (was 2 x 76). At A = 32 every fitted size (10k-120k)
# was 2 layers deep and the held-out ones 3 and 4: the laws were fitted on growth in width and
# forecast growth in depth (docs/calibration.md, stops 37-38).
MIXED8K_40M_A27_SUITE = dataclasses.replace(MIXED8K_40M_SUITE, aspect_ratio=27)

# Its off-grid sizes: 35k (2 x 40) and 180k (3 x 76) are mixed8k-40m-offgrid's members; 420k
# becomes 4 x 102 (was 3 x 120).
MIXED8K_40M_A27_OFFGRID_SUITE = dataclasses.replace(
    MIXED8K_40M_A27_SUITE, sizes=("35k", "180k", "420k")
)

# every shipped suite by name: the first suite (one pretraining seed, 2 layers, stream
# packing) is ``suite/`` itself, any other ``suite/<name>/``; ``model.suite`` picks one (default
# ``stream``), ``make suite SUITE=<name>`` (``rerankscale suite --suite``) builds it
SUITES = {
    ROOT_SUITE: DEFAULT_SUITE,
    "deep": DEEP_SUITE,
    "deep20": DEEP20_SUITE,
    "mixed": MIXED_SUITE,
    "mixed8k": MIXED8K_SUITE,
    "mixed8k-offgrid": MIXED8K_OFFGRID_SUITE,
    "mixed8k-40m": MIXED8K_40M_SUITE,
    "mixed8k-40m-offgrid": MIXED8K_40M_OFFGRID_SUITE,
    "mixed8k-40m-a27": MIXED8K_40M_A27_SUITE,
    "mixed8k-40m-a27-offgrid": MIXED8K_40M_A27_OFFGRID_SUITE,
}


# the suites whose members' weights the repository holds (all together ≤ 50 MB); the others ship
# their manifest only (spec, keys, checksums, logs): `make suite SUITE=<name>` builds the weights.
# suite/mixed8k/ (cpu-10m's, 30 members, 30 MB) shipped its weights until stop 35; they left
# the tree at stop 36 for mixed8k-40m's three seeds, and those at stop 38 for mixed8k-40m-a27's,
# which holds 15 of their 18 members bit for bit (git history keeps them)
WEIGHTS_SHIPPED = frozenset({ROOT_SUITE, "mixed8k-40m-a27"})


def suite_spec(name: str = ROOT_SUITE) -> SuiteSpec:
    """The spec of the shipped suite ``name``; ``SuiteError`` naming the known ones."""
    if name not in SUITES:
        raise SuiteError(
            f"unknown suite {name!r}; use one of {sorted(SUITES)}, or add a SuiteSpec to "
            "rerankscale.models.suite.SUITES"
        )
    return SUITES[name]


def suite_folder(name: str = ROOT_SUITE) -> Path:
    """Where the shipped suite ``name`` lives: ``suite/`` for ``stream``, else
    ``suite/<name>/``."""
    suite_spec(name)
    return named_suite_dir(name, SUITE_DIR)


def suite_tokenizer(spec: SuiteSpec):
    """The word-level tokenizer of the suite's world. The vocabulary (pieces, fillers) follows
    the world's lexicon knobs (``n_pieces``, ``n_fillers``, ``seed``), so it is built under the
    spec's world, not the process's active one: a member of a world with more pieces would
    otherwise see some of them as ``[UNK]``."""
    with synthetic_config(spec.world_config()):
        return get_tokenizer(TOKENIZER_DATASET, spec.vocab_size, progress=False)


def member_order(name: str) -> tuple[int, int]:
    """Sort key of a member name: (non-embedding size, pretraining seed)."""
    size, _, seed = name.partition("-p")
    return parse_size(size), int(seed or 0)


def key_of(spec: SuiteSpec, size: str, tokenizer=None, seed: int = 0) -> str:
    """The member's cache key: corpus id and config, shape, tokenizer vocabulary, recipe, seed."""
    tokenizer = tokenizer or suite_tokenizer(spec)
    fingerprint = json.dumps(
        {"corpus": spec.corpus.to_dict(), "world": spec.world_config().hash}, sort_keys=True
    )
    return member_key(
        CORPUS_ID,
        spec.shape(size),
        tokenizer,
        spec.member_recipe(seed),
        size_name(size),
        fingerprint,
    )


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checksums(folder: Path) -> dict[str, str]:
    return {p.name: sha256(p) for p in sorted(folder.iterdir()) if p.is_file()}


def suite_name(suite_dir: str | Path = SUITE_DIR) -> str:
    """The suite a folder holds: ``stream`` for ``suite/``, the folder's name otherwise."""
    suite_dir = Path(suite_dir)
    return ROOT_SUITE if suite_dir == SUITE_DIR else suite_dir.name


def rebuild_command(suite_dir: str | Path = SUITE_DIR) -> str:
    """``make suite SUITE=<name>``."""
    return f"{REBUILD} SUITE={suite_name(suite_dir)}"


def _in_repo(path: Path) -> str:
    """``path`` relative to the project (as git names it) when it is inside, else in full."""
    try:
        return str(path.resolve().relative_to(SUITE_DIR.parent.resolve()))
    except ValueError:
        return str(path)


def read_manifest(suite_dir: Path = SUITE_DIR) -> dict:
    path = Path(suite_dir) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {"members": {}}


def _verified(suite_dir: Path, name: str, entry: dict | None, key: str | None = None) -> bool:
    folder = Path(suite_dir) / name
    if entry is None or not folder.is_dir() or (key is not None and entry.get("key") != key):
        return False
    return _checksums(folder) == entry.get("sha256")


def member_path(size: str, suite_dir: str | Path = SUITE_DIR, seed: int = 0) -> Path:
    """The verified folder of the shipped member ``size``; ``SuiteError`` naming the member and
    ``make suite`` when it is not in the manifest, missing, or its files' sha256 differ."""
    suite_dir = Path(suite_dir)
    name = member_name(size, seed)
    entry = read_manifest(suite_dir)["members"].get(name)
    if entry is None:
        raise SuiteError(
            f"the pretrained suite has no member {name!r} ({suite_dir / MANIFEST} lists "
            f"{sorted(read_manifest(suite_dir)['members'], key=member_order)}); add the size or "
            "pretraining seed to its SuiteSpec in rerankscale.models.suite.SUITES and run "
            f"`{rebuild_command(suite_dir)}`, or use "
            "family 'scratch'"
        )
    if not _verified(suite_dir, name, entry):
        restore = (
            f" (or restore it with `git checkout -- {_in_repo(suite_dir / name)}`)"
            if suite_name(suite_dir) in WEIGHTS_SHIPPED
            else ""
        )
        raise SuiteError(
            f"suite member {name!r} in {suite_dir / name} is missing or its checksum differs from "
            f"{suite_dir / MANIFEST}; rebuild it with `{rebuild_command(suite_dir)}`{restore}"
        )
    return suite_dir / name


def member_identity(size: str, suite_dir: str | Path = SUITE_DIR, seed: int = 0) -> dict:
    """What a run fine-tuned from the shipped member ``size`` starts from, beyond its config:
    ``{"member": "<suite>/<name>", "sha256": <its model.safetensors>}`` from the manifest. A
    run records it, so that a member rebuilt under the same name (a changed recipe or shape)
    never resumes, or counts as finished, a run fine-tuned from the old weights."""
    suite_dir = Path(suite_dir)
    name = member_name(size, seed)
    entry = read_manifest(suite_dir)["members"].get(name) or {}
    return {
        "member": f"{suite_dir.name}/{name}",
        "sha256": entry.get("sha256", {}).get("model.safetensors"),
    }


def check_world(world: SyntheticConfig, suite_dir: str | Path = SUITE_DIR) -> None:
    """``SuiteError`` when ``world`` (the fine-tuning data's synthetic config) is not the world
    the suite in ``suite_dir`` was pretrained on (its manifest's ``spec.world``)."""
    built = read_manifest(Path(suite_dir)).get("spec", {}).get("world", {})
    if SyntheticConfig.from_overrides(dict(built)).hash != world.hash:
        raise SuiteError(
            f"the suite in {suite_dir} was pretrained on the synthetic world {built or 'default'} "
            f"but the run's data.synthetic differs; set data.synthetic to {built or '{}'}, or "
            f"rebuild the suite for this world with `{rebuild_command(suite_dir)}`"
        )


# --------------------------------------------------------------------------- the probe


def probe_member(model, tokenizer, cfg: SyntheticConfig | None = None, n_entities: int = 3) -> dict:
    """Cloze probe of the register mapping (module docstring); ``model`` is a
    ``ModernBertForMaskedLM``. Entities ranked 100.. (mid-popularity) name the cloze."""
    import torch

    cfg = cfg or SyntheticConfig()
    world = build_world(cfg)
    vocab = tokenizer.get_vocab()
    words = [(r, f) for r, forms in enumerate(world.rel_d_forms) for f in forms]
    piece_ids = torch.tensor([[vocab[p] for p in f.split()] for _, f in words])
    if piece_ids.shape[1] != 2:
        raise SuiteError("the probe assumes two-piece relation paraphrases (relation_pieces=2)")
    word_rel = torch.tensor([r for r, _ in words])
    texts, rels = [], []
    for r, forms in enumerate(world.rel_q_forms):
        for q in forms:
            for e in range(n_entities):
                name = world.entity_forms[100 + e][0]
                texts.append(f"{name} {q} [SEP] {name} [MASK] [MASK]")
                rels.append(r)
    was_training = model.training
    model.eval()
    hits = []
    with torch.inference_mode():
        for start in range(0, len(texts), 256):
            batch = tokenizer(texts[start : start + 256], return_tensors="pt", padding=True)
            logp = model(**batch).logits.log_softmax(-1)
            pos = (batch["input_ids"] == tokenizer.mask_token_id).nonzero()[:, 1].view(-1, 2)
            rows = torch.arange(len(pos))
            first = logp[rows, pos[:, 0]][:, piece_ids[:, 0]]
            second = logp[rows, pos[:, 1]][:, piece_ids[:, 1]]
            best = (first + second).argmax(dim=1)
            hits.extend((word_rel[best] == torch.tensor(rels[start : start + 256])).tolist())
    model.train(was_training)
    per_rel = np.asarray(hits, dtype=float).reshape(cfg.n_relations, -1).mean(axis=1)
    weights = zipf_weights(cfg.n_relations, cfg.zipf_qrel)
    return {
        "accuracy": float(per_rel.mean()),
        "query_weighted": float((per_rel * weights).sum()),
        "chance": 1.0 / cfg.n_relations,
        "constant_guess": float(weights.max()),  # query_weighted of always naming relation 1
        "top10": float(per_rel[:10].mean()),
        "top100": float(per_rel[:100].mean()),
        "relations_known": int((per_rel > 0.5).sum()),
    }


# --------------------------------------------------------------------------- building


def build_member(
    size: str, spec: SuiteSpec, folder: Path, progress: bool = False, seed: int = 0
) -> dict:
    """Pretrain member ``size`` with pretraining seed ``seed`` into ``folder`` (written
    atomically); returns its log."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: bitwise reproducible on a CPU
    try:
        tokenizer = suite_tokenizer(spec)
        world = spec.world_config()
        model, log = pretrain_mlm(
            spec.shape(size),
            tokenizer,
            pretraining_texts(world, corpus_cfg=spec.corpus),
            spec.member_recipe(seed),
            progress=progress,
        )
        log["probe"] = probe_member(model, tokenizer, world)
        log["readiness"] = readiness_probe(model.model, tokenizer, dict(spec.world))
    finally:
        torch.set_num_threads(threads)
    log.update(corpus=CORPUS_ID, corpus_config=spec.corpus.to_dict(), size=member_name(size))
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        with quiet_transformers(warnings=False):
            model.save_pretrained(str(tmp))
        save_and_check(tokenizer, tmp)
        atomic_write_json(tmp / LOG_FILE, log)
        _move_into_place(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return log


def built_on() -> dict:
    """What a member's bits depend on besides its key: the CPU's kernel dispatch and torch."""
    return {
        "cpu_model": cpu_model(),
        "cpu_capability": cpu_capability(),
        "torch": package_versions(("torch",))["torch"],
    }


def record_member(suite_dir: Path, spec: SuiteSpec, name: str, log: dict, key: str) -> None:
    """Enter the built member ``name`` (its pretraining ``log``, ``pretrain.json``; its cache
    ``key``, ``key_of``) in the manifest of ``suite_dir``: key, shape, held-out loss, probes,
    time and the sha256 of each file."""
    entry = {
        "key": key,
        "n_params_non_embedding": log["n_params_non_embedding"],
        "shape": log["shape"],
        "tokens_seen": log["tokens_seen"],
        "heldout_loss_final": log["heldout_loss_final"],
        "probe": log["probe"],
        "readiness": log["readiness"],
        "seconds": log["seconds"],
        "sha256": _checksums(Path(suite_dir) / name),
        "built_on": built_on(),
    }
    _enter(Path(suite_dir), spec, name, entry)


def _enter(suite_dir: Path, spec: SuiteSpec, name: str, entry: dict) -> None:
    """Write ``entry`` as member ``name`` of the manifest of ``suite_dir`` (members in size
    order), under a file lock, so parallel builders never lose an entry."""
    with file_lock(suite_dir / ".manifest.lock"):
        current = read_manifest(suite_dir)
        current["spec"] = spec.to_dict()
        current["members"][name] = entry
        current["members"] = dict(
            sorted(current["members"].items(), key=lambda kv: member_order(kv[0]))
        )
        atomic_write_json(suite_dir / MANIFEST, current)


def _move_into_place(tmp: Path, folder: Path) -> None:
    """Replace ``folder`` by the finished ``tmp`` (a sibling), so a kill never leaves a
    half-written member under its name."""
    if folder.exists():
        shutil.rmtree(folder)
    os.rename(tmp, folder)


def adopt_members(suite_dir: Path, spec: SuiteSpec, wanted: dict[str, str]) -> list[str]:
    """Copy into ``suite_dir`` every wanted member (name → cache key) that another suite of
    ``SUITES`` already holds, verified, under the same key: a member's bits are a function of
    its key and the machine (``built_on``, which the copied entry keeps), so rebuilding it would
    spend the same pretraining for the same weights. The shipped suites are looked in first; the
    entry records ``adopted_from``. Returns the names adopted."""
    sources = [
        (other, suite_folder(other))
        for other in sorted(SUITES, key=lambda other: other not in WEIGHTS_SHIPPED)
    ]
    held = {
        other: read_manifest(source)["members"]
        for other, source in sources
        if source.resolve() != suite_dir.resolve()
    }
    adopted = []
    for name, key in wanted.items():
        for other, source in sources:
            entry = held.get(other, {}).get(name)
            if not _verified(source, name, entry, key):
                continue
            tmp = Path(tempfile.mkdtemp(dir=suite_dir, prefix=f".{name}.tmp-")) / name
            shutil.copytree(source / name, tmp)
            _move_into_place(tmp, suite_dir / name)
            shutil.rmtree(tmp.parent)
            _enter(suite_dir, spec, name, {**entry, "adopted_from": f"{other}/{name}"})
            adopted.append(name)
            break
    return adopted


def _build_one(size: str, seed: int, spec: SuiteSpec, suite_dir: str) -> tuple[str, dict]:
    name = member_name(size, seed)
    return name, build_member(size, spec, Path(suite_dir) / name, seed=seed)


def build_suite(
    spec: SuiteSpec = DEFAULT_SUITE,
    suite_dir: str | Path = SUITE_DIR,
    workers: int = 2,
    progress: bool = True,
) -> dict:
    """Build every member of ``spec`` (size × pretraining seed) whose folder does not match the
    manifest; returns the manifest. Members run ``workers`` at a time, one process each (one
    torch thread)."""
    from tqdm.auto import tqdm

    suite_dir = Path(suite_dir)
    suite_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = suite_tokenizer(spec)
    manifest = read_manifest(suite_dir)
    manifest["spec"] = spec.to_dict()
    members = spec.members()
    keys = {member_name(s, k): key_of(spec, s, tokenizer, seed=k) for s, k in members}
    todo = {
        name: (s, k)
        for (s, k), name in zip(members, keys)
        if not _verified(suite_dir, name, manifest["members"].get(name), keys[name])
    }
    adopted = adopt_members(suite_dir, spec, {name: keys[name] for name in todo})
    todo = [member for name, member in todo.items() if name not in adopted]
    todo.sort(key=lambda m: (-parse_size(m[0]), m[1]))  # longest first: the pool finishes sooner

    bar = tqdm(
        total=len(members), initial=len(members) - len(todo), desc="suite", disable=not progress
    )
    if workers <= 1:
        for size, seed in todo:
            name, log = _build_one(size, seed, spec, str(suite_dir))
            record_member(suite_dir, spec, name, log, keys[name])
            bar.update(1)
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(_build_one, s, k, spec, str(suite_dir)) for s, k in todo]
            for future in as_completed(futures):
                name, log = future.result()
                record_member(suite_dir, spec, name, log, keys[name])
                bar.update(1)
    bar.close()
    fill_readiness(spec, suite_dir)
    return read_manifest(suite_dir)


def fill_readiness(spec: SuiteSpec, suite_dir: str | Path = SUITE_DIR) -> dict:
    """Add the readiness probe (``models.readiness``) to every verified member of ``suite_dir``
    whose manifest entry lacks it (members built before the probe existed); the member's files
    are not touched. Returns the manifest."""
    from transformers import AutoTokenizer, ModernBertForMaskedLM

    suite_dir = Path(suite_dir)
    manifest = read_manifest(suite_dir)
    groups = None  # drawn once, for the first member that needs them
    for name, entry in manifest["members"].items():
        if "readiness" in entry or not _verified(suite_dir, name, entry):
            continue
        with quiet_transformers(warnings=False):
            model = ModernBertForMaskedLM.from_pretrained(str(suite_dir / name))
            tokenizer = AutoTokenizer.from_pretrained(str(suite_dir / name))
        groups = groups or probe_groups(None, dict(spec.world))
        readiness = readiness_probe(model.model, tokenizer, groups=groups)
        with file_lock(suite_dir / ".manifest.lock"):
            current = read_manifest(suite_dir)
            current["members"][name]["readiness"] = readiness
            atomic_write_json(suite_dir / MANIFEST, current)
    return read_manifest(suite_dir)
