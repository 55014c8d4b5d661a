"""Configuration: size strings, run configs, study presets.

Everything a run needs is a plain dataclass value, so a run is fully described by
``RunConfig.to_dict()`` (written to ``config.json`` in its run directory) and can be rebuilt
with ``RunConfig.from_dict``. A *study* (``StudyConfig``) is a grid of runs: sizes × objectives
× seeds over one dataset, plus what the analysis holds out for forecasting.

Presets live in ``rerankscale/presets/<name>.yaml``; a user preset is a YAML file of the same
form (see ``load_study``). Unknown keys are errors, never silently ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rerankscale.paths import named_suite_dir, resolve

PRESETS_DIR = Path(__file__).with_name("presets")

OBJECTIVES = ("pointwise", "pairwise", "listwise", "lambdaloss", "listmle")
FAMILIES = ("scratch", "suite", "hf")
POOLINGS = ("cls", "mean")
# how a model's forward runs (``rerankscale.models.fastpath``): "fast" the lean ModernBERT
# forward (an error where it does not apply), "hf" the transformers module's own forward,
# "auto" the lean forward where it applies and the module's own elsewhere
ENGINES = ("auto", "fast", "hf")
SCHEDULES = ("linear", "constant", "wsd")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the value and the fix."""


# --------------------------------------------------------------------------- size strings

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMbB]?)\s*$")
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9}


def parse_size(size: str | int) -> int:
    """Parse a size string into a parameter count: ``"250k"`` → 250_000, ``"1.6m"`` → 1_600_000,
    ``"1b"`` → 1_000_000_000. Integers pass through (must be positive)."""
    if isinstance(size, bool):
        raise ConfigError(
            f"size {size!r} is not a size; use a string like '250k', '1.6m', '50m' or '1b'"
        )
    if isinstance(size, int):
        if size <= 0:
            raise ConfigError(f"size {size} must be a positive parameter count")
        return size
    if not isinstance(size, str):
        raise ConfigError(
            f"size {size!r} is not a size; use a string like '250k', '1.6m', '50m' or '1b'"
        )
    match = _SIZE_RE.match(size)
    if not match:
        raise ConfigError(
            f"malformed size string {size!r}: use a number with an optional k/m/b suffix, "
            "e.g. '250k', '1.6m', '50m', '1b'"
        )
    value = float(match.group(1)) * _SUFFIX[match.group(2).lower()]
    if value < 1:
        raise ConfigError(f"size {size!r} is below one parameter")
    return int(round(value))


def format_size(n: int) -> str:
    """Inverse of ``parse_size`` with at most 3 significant digits: 1_600_000 → ``"1.6m"``."""
    if n <= 0:
        raise ConfigError(f"cannot format non-positive size {n}")
    for suffix, scale in (("b", 10**9), ("m", 10**6), ("k", 10**3)):
        if n >= scale:
            value = n / scale
            digits = max(0, 2 - int(math.floor(math.log10(value))))
            text = f"{value:.{digits}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return str(n)


def size_name(size: str | int) -> str:
    """The one name of a size: ``"50000"``, ``50000`` and ``"50k"`` are all ``"50k"`` (the
    form ``format_size`` writes). A count ``format_size`` would round (it keeps 3 significant
    digits) keeps its digits, ``"1.234m"`` → ``"1234000"``, so two sizes never share a name.
    Raises ``ConfigError`` for a malformed size, as ``parse_size`` does."""
    n = parse_size(size)
    short = format_size(n)
    return short if parse_size(short) == n else str(n)


def member_name(size: str, seed: int = 0) -> str:
    """A suite member's name: ``120k`` for pretraining seed 0, ``120k-p1`` for seed 1."""
    name = size_name(size)
    return f"{name}-p{int(seed)}" if seed else name


# --------------------------------------------------------------------------- config blocks


@dataclass
class DataConfig:
    """Where training groups and eval sets come from (ir_datasets ids)."""

    train_dataset: str = "rerankscale/synthetic/train"
    eval_sets: list[str] = field(
        default_factory=lambda: ["rerankscale/synthetic/dev", "rerankscale/synthetic/trec"]
    )
    candidate_depth: int = 50  # first-stage top-k reranked (the paper: 100)
    n_negatives: int = 7  # negatives per training group (the paper: 10)
    max_train_queries: int | None = None  # cap on distinct training queries (the paper: 100k)
    max_eval_queries: int | None = None  # cap on eval queries (seeded subset), None = all
    bm25_k1: float = 0.9
    bm25_b: float = 0.4
    synthetic: dict[str, Any] = field(default_factory=dict)  # synthetic task knob overrides


