"""Synthetic corpora (passages stating facts) and queries asking for one fact.

A *fact* is an (entity, relation) pair. Entity rank r (1-based) gets
``docs_base + ⌊docs_head · r^−docs_decay⌋`` passages; its facts are ``facts`` relations drawn
∝ rank^−zipf_doc_rel *without replacement across all its passages*, so each fact is stated by
exactly one passage. A passage names its entity ``name_mentions`` times (first word, then at
random later gaps), states its 3–4 facts with passage-side paraphrases, and carries random
fillers at random word gaps. Passages are shuffled before ids are assigned, so an id says
nothing about its entity.

A query names the entity (an alias), states the relation with a *query-side* paraphrase (never a
word of any passage) and adds fillers, the words in random order. Its relevant passage is the one
stating the fact; hard negatives are the entity's other passages (same name, other relations)
and passages of other entities with the same relation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import SyntheticConfig, SyntheticConfigError
from .world import World, zipf_weights


@dataclass
class Corpus:
    doc_ids: list[str]
    texts: list[str]
    doc_entity: np.ndarray  # doc index -> entity
    doc_facts: list[tuple[int, ...]]  # doc index -> relations stated
    fact_doc: dict[tuple[int, int], int]  # (entity, relation) -> doc index
    entity_docs: dict[int, list[int]]  # entity -> doc indices
    rel_entities: dict[int, list[int]] = field(default_factory=dict)  # relation -> entities
    rel_docs: dict[int, list[int]] = field(default_factory=dict)  # relation -> doc indices


@dataclass(frozen=True)
class Query:
    qid: str
    text: str
    entity: int
    relation: int


def docs_per_entity(cfg: SyntheticConfig) -> np.ndarray:
    ranks = np.arange(1, cfg.n_entities + 1, dtype=np.float64)
    return cfg.docs_base + np.floor(cfg.docs_head * ranks**-cfg.docs_decay).astype(np.int64)


def _pick(u: float, n: int) -> int:
    """An index in ``range(n)`` from a uniform ``u`` in [0, 1)."""
    return min(int(u * n), n - 1)


def _insert_fillers(units: list[str], n: int, world: World, u) -> list[str]:
    fillers = world.fillers
    for _ in range(n):
        units.insert(_pick(next(u), len(units) + 1), fillers[_pick(next(u), len(fillers))])
    return units


def _uniform_stream(r: np.random.Generator, n: int):
    """Draw ``n`` uniforms at once (numpy per-call overhead dominates otherwise)."""
    return iter(r.random(n).tolist())


def generate_corpus(world: World, r: np.random.Generator, id_prefix: str = "") -> Corpus:
    """A corpus drawn from ``world`` with the stream ``r``; doc ids ``f"{id_prefix}D{i:05d}"``."""
    cfg = world.cfg
    n_docs = docs_per_entity(cfg)
    rel_p = zipf_weights(cfg.n_relations, cfg.zipf_doc_rel)
    per_doc = cfg.facts_max + 2 * cfg.name_mentions + 1 + 2 * cfg.doc_fillers_max
    raw: list[tuple[int, tuple[int, ...], str]] = []
    n_fill_span = cfg.doc_fillers_max - cfg.doc_fillers_min + 1
    for e in range(cfg.n_entities):
        k = int(n_docs[e])
        n_facts = r.integers(cfg.facts_min, cfg.facts_max + 1, size=k)
        rels = r.choice(cfg.n_relations, size=int(n_facts.sum()), replace=False, p=rel_p)
        u = _uniform_stream(r, k * per_doc)
        aliases = world.entity_forms[e]
        start = 0
        for nf in n_facts.tolist():
            facts = tuple(int(x) for x in rels[start : start + nf])
            start += nf
            units = [world.rel_d_forms[rel][_pick(next(u), cfg.rel_d_syn)] for rel in facts]
            units.insert(0, aliases[_pick(next(u), len(aliases))])
            for _ in range(cfg.name_mentions - 1):
                units.insert(1 + _pick(next(u), len(units)), aliases[_pick(next(u), len(aliases))])
            n_fill = cfg.doc_fillers_min + _pick(next(u), n_fill_span)
            raw.append((e, facts, " ".join(_insert_fillers(units, n_fill, world, u))))
    order = r.permutation(len(raw))
    corpus = Corpus(
        doc_ids=[],
        texts=[],
        doc_entity=np.empty(len(raw), dtype=np.int64),
        doc_facts=[],
        fact_doc={},
        entity_docs={},
    )
    for i, j in enumerate(order.tolist()):
        e, facts, text = raw[j]
        corpus.doc_ids.append(f"{id_prefix}D{i:05d}")
        corpus.texts.append(text)
        corpus.doc_entity[i] = e
        corpus.doc_facts.append(facts)
        corpus.entity_docs.setdefault(e, []).append(i)
        for rel in facts:
            corpus.fact_doc[(e, rel)] = i
            corpus.rel_docs.setdefault(rel, []).append(i)
    for e, rel in sorted(corpus.fact_doc):
        corpus.rel_entities.setdefault(rel, []).append(e)
    return corpus


def render_query(world: World, entity: int, relation: int, u) -> str:
    """Query words in random order: an entity alias, a query-side relation paraphrase, fillers.
    ``u`` is an iterator of uniforms."""
    cfg = world.cfg
    aliases = world.entity_forms[entity]
    units = [
        aliases[_pick(next(u), len(aliases))],
        world.rel_q_forms[relation][_pick(next(u), cfg.rel_q_syn)],
    ]
    if next(u) < 0.5:
        units.reverse()
    n_fill = cfg.query_fillers_min + _pick(
        next(u), cfg.query_fillers_max - cfg.query_fillers_min + 1
    )
    return " ".join(_insert_fillers(units, n_fill, world, u))


class FactSampler:
    """Draws (entity, relation) facts of a corpus with the configured popularity laws."""

    def __init__(self, world: World, corpus: Corpus):
        cfg = world.cfg
        self.cfg = cfg
        self.corpus = corpus
        ent_w = np.arange(1, cfg.n_entities + 1, dtype=np.float64) ** -cfg.zipf_entity
        rel_w = np.arange(1, cfg.n_relations + 1, dtype=np.float64) ** -cfg.zipf_qrel
        if cfg.query_sampling == "rel_first":
            self.rels = np.array(sorted(corpus.rel_entities), dtype=np.int64)
            p = rel_w[self.rels]
            self.rel_p = p / p.sum()
            self.cum = {
                rel: np.cumsum(ent_w[corpus.rel_entities[rel]]) for rel in self.rels.tolist()
            }
        else:
            ents = np.array(sorted(corpus.entity_docs), dtype=np.int64)
            self.ents = ents
            p = ent_w[ents]
            self.ent_p = p / p.sum()
            self.ent_rels = {
                int(e): np.array(
                    sorted(rel for d in corpus.entity_docs[int(e)] for rel in corpus.doc_facts[d])
                )
                for e in ents
            }
            self.cum = {e: np.cumsum(rel_w[rels]) for e, rels in self.ent_rels.items()}

    def draw(self, r: np.random.Generator, n: int) -> list[tuple[int, int]]:
        out = []
        if self.cfg.query_sampling == "rel_first":
            rels = r.choice(self.rels, size=n, p=self.rel_p)
            u = r.random(n)
            for rel, x in zip(rels.tolist(), u):
                cum = self.cum[rel]
                e = self.corpus.rel_entities[rel][
                    int(np.searchsorted(cum, x * cum[-1], side="right"))
                ]
                out.append((e, rel))
        else:
            ents = r.choice(self.ents, size=n, p=self.ent_p)
            u = r.random(n)
            for e, x in zip(ents.tolist(), u):
                cum = self.cum[e]
                out.append(
                    (e, int(self.ent_rels[e][int(np.searchsorted(cum, x * cum[-1], side="right"))]))
                )
        return out


def sample_queries(
    world: World,
    corpus: Corpus,
    r: np.random.Generator,
    n: int,
    qid_fmt: str,
    unique: bool = False,
    exclude: set[tuple[int, int]] | None = None,
    accept=None,
) -> list[Query]:
    """``n`` queries (ids ``qid_fmt.format(i)``); ``unique`` forbids repeating a fact, ``exclude``
    forbids given facts, ``accept(entity, relation)`` filters facts."""
    sampler = FactSampler(world, corpus)
    seen: set[tuple[int, int]] = set(exclude or ())
    out: list[Query] = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 1000:
            raise SyntheticConfigError(
                f"could only draw {len(out)} of {n} acceptable queries from the corpus; lower the "
                "query count, relax trec_min_related or enlarge the world (n_entities, n_relations)"
            )
        for e, rel in sampler.draw(r, max(64, 2 * (n - len(out)))):
            if (unique or exclude) and (e, rel) in seen:
                continue
            if accept is not None and not accept(e, rel):
                continue
            if unique:
                seen.add((e, rel))
            u = _uniform_stream(r, 3 + 1 + 2 * world.cfg.query_fillers_max)
            out.append(Query(qid_fmt.format(len(out)), render_query(world, e, rel, u), e, rel))
            if len(out) == n:
                break
    return out


def trec_judgments(
    world: World, corpus: Corpus, q: Query, r: np.random.Generator
) -> dict[int, int]:
    """Graded judgments (doc index -> 2/1/0) of a ``trec`` query.

    2: the passage stating the fact; 1: another passage of the entity stating a fact of the same
    relation family; 0: the entity's other passages and up to ``trec_extra_judged`` passages of
    other entities stating the same relation.
    """
    cfg = world.cfg
    fam = world.family[q.relation]
    grades: dict[int, int] = {}
    for d in corpus.entity_docs[q.entity]:
        facts = corpus.doc_facts[d]
        if q.relation in facts:
            grades[d] = 2
        elif any(world.family[f] == fam for f in facts):
            grades[d] = 1
        else:
            grades[d] = 0
    others = [d for d in corpus.rel_docs.get(q.relation, []) if corpus.doc_entity[d] != q.entity]
    if others and cfg.trec_extra_judged:
        pick = r.choice(len(others), size=min(cfg.trec_extra_judged, len(others)), replace=False)
        for i in sorted(pick.tolist()):
            grades[others[i]] = 0
    return grades


def related_count(world: World, corpus: Corpus, entity: int, relation: int) -> int:
    fam = world.family[relation]
    return sum(
        1
        for d in corpus.entity_docs[entity]
        if relation not in corpus.doc_facts[d]
        and any(world.family[f] == fam for f in corpus.doc_facts[d])
    )
