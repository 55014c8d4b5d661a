"""The synthetic task's knobs (``SyntheticConfig``) and the process-wide active config.

Defaults reproduce the prototype's "config B" (``shared/research/synthetic_feasibility.md``):
2000 entities (one 2-piece name each, query popularity Zipf(1.1)), 400 relations (2 query-side and
3 document-side 2-piece paraphrases, the two sets disjoint), relation popularity Zipf(1.3) for
queries ("relation first") and Zipf(1.0) for documents, 2 + ⌊30·rank^−0.7⌋ documents per entity
(4293 documents), 3–4 facts per document, the name mentioned twice, 30 filler words, a fresh
training corpus every 2048 queries, BM25 (k1 0.9, b 0.4) over whole words without fillers.

Override any knob through ``DataConfig.synthetic`` (a dict), e.g. ``{"zipf_qrel": 1.15,
"n_relations": 800}``. The ids stay the same (``rerankscale/synthetic/{train,dev,trec}``);
generated files are cached under ``$IR_DATASETS_HOME/rerankscale/synthetic/<config_hash>/`` so
configs never mix. The active config is process-wide: ``configure_synthetic(overrides)`` sets it,
``synthetic_config(overrides)`` sets it for a ``with`` block, and the environment variable
``RERANKSCALE_SYNTHETIC`` (JSON) sets the default of new processes (e.g. papermill kernels).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ...config import ConfigError
from ..errors import DataError
from ..seeding import digest

ENV_VAR = "RERANKSCALE_SYNTHETIC"
GENERATOR_VERSION = 1  # bump when generated data changes for the same config


class SyntheticConfigError(ConfigError, DataError):
    """A synthetic-task knob is unknown or out of range."""


@dataclass(frozen=True)
class SyntheticConfig:
    """Knobs of the synthetic passage-ranking task (defaults: the prototype's config B).

    World (the lexicon; fixed by ``seed``):
        seed: seed of the world and of the fixed evaluation corpus and queries.
        n_pieces: sub-word pieces (pseudo-syllables) all words are built from.
        n_fillers: single-token filler words (function-word stand-ins; BM25 ignores them).
        n_entities: entities; entity rank r has query popularity ∝ r^−zipf_entity.
        entity_pieces: pieces per entity name.
        entity_aliases: surface forms per entity (1 = one name shared by queries and passages;
            more = each mention picks an alias independently, so names match only partly).
        n_relations: relations; relation rank r has query popularity ∝ r^−zipf_qrel.
        relation_pieces: pieces per relation paraphrase.
        rel_q_syn / rel_d_syn: query-side / passage-side paraphrases per relation. The two sets
            never share a word, so matching a relation is knowledge, not lexical overlap.
        relation_family_size: relations are grouped into latent families of this size; on the
            ``trec`` split a passage stating a same-family fact of the entity is graded 1.

    Corpus (one per evaluation set, one per training chunk):
        docs_base, docs_head, docs_decay: entity rank r (1-based) gets
            ``docs_base + ⌊docs_head · r^−docs_decay⌋`` passages.
        zipf_doc_rel: an entity's facts are relations drawn ∝ r^−zipf_doc_rel without
            replacement, so each (entity, relation) fact is stated by exactly one passage.
        facts_min / facts_max: facts per passage (uniform).
        name_mentions: times the entity is named in its passage.
        doc_fillers_min / doc_fillers_max, query_fillers_min / query_fillers_max: filler words
            per passage / per query (uniform), inserted at random word gaps.

    Queries:
        query_sampling: ``"rel_first"`` (relation ∝ r^−zipf_qrel, then an entity that has that
            fact ∝ its popularity) or ``"entity_first"`` (entity, then one of its facts).
        zipf_entity, zipf_qrel: popularity exponents.
        dev_queries: queries in ``dev`` (exactly one relevant passage; MRR@10-style).
        trec_queries: queries in ``trec`` (graded 2/1/0; every passage of the entity judged,
            plus ``trec_extra_judged`` other entities' passages sharing the relation, judged 0).
        trec_min_related: a ``trec`` query needs at least this many grade-1 passages.
        eval_unique_facts: False (default) draws eval queries from the query distribution with
            replacement, as training queries are (a popular fact may be asked several times,
            with independently drawn surface forms); True forbids repeated facts and dev/trec
            overlap, which shifts eval mass to the tail (BM25 NDCG@10 0.58 instead of 0.39).

    First stage and training:
        bm25_k1, bm25_b: BM25 of the built-in first stage (whole words, fillers excluded).
        first_stage_depth: candidates per query stored as the eval splits' ``scoreddocs``.
        train_candidate_depth: BM25 depth per training query; negatives are drawn from it.
        queries_per_chunk: training queries per fresh corpus (chunk).
        train_chunks: chunks the ``train`` split exposes through ir_datasets' ``docs_iter`` /
            ``queries_iter`` (64 × 2048 = 131k queries, 275k passages; more than the paper's
            100k training queries); ``training_groups`` is unbounded and ignores it.
    """

    seed: int = 0
    n_pieces: int = 300
    n_fillers: int = 30
    n_entities: int = 2000
    entity_pieces: int = 2
    entity_aliases: int = 1
    n_relations: int = 400
    relation_pieces: int = 2
    rel_q_syn: int = 2
    rel_d_syn: int = 3
    relation_family_size: int = 8
    docs_base: int = 2
    docs_head: float = 30.0
    docs_decay: float = 0.7
    zipf_doc_rel: float = 1.0
    facts_min: int = 3
    facts_max: int = 4
    name_mentions: int = 2
    doc_fillers_min: int = 3
    doc_fillers_max: int = 6
    query_fillers_min: int = 1
    query_fillers_max: int = 3
    query_sampling: str = "rel_first"
    zipf_entity: float = 1.1
    zipf_qrel: float = 1.3
    dev_queries: int = 1000
    trec_queries: int = 200
    trec_min_related: int = 0
    trec_extra_judged: int = 10
    eval_unique_facts: bool = False
    bm25_k1: float = 0.9
    bm25_b: float = 0.4
    first_stage_depth: int = 100
    train_candidate_depth: int = 50
    queries_per_chunk: int = 2048
    train_chunks: int = 64

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_overrides(
        cls, overrides: dict[str, Any] | SyntheticConfig | None = None
    ) -> SyntheticConfig:
        """Defaults with ``overrides`` applied and validated (unknown keys are errors)."""
        if overrides is None:
            return cls().validate()
        if isinstance(overrides, SyntheticConfig):
            return overrides.validate()
        if not isinstance(overrides, dict):
            raise SyntheticConfigError(
                f"synthetic overrides must be a dict of knob -> value, got {type(overrides).__name__}"
            )
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise SyntheticConfigError(
                f"unknown synthetic knob(s) {unknown}; known knobs: {sorted(known)}"
            )
        values = {}
        for key, value in overrides.items():
            kind = type(getattr(cls(), key))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
                raise SyntheticConfigError(
                    f"synthetic knob {key!r} must be {kind.__name__}, got {value!r}"
                )
            values[key] = value
        return cls(**values).validate()

    def validate(self) -> SyntheticConfig:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise SyntheticConfigError(f"invalid synthetic config: {msg}")

        positive = (
            "n_pieces",
            "n_fillers",
            "n_entities",
            "entity_pieces",
            "entity_aliases",
            "n_relations",
            "relation_pieces",
            "rel_q_syn",
            "rel_d_syn",
            "relation_family_size",
            "facts_min",
            "name_mentions",
            "dev_queries",
            "trec_queries",
            "first_stage_depth",
            "train_candidate_depth",
            "queries_per_chunk",
            "train_chunks",
            "docs_base",
        )
        for name in positive:
            need(getattr(self, name) >= 1, f"{name}={getattr(self, name)} must be ≥ 1")
        need(self.facts_max >= self.facts_min, "facts_max must be ≥ facts_min")
        need(
            0 <= self.doc_fillers_min <= self.doc_fillers_max,
            "0 ≤ doc_fillers_min ≤ doc_fillers_max",
        )
        need(
            0 <= self.query_fillers_min <= self.query_fillers_max,
            "0 ≤ query_fillers_min ≤ query_fillers_max",
        )
        need(
            self.query_sampling in ("rel_first", "entity_first"),
            f"query_sampling={self.query_sampling!r}: use 'rel_first' or 'entity_first'",
        )
        need(self.n_fillers <= 350, "n_fillers ≤ 350 (the filler inventory)")
        need(self.n_pieces <= 5000, "n_pieces ≤ 5000 (the piece inventory)")
        for name in ("zipf_entity", "zipf_qrel", "zipf_doc_rel", "docs_decay", "docs_head"):
            need(getattr(self, name) >= 0, f"{name} must be ≥ 0")
        need(self.bm25_k1 >= 0 and 0 <= self.bm25_b <= 1, "bm25_k1 ≥ 0 and 0 ≤ bm25_b ≤ 1")
        max_docs = self.docs_base + int(self.docs_head)
        need(
            max_docs * self.facts_max <= self.n_relations,
            f"the most popular entity needs up to {max_docs * self.facts_max} distinct relations "
            f"(docs_base + docs_head passages × facts_max) but n_relations={self.n_relations}",
        )
        words = self.n_entities * self.entity_aliases + self.n_relations * (
            self.rel_q_syn + self.rel_d_syn
        )
        need(
            words
            <= 0.5 * min(self.n_pieces ** min(self.entity_pieces, self.relation_pieces), 10**12),
            f"{words} distinct words do not fit in {self.n_pieces} pieces; raise n_pieces",
        )
        return self

    # ------------------------------------------------------------------ identity

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def overrides(self) -> dict[str, Any]:
        """The knobs that differ from the defaults."""
        default = SyntheticConfig()
        return {k: v for k, v in self.to_dict().items() if getattr(default, k) != v}

    @cached_property
    def hash(self) -> str:
        """Cache key: a digest of every knob and the generator version."""
        return digest({"version": GENERATOR_VERSION, **self.to_dict()})


# --------------------------------------------------------------------------- active config

_active: SyntheticConfig | None = None


def _from_env() -> SyntheticConfig:
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return SyntheticConfig()
    try:
        overrides = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SyntheticConfigError(
            f"{ENV_VAR} must hold a JSON object of synthetic knobs, got {raw!r} ({exc})"
        ) from None
    return SyntheticConfig.from_overrides(overrides)


def active_config() -> SyntheticConfig:
    """The synthetic config in effect (``configure_synthetic`` > ``$RERANKSCALE_SYNTHETIC`` > defaults)."""
    return _active if _active is not None else _from_env()


def configure_synthetic(
    overrides: dict[str, Any] | SyntheticConfig | None = None,
) -> SyntheticConfig:
    """Set the process-wide synthetic config (``None`` restores the default); returns it.

    Call it with ``DataConfig.synthetic`` before reading a synthetic dataset.
    """
    global _active
    _active = None if overrides is None else SyntheticConfig.from_overrides(overrides)
    return active_config()


@contextmanager
def synthetic_config(
    overrides: dict[str, Any] | SyntheticConfig | None,
) -> Iterator[SyntheticConfig]:
    """``with synthetic_config({"zipf_qrel": 1.2}) as cfg:`` — the config for a block only."""
    global _active
    previous = _active
    _active = SyntheticConfig.from_overrides(overrides)
    try:
        yield _active
    finally:
        _active = previous
