"""Step arithmetic for a training run: batch sizes, step counts, checkpoints, learning rate.

Exposure is counted in training *queries* (groups of 1 positive + k negatives) for every
objective, so objectives are compared at equal data:

* group objectives (pairwise, listwise, ...) take ``batch_queries`` groups per micro-batch;
* the pointwise objective takes ``ceil(batch_pairs / (1 + k))`` whole groups per micro-batch and
  flattens them into pairs (so a pointwise micro-batch holds ``groups · (1 + k)`` pairs, e.g. 16
  groups = 128 pairs for k = 7, 12 groups = 132 pairs for k = 10).

One optimizer step is ``grad_accum`` micro-batches. The batch sizes are *global*: with several
processes each takes its share of every micro-batch, so the same config trains the same model
on one CPU or eight GPUs.

Checkpoints are due at queries-seen points (``checkpoint_schedule``: the explicit list, every N
optimizer steps, or log-spaced; ``checkpoint_points`` adds the final one); ``config`` checks the
values of the list (``config.check_checkpoints``, raised by ``RunConfig.validate`` too).

The optimizer is AdamW with weight decay on matrices only (``make_optimizer``); the peak
learning rate follows the 1/width rule unless set (``resolve_lr``); the learning-rate schedules
are multipliers of the peak lr, evaluated at the 0-based index of the optimizer step about to
be taken: ``linear`` (warmup, then linear decay to 0), ``constant`` (warmup, then flat) and
``wsd`` (warmup, stable, then a linear decay over the final ``decay_fraction`` of the steps).
Fine-tuning (``train``) and MLM pretraining (``pretrain``) both take these three from here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rerankscale.config import ConfigError, RunConfig, TrainConfig, check_checkpoints

if TYPE_CHECKING:
    import torch


def groups_per_micro_batch(cfg: RunConfig) -> int:
    """Training groups (queries) in one micro-batch, summed over all processes."""
    if cfg.train.objective == "pointwise":
        return math.ceil(cfg.train.batch_pairs / (1 + cfg.data.n_negatives))
    return cfg.train.batch_queries


def queries_per_step(cfg: RunConfig) -> int:
    """Training groups (queries) consumed by one optimizer step, summed over all processes."""
    return groups_per_micro_batch(cfg) * cfg.train.grad_accum


def total_steps(cfg: RunConfig) -> int:
    """Optimizer steps to see ``max_queries`` groups; the last step takes the remainder."""
    return math.ceil(cfg.train.max_queries / queries_per_step(cfg))


def step_queries(cfg: RunConfig, step: int) -> int:
    """Groups consumed by the 0-based optimizer step ``step`` (the last one may be partial)."""
    per_step = queries_per_step(cfg)
    return min(per_step, cfg.train.max_queries - step * per_step)


def checkpoint_schedule(cfg: RunConfig) -> list[int]:
    """Queries-seen values at which checkpoints are taken, as the config asks for them.

    Explicit ``train.checkpoints`` win (checked by ``config.check_checkpoints``); with
    ``checkpoint_every_steps`` (the paper's schedule) every ``k`` optimizer steps, i.e. every
    ``k · queries_per_step(cfg)`` queries, for every objective (pointwise included);
    otherwise ``n_checkpoints`` values log-spaced from ``first_checkpoint`` to ``max_queries``
    (inclusive), rounded to whole queries.
    """
    train = cfg.train
    check_checkpoints(train)
    if train.checkpoints is not None:
        return list(train.checkpoints)
    if train.checkpoint_every_steps:
        every = train.checkpoint_every_steps * queries_per_step(cfg)
        return list(range(every, train.max_queries + 1, every))
    first = min(train.first_checkpoint, train.max_queries)
    n = max(1, train.n_checkpoints)
    if n == 1 or first == train.max_queries:
        return [train.max_queries]
    ratio = (train.max_queries / first) ** (1 / (n - 1))
    points = sorted({int(round(first * ratio**i)) for i in range(n)})
    points[-1] = train.max_queries
    return points


def checkpoint_points(cfg: RunConfig) -> list[int]:
    """Queries-seen values at which checkpoints are due, strictly increasing, ending at
    ``max_queries`` (``checkpoint_schedule`` plus the final checkpoint, always taken).

    A checkpoint is taken at the first optimizer step whose queries-seen count reaches the
    point, and named by the queries actually seen there (a log-spaced point need not fall on a
    step boundary; moving the step boundaries would make the weights depend on the schedule).
    """
    points = checkpoint_schedule(cfg)
    if not points or points[-1] != cfg.train.max_queries:
        points.append(cfg.train.max_queries)
    return points


def checkpoint_steps(cfg: RunConfig) -> dict[int, int]:
    """``{optimizer step count after which to save: scheduled point}`` (1-based step counts).

    Several points falling within one step collapse into one checkpoint (the largest point)."""
    per_step = queries_per_step(cfg)
    due: dict[int, int] = {}
    for point in checkpoint_points(cfg):
        due[math.ceil(point / per_step)] = point
    return due


def make_optimizer(
    model, train_cfg, lr: float, device_type: str | None = None
) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices (≥ 2-D weights) only, as in nanoGPT.

    ``train_cfg``: anything with ``weight_decay`` and ``betas`` (a ``TrainConfig``, a
    ``pretrain.PretrainRecipe``). On a ``"cpu"`` or ``"cuda"`` ``device_type`` the fused kernel
    is used; ``None`` leaves the choice to torch (its per-parameter loop on the CPU, which the
    shipped suite was pretrained with: the fused kernel rounds differently)."""
    import torch  # deferred: the step arithmetic above serves the torch-free preflight too

    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": train_cfg.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    fused = {} if device_type is None else {"fused": device_type in ("cpu", "cuda")}
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(train_cfg.betas), **fused)


