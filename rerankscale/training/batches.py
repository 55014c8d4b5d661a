"""Training batches: a resumable stream of query groups, and how one optimizer step's groups are
cut into micro-batches and per-process shards.

The unit of data is the *group*: one query with its positive passage first and ``k`` negatives
(``rerankscale.data.training_groups``). Every objective consumes whole groups, so exposure is
counted in queries for all of them (see ``rerankscale.schedule``):

* group objectives (pairwise, listwise, ...) keep each group intact; a shard is ``b`` groups
  scored as a ``[b, 1 + k]`` matrix;
* the pointwise objective flattens the step's groups into (query, passage, label) pairs and
  shuffles them within the step (seeded by ``(seed, step)``); a shard is a flat list of pairs.

Length bucketing: when a step is split into several shards (gradient accumulation and/or
several processes), its units (groups, or pairs for pointwise) are sorted by token length first,
so each shard is padded only to lengths close to its own. Each shard's loss is weighted by its
share of the step's units, so the step's gradient is the mean over the whole step whatever the
split: one process with one micro-batch and eight processes with four micro-batches compute
the same update (up to float summation order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np


class TrainingDataError(ValueError):
    """A training group is malformed or the training data ran out; the message names the group
    and the fix."""


def validate_group(group: Any, n_negatives: int) -> None:
    """Check a ``TrainingGroup``: ``1 + n_negatives`` passages with labels, positive first."""
    size = 1 + n_negatives
    qid = getattr(group, "qid", "?")
    if not (len(group.docs) == len(group.labels) == len(group.doc_ids) == size):
        raise TrainingDataError(
            f"training group for query {qid!r} has {len(group.docs)} passages, "
            f"{len(group.labels)} labels and {len(group.doc_ids)} doc ids; expected {size} of each "
            f"(1 positive + data.n_negatives={n_negatives}). Fix the data source or set "
            "data.n_negatives to what it provides."
        )
    labels = list(group.labels)
    if labels[0] <= 0:
        raise TrainingDataError(
            f"training group for query {qid!r} has no positive first (labels {labels}); "
            "training_groups must yield the relevant passage first with a label > 0. Drop "
            "queries without a judged-relevant passage from the training data."
        )


class GroupStream:
    """The deterministic stream of training groups with a resumable cursor.

    ``source`` is ``training_groups`` (or a stand-in with its signature); the cursor is
    ``{"epoch": e, "offset": groups read in epoch e}`` and resumes with ``start=offset``.
    ``training_groups`` itself cycles over ``data.max_train_queries`` distinct queries (new
    order and negatives each pass), so its epoch stays 0; a source that does end is replayed
    from its start as the next epoch.
    """

    def __init__(
        self,
        source: Callable[..., Iterator[Any]],
        *,
        dataset_id: str,
        n_negatives: int,
        seed: int,
        max_train_queries: int | None = None,
        bm25_k1: float = 0.9,
        bm25_b: float = 0.4,
        cursor: dict[str, int] | None = None,
    ):
        self.source = source
        self.kwargs = dict(
            dataset_id=dataset_id,
            n_negatives=n_negatives,
            seed=seed,
            max_queries=max_train_queries,
            bm25_k1=bm25_k1,
            bm25_b=bm25_b,
        )
        self.n_negatives = n_negatives
        cursor = cursor or {"epoch": 0, "offset": 0}
        self.epoch, self.offset = int(cursor["epoch"]), int(cursor["offset"])
        self._it: Iterator[Any] | None = None

    @property
    def cursor(self) -> dict[str, int]:
        return {"epoch": self.epoch, "offset": self.offset}

    def _open(self) -> Iterator[Any]:
        return iter(self.source(start=self.offset, **self.kwargs))

    def take(self, n: int) -> list[Any]:
        """The next ``n`` groups, each validated."""
        out: list[Any] = []
        restarted = False
        while len(out) < n:
            if self._it is None:
                self._it = self._open()
            group = next(self._it, None)
            if group is None:
                if self.offset == 0 or restarted:
                    raise TrainingDataError(
                        f"the training stream for {self.kwargs['dataset_id']!r} yielded no groups "
                        f"(epoch {self.epoch}, offset {self.offset}); check data.train_dataset "
                        "and data.max_train_queries"
                    )
                self.epoch, self.offset, self._it, restarted = self.epoch + 1, 0, None, True
                continue
            validate_group(group, self.n_negatives)
            out.append(group)
            self.offset += 1
            restarted = False
        return out


@dataclass
class Shard:
    """What one process scores in one micro-batch."""

    queries: list[str]
    docs: list[str]
    labels: list[float]
    n_groups: int  # groups (rows of the score matrix); 0 for pointwise
    group_size: int  # 1 + k
    units: int  # groups (group objectives) or pairs (pointwise) that count in the loss
    dummy: bool = False  # a placeholder so every process runs forward/backward; weight 0

    @property
    def n_pairs(self) -> int:
        return len(self.queries)


def plan_step(
    groups: list[Any],
    *,
    pointwise: bool,
    n_micro: int,
    world_size: int,
    rank: int,
    seed: int,
    step: int,
    lengths: Callable[[list[str], list[str]], list[int]] | None = None,
) -> tuple[list[Shard], int]:
    """Cut one optimizer step's groups into this process's ``n_micro`` shards.

    Returns ``(shards, step_units)``: shard ``m`` is this process's part of micro-batch ``m``;
    ``step_units`` counts all units of the step over all processes (the loss normaliser).
    ``lengths`` (``PairEncoder.lengths``) enables length bucketing when there is more than one
    shard per step.
    """
    if not groups:
        raise TrainingDataError("an optimizer step got no training groups")
    group_size = len(groups[0].docs)
    if pointwise:
        units = [(g.query, d, float(lab)) for g in groups for d, lab in zip(g.docs, g.labels)]
        order = np.random.default_rng([seed, step]).permutation(len(units))
        units = [units[i] for i in order]
        unit_lengths = (
            _pair_lengths(units, lengths) if lengths and n_micro * world_size > 1 else None
        )
    else:
        units = [[(g.query, d, float(lab)) for d, lab in zip(g.docs, g.labels)] for g in groups]
        unit_lengths = None
        if lengths and n_micro * world_size > 1:
            flat = [pair for group in units for pair in group]
            pair_lengths = _pair_lengths(flat, lengths)
            unit_lengths = [
                max(pair_lengths[i * group_size : (i + 1) * group_size]) for i in range(len(units))
            ]
    if unit_lengths is not None:
        units = [units[i] for i in np.argsort(unit_lengths, kind="stable")]

    chunks = np.array_split(np.arange(len(units)), n_micro * world_size)
    shards = []
    for m in range(n_micro):
        idx = chunks[m * world_size + rank]
        chosen = [units[i] for i in idx]
        dummy = not chosen
        if dummy:  # fewer units than shards (a partial last step): score one, weight 0
            chosen = [units[0]]
        pairs = chosen if pointwise else [pair for group in chosen for pair in group]
        shards.append(
            Shard(
                queries=[p[0] for p in pairs],
                docs=[p[1] for p in pairs],
                labels=[p[2] for p in pairs],
                n_groups=0 if pointwise else len(chosen),
                group_size=group_size,
                units=0 if dummy else len(chosen),
                dummy=dummy,
            )
        )
    return shards, len(units)


def _pair_lengths(pairs, lengths) -> list[int]:
    return list(lengths([p[0] for p in pairs], [p[1] for p in pairs]))


@dataclass
class PreparedStep:
    """One optimizer step, ready for the model."""

    step: int  # 0-based optimizer step
    n_groups: int  # groups (queries) the step consumes, over all processes
    shards: list[Shard]  # this process's shard of each micro-batch
    inputs: list[dict[str, Any]]  # the shards tokenized (CPU tensors)
    step_units: int  # loss normaliser (see ``plan_step``)
    cursor: dict[str, int]  # the stream's cursor after this step (saved with checkpoints)