@dataclass
class ModelConfig:
    """Which cross-encoder: a family and a size (or a pretrained id/path for ``hf``)."""

    family: str = "scratch"
    size: str = "50k"  # non-embedding parameter target for scratch/suite; registry key for hf
    name_or_path: str | None = None  # hf: a hub id or local path (overrides the size registry)
    vocab_size: int = 4096  # tokenizer trained on the corpus (ignored when the dataset fixes one)
    max_length: int = 128  # query + passage tokens
    attn_implementation: str = "sdpa"
    # dropout and classifier input ("cls": the [CLS] state, "mean": the mean of all states); None
    # keeps the model's own: 0.0 and "cls" for a model built here (scratch, suite), a pretrained
    # (hf) checkpoint's config values. Set, they apply to every family (hf: ModernBERT only).
    dropout: float | None = None
    pooling: str | None = None
    engine: str = "auto"  # forward pass in training and reranking: one of ENGINES
    # suite: the pretraining seed of the member fine-tuned (MultiBERTs-style seed pairs);
    # "paired" takes the fine-tuning seed, so a study's seeds span pretraining × fine-tuning;
    # "ready" is "paired" on the pretraining seeds the suite's readiness screen keeps per size
    # (``ready_seeds``): a study's seed i is the size's i-th kept seed
    suite_seed: int | str = 0
    # suite: which shipped suite (``rerankscale.models.suite.SUITES``): "stream" is ``suite/``, any
    # other name ``suite/<name>/`` ("deep": 10M pretraining tokens per member, "deep20": 20M)
    suite: str = "stream"


SUITE_SEED_RULES = ("paired", "ready")
DEFAULT_PRESET = "cpu"  # the offline study: `make study`, the CLI's --preset, figures/
CELL_NUMERICS = ("native", "pinned")  # StudyConfig.cell_numerics


def member_seed(model: ModelConfig, train_seed: int) -> int:
    """The pretraining seed of the suite member a run fine-tunes (0 for other families):
    ``model.suite_seed``, or the fine-tuning seed when it is ``"paired"`` or ``"ready"`` (for
    ``"ready"`` the seed must be one the suite's readiness screen keeps: ``ready_seeds``)."""
    if model.family != "suite":
        return 0
    if model.suite_seed == "ready" and int(train_seed) not in ready_seeds(model):
        raise ConfigError(
            f"model.suite_seed 'ready': pretraining seed {train_seed} of size {model.size} is not "
            f"one that suite {model.suite!r} keeps ({ready_seeds(model)}); fine-tune one of those, "
            "or set model.suite_seed to 'paired'"
        )
    if model.suite_seed in SUITE_SEED_RULES:
        return int(train_seed)
    return int(model.suite_seed)


def screened_seeds(readiness: dict[int, float], keep: int | None = None) -> list[int]:
    """The pretraining seeds a readiness screen keeps of one size: the ``keep`` whose
    ``readiness`` (seed → ``mrr_last``) is highest, ties to the lower seed, in increasing order;
    all of them when ``keep`` is None."""
    ranked = sorted(readiness, key=lambda seed: (-float(readiness[seed]), seed))
    return sorted(ranked[: keep or len(ranked)])


def kept_seeds(manifest: dict, size: str, suite: str) -> list[int]:
    """``screened_seeds`` of size ``size`` in a suite's manifest (its ``spec.seeds`` and
    ``spec.keep``, each member's ``readiness.mrr_last``, ``rerankscale.models.readiness``);
    ``ConfigError`` naming the member without readiness and the build that adds it."""
    spec = manifest.get("spec", {})
    scores = {}
    for seed in spec.get("seeds", [0]):
        name = member_name(size, seed)
        readiness = manifest["members"].get(name, {}).get("readiness", {}).get("mrr_last")
        if readiness is None:
            raise ConfigError(
                f"suite {suite!r} has no readiness for member {name!r} in its manifest, so "
                f"model.suite_seed 'ready' cannot choose; build it with `make suite "
                f"SUITE={suite}`, or set model.suite_seed to 'paired'"
            )
        scores[int(seed)] = readiness
    return screened_seeds(scores, spec.get("keep"))