def resolve_lr(train: TrainConfig, d_model: int) -> float:
    """Peak learning rate: ``train.lr`` if set, else the width rule
    ``min(lr_max, lr_width_const / d_model**p)`` with ``p = lr_width_power`` (1 when absent: the
    µP-like 1/width scaling; a study's fitted p from its lr sweep,
    ``rerankscale.orchestration.lr_sweep``). ``train``: anything with ``lr``, ``lr_max`` and
    ``lr_width_const`` (a ``TrainConfig``, a ``PretrainRecipe``)."""
    if train.lr is not None:
        if not train.lr > 0:
            raise ConfigError(f"train.lr must be positive, got {train.lr}")
        return float(train.lr)
    if d_model <= 0:
        raise ConfigError(f"model width must be positive for the lr width rule, got {d_model}")
    power = getattr(train, "lr_width_power", 1.0)
    if not power > 0:
        raise ConfigError(f"train.lr_width_power must be positive, got {power}")
    return min(train.lr_max, train.lr_width_const / d_model**power)


class LRSchedule:
    """Multiplier of the peak lr at a 0-based optimizer step (picklable, for ``LambdaLR``).

    Fine-tuning rounds ``warmup_fraction · total`` to the nearest step (0 allowed);
    ``LRSchedule.pretraining`` counts the warmup as MLM pretraining always has."""

    @classmethod
    def pretraining(cls, total: int, warmup_fraction: float) -> LRSchedule:
        """Linear warmup then linear decay to 0 with ``max(1, ⌊warmup_fraction · total⌋)``
        warmup steps: the schedule every suite member was pretrained with (rounding it like
        fine-tuning would change members whose cache keys stay the same)."""
        warmup = max(1, int(warmup_fraction * max(1, total)))
        return cls("linear", total, warmup_fraction, 1.0, warmup_steps=warmup)

    def __init__(
        self,
        kind: str,
        total: int,
        warmup_fraction: float,
        decay_fraction: float,
        warmup_steps: int | None = None,
    ):
        if kind not in ("linear", "constant", "wsd"):
            raise ConfigError(f"unknown lr schedule {kind!r}; choose linear, constant or wsd")
        if not 0 <= warmup_fraction < 1:
            raise ConfigError(f"train.warmup_fraction must be in [0, 1), got {warmup_fraction}")
        if kind == "wsd" and not 0 < decay_fraction <= 1:
            raise ConfigError(f"train.decay_fraction must be in (0, 1], got {decay_fraction}")
        self.kind = kind
        self.total = max(1, total)
        self.warmup = (
            int(round(warmup_fraction * self.total)) if warmup_steps is None else warmup_steps
        )
        decay = max(1, int(round(decay_fraction * self.total)))
        self.decay_start = max(self.warmup, self.total - decay)

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.kind == "constant":
            return 1.0
        start = self.warmup if self.kind == "linear" else self.decay_start
        if step < start:
            return 1.0
        return max(0.0, (self.total - step) / (self.total - start))
