"""The synthetic world's pretraining collection: the offline stand-in for Ettin's pretraining data.

Ettin's encoders are pretrained on web text that is separate from MS MARCO but written in the
same language, and that language holds the knowledge a reranker uses: that *who founded X* asks
for the passage saying *X was established by*. This module writes such a collection for the
synthetic world (``world.py``): the same lexicon (entities, relations, their query-side and
passage-side paraphrases) but its own fact base, drawn from streams that no ranking collection
uses, so no pretraining passage is an evaluation or training passage.

A pretraining *chunk* ``k`` is a fresh corpus of encyclopedia-style passages
(``corpus.generate_corpus`` with the stream ``("pretrain-corpus", seed, k)``) plus
``qa_per_chunk`` question–answer documents, the way the web holds FAQ pages and forum threads::

    <question about (entity, relation), query-side paraphrase> [SEP] <a passage stating the fact>

Questions are drawn with the task's query laws (relation ∝ rank^−zipf_qrel, then an entity that
has the fact), so the pretraining data is Zipf-distributed over relations exactly as queries
are: the head relations are stated thousands of times, the tail a few times.

What masked-language modelling can learn from it (and what the suite's probe measures):

* passages alone: each passage-side paraphrase is one whole word of two pieces, and the facts of
  an entity recur across its passages;
* question–answer documents: with whole-word masking, predicting a masked passage-side
  paraphrase of the asked fact needs the question's query-side paraphrase (and vice versa), and
  predicting a masked name needs a copy across ``[SEP]``: exactly the two abilities that BM25
  lacks (the query and passage paraphrases never share a word) and a cross-encoder needs.

Why this should scale in model size N: the mapping from 800 query-side and 1,200 passage-side
two-piece words to 400 relations is arbitrary (pieces are shared across words), so it is a
lookup table held in the MLP and attention weights, not in the embeddings; with every member
seeing the same tokens, a larger member stores more of the Zipf tail, and a reranker fine-tuned
from it knows more of the query mass (the "quanta" picture of Michaud et al. 2023,
arXiv 2303.13506). Knobs: ``qa_per_chunk`` (how much of the collection pairs the registers),
``PretrainCorpus.seed`` (the fact base), and the world's knobs in ``SyntheticConfig``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from ..seeding import rng
from .config import SyntheticConfig, SyntheticConfigError
from .corpus import _insert_fillers, _pick, generate_corpus, sample_queries
from .world import World, build_world

SEP = "[SEP]"


@dataclass(frozen=True)
class PretrainCorpus:
    """The pretraining collection of a synthetic world.

    seed: seed of the collection's fact base (the world itself is ``SyntheticConfig.seed``'s).
    qa_per_chunk: question–answer documents per chunk (≈ 10 tokens each: a question, ``[SEP]``
        and a one-fact answer; a chunk's 4,293 passages hold ≈ 67k tokens, so 12,000 puts
        about 64 % of the tokens in QA documents).
    mixed_registers: the probability that a QA document's question, and independently its
        answer, words the relation with any of its paraphrases (query-side or passage-side,
        uniformly) instead of its own register's (``mix_registers``). 0: questions always
        query-side, answers passage-side, as the ranking collections' queries and passages.
    """

    seed: int = 7
    qa_per_chunk: int = 12000
    mixed_registers: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.mixed_registers <= 1:
            raise SyntheticConfigError(
                f"mixed_registers={self.mixed_registers} must be in [0, 1] (default 0)"
            )

    def to_dict(self) -> dict:
        out = {"seed": self.seed, "qa_per_chunk": self.qa_per_chunk}
        if self.mixed_registers:  # absent at 0: the shipped suites' keys stay as written
            out["mixed_registers"] = self.mixed_registers
        return out


def answer(world: World, entity: int, relation: int, u) -> str:
    """A one-fact answer sentence: the entity's name, a passage-side paraphrase of the relation
    and 1–2 fillers, the words in random order (``u``: an iterator of uniforms)."""
    forms = world.rel_d_forms[relation]
    units = [
        world.entity_forms[entity][_pick(next(u), len(world.entity_forms[entity]))],
        forms[_pick(next(u), len(forms))],
    ]
    if next(u) < 0.5:
        units.reverse()
    return " ".join(_insert_fillers(units, 1 + _pick(next(u), 2), world, u))


def mix_registers(world: World, text: str, relation: int, own, share: float, u) -> str:
    """``text`` with its paraphrase of ``relation`` from the register ``own``
    (``world.rel_q_forms`` or ``world.rel_d_forms``) replaced, with probability ``share``, by
    one of the relation's paraphrases of either register drawn uniformly (``u``: an iterator of
    uniforms; two are drawn per call).

    Why: with questions always query-side and answers always passage-side, masked-language
    modelling learns two lookups (query-side word → passage-side word across ``[SEP]``, and
    back) and nothing forces one feature per relation. When either side may use any paraphrase,
    predicting a masked relation word needs the relation itself, whichever word states it,
    so the paraphrases of a relation become interchangeable in context, the distributional
    equivalence (Harris 1954) by which a pretrained encoder matches *who founded X* to *X was
    established by*."""
    pick, which = next(u), next(u)
    if pick >= share:
        return text
    forms = world.rel_q_forms[relation] + world.rel_d_forms[relation]
    words = text.split()
    for form in own[relation]:
        old = form.split()
        for i in range(len(words) - len(old) + 1):
            if words[i : i + len(old)] == old:
                words[i : i + len(old)] = forms[_pick(which, len(forms))].split()
                return " ".join(words)
    raise ValueError(f"relation {relation}'s paraphrase is not in {text!r}")


def pretraining_chunk(world: World, corpus_cfg: PretrainCorpus, chunk: int) -> list[str]:
    """The documents of pretraining chunk ``chunk``: its passages and QA documents, interleaved
    in a seeded random order (deterministic)."""
    r = rng("pretrain-corpus", world.cfg.seed, corpus_cfg.seed, chunk)
    corpus = generate_corpus(world, r)
    questions = sample_queries(world, corpus, r, corpus_cfg.qa_per_chunk, "p{:05d}")
    docs = list(corpus.texts)
    u = iter(r.random(len(questions) * 8).tolist())
    mix = corpus_cfg.mixed_registers
    if mix:  # its own stream: the collection at mix = 0 is drawn exactly as before
        m = rng("pretrain-registers", world.cfg.seed, corpus_cfg.seed, chunk)
        m = iter(m.random(len(questions) * 4).tolist())
    for q in questions:
        question, reply = q.text, answer(world, q.entity, q.relation, u)
        if mix:
            question = mix_registers(world, question, q.relation, world.rel_q_forms, mix, m)
            reply = mix_registers(world, reply, q.relation, world.rel_d_forms, mix, m)
        docs.append(f"{question} {SEP} {reply}")
    order = r.permutation(len(docs))
    return [docs[i] for i in order.tolist()]


def pretraining_texts(
    cfg: SyntheticConfig | None = None, corpus_cfg: PretrainCorpus | None = None
) -> Iterator[str]:
    """The unbounded stream of pretraining documents, chunk after chunk."""
    world = build_world(cfg or SyntheticConfig())
    corpus_cfg = corpus_cfg or PretrainCorpus()
    for chunk in itertools.count():
        yield from pretraining_chunk(world, corpus_cfg, chunk)