def ready_seeds(model: ModelConfig) -> list[int]:
    """The pretraining seeds a study with ``model.suite_seed: ready`` fine-tunes at the model's
    size: ``kept_seeds`` of its suite's shipped manifest (``paths.named_suite_dir``). A
    best-k-of-n rule applied to every size alike before fine-tuning (``SuiteSpec.keep``), so a
    pretraining run that did not learn what ranking needs (a seed-lottery loser,
    docs/calibration.md stops 20–30) is not fine-tuned; the manifest ships with every suite, so
    the choice needs no weights."""
    path = named_suite_dir(model.suite) / "manifest.json"
    if not path.is_file():
        raise ConfigError(
            f"model.suite_seed 'ready' reads the manifest of suite {model.suite!r} and {path} "
            "does not exist; name a shipped suite (rerankscale.models.suite.SUITES), or set "
            "model.suite_seed to 'paired'"
        )
    stat = path.stat()
    return kept_seeds(_manifest(str(path), stat.st_mtime_ns, stat.st_size), model.size, model.suite)


@functools.lru_cache(maxsize=8)
def _manifest(path: str, mtime_ns: int, size: int) -> dict:
    """A suite manifest, parsed once per version of the file (a study resolves every cell's
    member from it: run ids, preflight, the sweep)."""
    return json.loads(Path(path).read_text())


@dataclass
class TrainConfig:
    """One training run. Exposure is counted in training queries seen (groups)."""

    objective: str = "listwise"
    seed: int = 0
    max_queries: int = 16_384  # total training queries (groups) seen
    batch_queries: int = 16  # groups per micro-batch (pairwise/listwise; the paper: 16)
    batch_pairs: int = 128  # pairs per micro-batch for pointwise (the paper: 128)
    grad_accum: int = 1
    # None = width rule lr = min(lr_max, lr_width_const / hidden**lr_width_power)
    # (schedule.resolve_lr); an lr sweep fits c and p (rerankscale.orchestration.lr_sweep), and
    # the defaults are at the sweep optimum of the cpu and cpu-10m presets (docs/lr_sweep_cpu/,
    # docs/lr_sweep_cpu-10m/)
    lr: float | None = None
    lr_max: float = 3e-3
    lr_width_const: float = 0.144
    lr_width_power: float = 1.0
    schedule: str = "linear"  # linear (warmup + linear decay), constant, wsd
    warmup_fraction: float = 0.05
    decay_fraction: float = 0.2  # wsd only: final fraction of training that decays to 0
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    bf16: bool = False
    checkpoints: list[int] | None = None  # queries-seen values; None = log-spaced
    n_checkpoints: int = 8  # for the default log-spaced schedule
    first_checkpoint: int = 512  # queries seen at the first log-spaced checkpoint
    checkpoint_every_steps: int | None = None  # the paper's "every N steps" option
    num_threads: int | None = None  # torch threads on the CPU; None = torch default


@dataclass
class EvalConfig:
    """How checkpoints are evaluated."""

    depth: int = 50  # candidates reranked per query
    ce_k: int = 32  # contrastive entropy negatives (the paper: 64)
    batch_size: int = 256
    bf16: bool = False
    subset_queries: int | None = 200  # seeded query subset for intermediate checkpoints
    full_eval: str = "last"  # which checkpoints get the full set: "last", "all"
    rel_threshold: int | None = None  # binary relevance threshold; None = dataset default
    seed: int = 0


