"""The synthetic world: a lexicon of pseudo-words over latent entities and relations.

Surface forms are built from sub-word *pieces* (pseudo-syllables such as ``ka``, ``lom``). A word
of several pieces is written with its pieces separated by spaces, every piece but the last
carrying the continuation mark ``_``: the name (k, a, l, o, m) → ``"ka_ lom"``. So

* a whitespace pre-tokenizer (``WhitespaceSplit``, and also ``Whitespace``, since ``_`` is a word
  character) splits any text into exactly the items of ``World.vocabulary()``: fillers, final
  pieces (``lom``) and continuation pieces (``ka_``);
* BM25 sees whole words by joining continued pieces (``ka_ lom`` → ``ka_lom``) and dropping
  fillers (``World.bm25_terms``), as in the prototype's BM25 "over whole words, fillers excluded".

Pieces start with a consonant and fillers with a vowel, so the two inventories never collide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..seeding import rng
from .config import SyntheticConfig

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
MARK = "_"


def piece_inventory() -> list[str]:
    """Candidate pieces in a fixed order: CV, then CVC, then CVCV syllables (5950)."""
    cv = [c + v for c in CONSONANTS for v in VOWELS]
    cvc = [s + c for s in cv for c in CONSONANTS]
    cvcv = [a + b for a in cv for b in cv]
    return cv + cvc + cvcv


def filler_inventory() -> list[str]:
    """Candidate fillers (VCV, 350), disjoint from pieces (which start with a consonant)."""
    return [a + c + b for a in VOWELS for c in CONSONANTS for b in VOWELS]


def zipf_weights(n: int, s: float) -> np.ndarray:
    """p(rank r) ∝ r^−s for r = 1..n, normalised."""
    w = np.arange(1, n + 1, dtype=np.float64) ** -s
    return w / w.sum()


@dataclass(frozen=True)
class World:
    """Entities and relations with their surface forms (rendered token strings)."""

    cfg: SyntheticConfig
    pieces: tuple[str, ...]
    fillers: tuple[str, ...]
    entity_forms: tuple[tuple[str, ...], ...]  # entity -> aliases ("ka_ lom")
    rel_q_forms: tuple[tuple[str, ...], ...]  # relation -> query-side paraphrases
    rel_d_forms: tuple[tuple[str, ...], ...]  # relation -> passage-side paraphrases
    family: np.ndarray  # relation -> latent family id

    def vocabulary(self) -> list[str]:
        """Every whitespace token a text can contain: fillers, final pieces, continuation pieces."""
        return [*self.fillers, *self.pieces, *(p + MARK for p in self.pieces)]

    def bm25_terms(self, text: str) -> list[str]:
        """Whole words of ``text`` (continued pieces joined), fillers dropped."""
        fillers = self._filler_set
        words, parts = [], []
        for tok in text.split():
            if tok.endswith(MARK):
                parts.append(tok[:-1])
            elif parts:
                parts.append(tok)
                words.append(MARK.join(parts))
                parts = []
            elif tok not in fillers:
                words.append(tok)
        if parts:
            words.append(MARK.join(parts))
        return words

    def analyzer(self, texts: Sequence[str]) -> list[list[str]]:
        return [self.bm25_terms(t) for t in texts]

    @property
    def _filler_set(self) -> frozenset[str]:
        return _filler_set(self.fillers)


@lru_cache(maxsize=8)
def _filler_set(fillers: tuple[str, ...]) -> frozenset[str]:
    return frozenset(fillers)


def _render(piece_ids: Sequence[int], pieces: Sequence[str]) -> str:
    return (
        " ".join(pieces[i] + MARK for i in piece_ids[:-1]) + " " + pieces[piece_ids[-1]]
        if len(piece_ids) > 1
        else pieces[piece_ids[0]]
    )


@lru_cache(maxsize=4)
def build_world(cfg: SyntheticConfig) -> World:
    """The lexicon for ``cfg`` (depends on ``cfg.seed`` and the lexicon knobs only)."""
    r = rng("world", cfg.seed)
    inventory = piece_inventory()
    pool = len(inventory) if cfg.n_pieces > 1050 else 1050  # prefer short (CV/CVC) pieces
    pieces = tuple(inventory[i] for i in sorted(r.choice(pool, cfg.n_pieces, replace=False)))
    filler_pool = filler_inventory()
    fillers = tuple(
        filler_pool[i] for i in sorted(r.choice(len(filler_pool), cfg.n_fillers, replace=False))
    )
    used: set[tuple[int, ...]] = set()

    def new_word(n_pieces: int) -> str:
        while True:
            ids = tuple(int(i) for i in r.integers(0, len(pieces), n_pieces))
            if ids not in used:
                used.add(ids)
                return _render(ids, pieces)

    entity_forms = tuple(
        tuple(new_word(cfg.entity_pieces) for _ in range(cfg.entity_aliases))
        for _ in range(cfg.n_entities)
    )
    rel_q = tuple(
        tuple(new_word(cfg.relation_pieces) for _ in range(cfg.rel_q_syn))
        for _ in range(cfg.n_relations)
    )
    rel_d = tuple(
        tuple(new_word(cfg.relation_pieces) for _ in range(cfg.rel_d_syn))
        for _ in range(cfg.n_relations)
    )
    perm = r.permutation(cfg.n_relations)
    family = np.empty(cfg.n_relations, dtype=np.int64)
    family[perm] = np.arange(cfg.n_relations) // cfg.relation_family_size
    return World(cfg, pieces, fillers, entity_forms, rel_q, rel_d, family)