@dataclass
class RunConfig:
    """One grid cell: size × objective × seed on one dataset."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    @property
    def run_id(self) -> str:
        """``<family>-<size>-<objective>-s<seed>``, plus ``-p<pretraining seed>`` for a suite
        member other than seed 0. A scratch/suite size is written by ``size_name``, so
        ``"50k"`` and ``"50000"`` name one run; an hf size (a registry key) as given."""
        family = self.model.family
        size = self.model.size
        if family in ("scratch", "suite"):
            with contextlib.suppress(ConfigError):  # a malformed size: validate() says so
                size = size_name(size)
        member = self.member_seed()
        tail = f"-p{member}" if member else ""  # pretraining seed 0: the original run ids
        return f"{family}-{size}-{self.train.objective}-s{self.train.seed}{tail}"

    def member_seed(self) -> int:
        return member_seed(self.model, self.train.seed)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        unknown = sorted(set(d) - {"data", "model", "train", "eval"})
        if unknown:
            raise ConfigError(f"unknown config block(s) {unknown}; use data, model, train and eval")
        return cls(
            data=_build(DataConfig, d.get("data", {}), "data"),
            model=_build(ModelConfig, d.get("model", {}), "model"),
            train=_build(TrainConfig, d.get("train", {}), "train"),
            eval=_build(EvalConfig, d.get("eval", {}), "eval"),
        )

    def validate(self) -> RunConfig:
        validate_run(self)
        return self


@dataclass
class SlurmConfig:
    """Resources of each cell on SLURM (``sweep --executor slurm``: one job-array task per
    cell), passed to ``submitit.AutoExecutor.update_parameters``; checked by the preflight
    (``rerankscale.orchestration.slurm``)."""

    cpus_per_task: int = 1
    mem_gb: float | None = None  # memory per cell; None = the cluster's default
    gpus_per_node: int = 0  # 0 or 1: a cell trains in one process
    time_min: int = 24 * 60  # time limit per cell, minutes
    partition: str | None = None  # None = the cluster's default partition
    sbatch: dict[str, Any] = field(default_factory=dict)  # extra sbatch options, e.g. {qos: high}


@dataclass
class StudyConfig:
    """A study: the grid and what the analysis holds out."""

    name: str = "cpu"
    sizes: list[str] = field(default_factory=lambda: ["50k", "100k"])
    objectives: list[str] = field(default_factory=lambda: ["pointwise", "pairwise", "listwise"])
    seeds: list[int] = field(default_factory=lambda: [0])
    extra_seeds_up_to: str | None = None  # sizes ≤ this get all seeds; larger sizes get seeds[0]
    held_out: list[str] = field(default_factory=list)  # sizes held out for forecasting
    runs_dir: str = "runs/{name}"
    # where the analysis writes; only the committed study (the cpu preset) names figures/,
    # so a quick preset never overwrites it
    figures_dir: str = "runs/{name}/figures"
    # a results table of sizes outside ``sizes`` (another study of the same recipe, e.g. the
    # preset ``cpu-offgrid``): the laws fitted on this study forecast them (T10), and nothing
    # is fitted on them; None: no such check
    offgrid_results: str | None = None
    # the floating-point environment of the cells' kernels (training, evaluation):
    # "native", the machine's own; "pinned", the analysis's (``numerics.pinned_env``), whose
    # MKL_CBWR=COMPATIBLE holds torch's GEMMs to SSE2 (a 640k step 2.15x slower,
    # docs/throughput.md stop 34). A committed study keeps the one it was trained in, so that
    # ``make study`` recomputes its table: training amplifies GEMM rounding (a 640k cell's final
    # NDCG@10 moved by up to .017 between the two)
    cell_numerics: str = "native"
    base: RunConfig = field(default_factory=RunConfig)
    slurm: SlurmConfig = field(default_factory=SlurmConfig)

    def grid(self) -> list[tuple[str, str, int]]:
        """The (size, objective, seed) cells: every seed for sizes up to
        ``extra_seeds_up_to``, the first seed above it. A malformed size still yields its
        cells (with the first seed) so that a sweep can report them as failed."""
        limit = parse_size(self.extra_seeds_up_to) if self.extra_seeds_up_to else None
        cells = []
        for size in self.sizes:
            try:
                many = limit is None or parse_size(size) <= limit
            except ConfigError:
                many = False
            for objective in self.objectives:
                for seed in self.seeds if many else self.seeds[:1]:
                    cells.append((size, objective, seed))
        return cells

    def cell(self, size: str, objective: str, seed: int) -> RunConfig:
        """The validated run config of one grid cell. With ``model.suite_seed: ready`` the
        grid's seed ``i`` is the ``i``-th pretraining seed the suite keeps at ``size``
        (``ready_seeds``), fine-tuned with that same seed."""
        cell = RunConfig.from_dict(self.base.to_dict())
        cell.model.size = str(size)
        cell.train.objective = objective
        cell.train.seed = int(seed)
        if cell.model.family == "suite" and cell.model.suite_seed == "ready":
            kept = ready_seeds(cell.model)
            if not 0 <= int(seed) < len(kept):
                raise ConfigError(
                    f"model.suite_seed 'ready': suite {cell.model.suite!r} keeps {len(kept)} "
                    f"pretraining seeds per size, so the study has no seed {seed}; use seeds "
                    f"0-{len(kept) - 1}, or raise the suite's keep"
                )
            cell.train.seed = kept[int(seed)]
        return cell.validate()

    def cells(self) -> list[RunConfig]:
        """Expand the grid into validated run configs (sizes × objectives × seeds)."""
        return [self.cell(*c) for c in self.grid()]

    @property
    def runs_path(self) -> Path:
        return Path(self.runs_dir.format(name=self.name))

    @property
    def figures_path(self) -> Path:
        return Path(self.figures_dir.format(name=self.name))


def _build(cls, values: dict[str, Any], where: str):
    if not isinstance(values, dict):
        raise ConfigError(f"'{where}' must be a mapping, got {type(values).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in '{where}'; known keys: {sorted(known)}")
    values = dict(values)
    if "betas" in values and values["betas"] is not None:
        values["betas"] = tuple(values["betas"])
    return cls(**values)


def validate_run(cfg: RunConfig) -> None:
    """Raise ``ConfigError`` naming the first invalid value and how to fix it."""
    if cfg.model.family not in FAMILIES:
        raise ConfigError(f"unknown model family {cfg.model.family!r}; choose one of {FAMILIES}")
    if cfg.model.family in ("scratch", "suite"):
        parse_size(cfg.model.size)
    seed = cfg.model.suite_seed
    if seed not in SUITE_SEED_RULES and (
        isinstance(seed, bool) or not isinstance(seed, int) or seed < 0
    ):
        raise ConfigError(
            f"model.suite_seed={seed!r}: use a pretraining seed (an integer ≥ 0), 'paired' (the "
            "fine-tuning seed) or 'ready' (the suite's readiness-screened seeds)"
        )
    if not isinstance(cfg.model.suite, str):
        raise ConfigError(
            f"model.suite={cfg.model.suite!r}: name a shipped suite as a string (a key of "
            "rerankscale.models.suite.SUITES, e.g. 'deep20')"
        )
    if cfg.model.pooling is not None and cfg.model.pooling not in POOLINGS:
        raise ConfigError(
            f"unknown pooling {cfg.model.pooling!r}; choose one of {POOLINGS}, or null for the "
            "model's own"
        )
    dropout = cfg.model.dropout
    if dropout is not None and (
        isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1
    ):
        raise ConfigError(
            f"model.dropout={dropout!r}: use a probability in [0, 1), or null for the model's own"
        )
    if cfg.model.engine not in ENGINES:
        raise ConfigError(f"unknown engine {cfg.model.engine!r}; choose one of {ENGINES}")
    if cfg.train.objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {cfg.train.objective!r}; choose one of {OBJECTIVES}")
    if cfg.train.schedule not in SCHEDULES:
        raise ConfigError(f"unknown lr schedule {cfg.train.schedule!r}; choose one of {SCHEDULES}")
    for knob in ("lr_max", "lr_width_const", "lr_width_power"):
        value = getattr(cfg.train, knob)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ConfigError(f"train.{knob}={value!r}: the lr width rule needs a positive number")
    if cfg.data.candidate_depth <= 0 or cfg.eval.depth <= 0:
        raise ConfigError(
            f"candidate depth must be positive (data.candidate_depth={cfg.data.candidate_depth}, "
            f"eval.depth={cfg.eval.depth})"
        )
    if cfg.eval.depth > cfg.data.candidate_depth:
        raise ConfigError(
            f"eval.depth={cfg.eval.depth} exceeds data.candidate_depth={cfg.data.candidate_depth}; "
            "retrieve at least as many candidates as you rerank"
        )
    if cfg.data.n_negatives < 1:
        raise ConfigError(f"data.n_negatives must be ≥ 1, got {cfg.data.n_negatives}")
    if cfg.train.max_queries <= 0:
        raise ConfigError(f"train.max_queries must be positive, got {cfg.train.max_queries}")
    if cfg.train.batch_queries <= 0 or cfg.train.batch_pairs <= 0 or cfg.train.grad_accum <= 0:
        raise ConfigError(
            "train.batch_queries, train.batch_pairs and train.grad_accum must be positive"
        )
    check_checkpoints(cfg.train)


def check_checkpoints(train: TrainConfig) -> None:
    """Raise ``ConfigError`` if ``train.checkpoints`` is not a non-empty, strictly increasing
    list of positive integers up to ``max_queries``, or ``checkpoint_every_steps`` is
    negative. The values only: ``schedule.checkpoint_points`` turns them into points."""
    points = train.checkpoints
    if points is not None:
        points = list(points)
        if (
            not points
            or any(not isinstance(p, int) or isinstance(p, bool) for p in points)
            or points[0] <= 0
            or any(b <= a for a, b in zip(points, points[1:]))
        ):
            raise ConfigError(
                f"train.checkpoints {points} must be a non-empty, strictly increasing list of "
                "positive integer queries-seen values, e.g. [512, 1024, 4096]"
            )
        if points[-1] > train.max_queries:
            raise ConfigError(
                f"last checkpoint {points[-1]} is beyond train.max_queries={train.max_queries}; "
                "drop it or raise max_queries"
            )
    elif train.checkpoint_every_steps and train.checkpoint_every_steps <= 0:
        raise ConfigError(
            f"train.checkpoint_every_steps must be positive, got {train.checkpoint_every_steps}"
        )


# --------------------------------------------------------------------------- presets


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "synthetic":
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_study(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> StudyConfig:
    """Load a preset by name (``smoke``, ``cpu``, ``paper``) or a YAML file path.

    A YAML study has top-level keys ``name, sizes, objectives, seeds, extra_seeds_up_to,
    held_out, runs_dir``, a ``base`` mapping with ``data/model/train/eval`` blocks and an
    optional ``slurm`` block (``SlurmConfig``: each cell's resources on SLURM). It may start
    with ``inherit: <preset>`` to override another preset.
    """
    raw = _read_yaml(name_or_path)
    if "inherit" in raw:
        parent = raw.pop("inherit")
        raw = _merge(dataclasses.asdict(load_study(parent)), raw)
    if overrides:
        raw = _merge(raw, overrides)
    return _study_from_dict(raw)


def preset_path(preset: str | Path) -> str | Path:
    """A preset name as given; a YAML path made absolute (relative to the working directory
    when it exists there, else to the project directory), so kernels find it too."""
    path = Path(preset)
    if path.suffix not in (".yaml", ".yml"):
        return preset
    return path.resolve() if path.exists() else resolve(path)


def load_preset(preset: str | Path) -> StudyConfig:
    """``load_study`` of a preset name or a YAML path (``preset_path``)."""
    return load_study(preset_path(preset))


def _read_yaml(name_or_path: str | Path) -> dict[str, Any]:
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESETS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
        raise ConfigError(
            f"no preset or YAML file {str(name_or_path)!r}; use one of {names} or a path to a .yaml file"
        )
    try:
        with path.open() as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as error:
        raise ConfigError(_yaml_problem(path, error)) from None
    if raw is None:
        raise ConfigError(
            f"{path} is empty: a study file needs at least a name and what it changes, e.g. "
            "'inherit: cpu', 'name: mine', 'sizes: [\"20k\", \"80k\"]'"
        )
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path} must hold a mapping at top level (keys like name, sizes, base), "
            f"got a {type(raw).__name__}"
        )
    return raw


def _yaml_problem(path: Path, error: yaml.YAMLError) -> str:
    """One line: file, line and column, and what the parser objects to."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context, start = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and start and start is not mark:
        context = f"{context} at line {start.line + 1}"
    detail = f"{problem} ({context})" if context else problem
    return f"{where}: invalid YAML: {detail}; fix that line (indentation, a missing ':' or quote)"


def _study_from_dict(raw: dict[str, Any]) -> StudyConfig:
    raw = dict(raw)
    base = RunConfig.from_dict(raw.pop("base", {}) or {})
    slurm = _build(SlurmConfig, raw.pop("slurm", {}) or {}, "slurm")
    known = {f.name for f in dataclasses.fields(StudyConfig)} - {"base", "slurm"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown study key(s) {unknown}; known keys: {sorted(known)}")
    raw["sizes"] = [str(s) for s in raw.get("sizes", StudyConfig().sizes)]
    raw["held_out"] = [str(s) for s in raw.get("held_out", [])]
    study = StudyConfig(base=base, slurm=slurm, **raw)
    if study.cell_numerics not in CELL_NUMERICS:
        raise ConfigError(
            f"cell_numerics {study.cell_numerics!r} is not one of {CELL_NUMERICS}; use 'native' "
            "(the machine's own floating-point environment) or 'pinned' (the analysis's)"
        )
    for size in study.held_out:
        if size not in study.sizes:
            raise ConfigError(f"held-out size {size!r} is not among the study sizes {study.sizes}")
    base.validate()
    return study
