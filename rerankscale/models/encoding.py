"""(query, passage) batches for cross-encoders.

``PairEncoder`` turns lists of queries and passages into padded tensors
``[CLS] q [SEP] d [SEP]`` for a BERT-style tokenizer. Each distinct text is tokenized once and its
token ids (without special tokens) kept in a ``TokenCache`` (one flat integer array: ≈ 2 bytes
per token, plus ≈ 60 bytes per text), which matters in reranking and group training where one
query meets many passages and a passage recurs across queries. ``length_buckets`` groups indices
of similar length so the evaluator pads little.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Sequence

import numpy as np
import torch


class EncodingError(ValueError):
    """Bad input to the encoder; the message names the problem and the fix."""


Tokenize = Callable[[list[str]], Sequence[Sequence[int]]]  # texts -> one id sequence per text


class TokenCache:
    """Token ids of distinct texts, each text tokenized once, kept in one flat integer array.

    The texts' ids lie one after another in ``ids``; a dict maps each text to its span, packed in
    one int as ``start · 2³² + length``. ``ids`` is ``uint16`` while every id is < 2¹⁶ (any
    vocabulary up to 65,536 tokens: BERT's, ModernBERT's, the synthetic task's), else the
    smallest unsigned type that holds the largest id; it grows ×``GROWTH`` (1.25), so up to a
    fifth of it may be unused; it holds up to 2³² tokens. ``spans`` says where texts' ids lie in
    ``ids`` (to build batches with array operations), ``get`` returns them as ``list[int]``: both
    equal what the tokenizer returned.

    Memory (``nbytes``), for ``T`` tokens in ``n`` texts, ``cap(T) ≤ 1.25·T``::

        2·cap(T)  +  sys.getsizeof(dict)  +  32·n
        (ids)        (≈ 20–40 B per text)    (the span ints)

    i.e. 2–2.5 B per token plus ≈ 55–70 B per text, ≤ 8 B per token from ≈ 12 tokens per text
    (bench/bench_tokens.py measures it). The texts are referenced, not copied (the cache keeps
    them alive). The storage this replaced, a dict of ``list[int]``, costs 8 B per token (a list
    slot) + 28–32 B per id ≥ 257 (an int object each) + ≥ 56 B per text: ≈ 30–36 B per token.

    Example::

        cache = TokenCache()
        cache.get(["a b", "c"], lambda t: tokenizer(t, add_special_tokens=False)["input_ids"])
    """

    GROWTH = 1.25

    def __init__(self):
        self.clear()

    def clear(self) -> None:
        """Forget every text (and release the array)."""
        self._spans: dict[str, int] = {}
        self._ids = np.zeros(0, dtype=np.uint16)
        self.n_tokens = 0

    def __len__(self) -> int:
        return len(self._spans)

    @property
    def nbytes(self) -> int:
        """Bytes the cache holds beyond the texts: ``ids`` (its capacity), the dict, its values
        (0..256 are shared ints). O(texts)."""
        values = sum(sys.getsizeof(v) for v in self._spans.values() if v > 256)
        return self._ids.nbytes + sys.getsizeof(self._spans) + values

    @property
    def ids(self) -> np.ndarray:
        """Every cached token id, text after text (a read-only view)."""
        view = self._ids[: self.n_tokens]
        view.flags.writeable = False
        return view

    def spans(self, texts: Sequence[str], tokenize: Tokenize) -> tuple[np.ndarray, np.ndarray]:
        """``(starts, lengths)``: text ``i``'s ids are ``ids[starts[i] : starts[i] + lengths[i]]``.
        ``tokenize`` is called once, on the texts not seen before (not at all if there are none)."""
        spans = self._spans
        new = list(dict.fromkeys(t for t in texts if t not in spans))
        bad = [t for t in new if not isinstance(t, str)]
        if bad:
            raise EncodingError(f"texts must be strings; got {type(bad[0]).__name__}: {bad[0]!r}")
        if new:
            self._add(new, tokenize(new))
        packed = np.fromiter((spans[t] for t in texts), dtype=np.uint64, count=len(texts))
        return (packed >> 32).astype(np.int64), (packed & 0xFFFFFFFF).astype(np.int64)

    def get(self, texts: Sequence[str], tokenize: Tokenize) -> list[list[int]]:
        """The token ids of each text (tokenizing as ``spans`` does)."""
        starts, lengths = self.spans(texts, tokenize)
        row, k = _ranges(lengths)
        flat = self._ids[starts[row] + k].tolist()
        bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        return [flat[i:j] for i, j in zip(bounds, bounds[1:])]

    def _add(self, texts: list[str], encoded: Sequence[Sequence[int]]) -> None:
        lengths = [len(e) for e in encoded]
        flat = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int64)
        start, end = self.n_tokens, self.n_tokens + flat.size
        self._ids = _reserve(self._ids, end, int(flat.max(initial=0)))
        self._ids[start:end] = flat
        starts = itertools.accumulate(lengths[:-1], initial=start)
        self._spans.update(zip(texts, (s << 32 | n for s, n in zip(starts, lengths))))
        self.n_tokens = end


def _ranges(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(row, k)`` enumerating ``k = 0 .. counts[row] − 1`` for every row, in order.

    >>> [a.tolist() for a in _ranges(np.array([2, 0, 3]))]
    [[0, 0, 2, 2, 2], [0, 1, 0, 1, 2]]
    """
    row = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts  # each row's first position in the flat enumeration
    return row, np.arange(len(row)) - first[row]


def _reserve(array: np.ndarray, size: int, largest: int) -> np.ndarray:
    """``array`` itself, or a zero-padded copy with room for ``size`` items (capacity grown
    ×``TokenCache.GROWTH``) and a dtype that holds ``largest``."""
    dtype = np.promote_types(array.dtype, np.min_scalar_type(largest))
    if size <= array.size and dtype == array.dtype:
        return array
    capacity = array.size if size <= array.size else max(size, int(array.size * TokenCache.GROWTH))
    grown = np.zeros(capacity, dtype=dtype)
    grown[: array.size] = array
    return grown


class PairEncoder:
    """Encode (query, passage) pairs as ``[CLS] q [SEP] d [SEP]``.

    Truncation (``budget = max_length − 3`` content tokens): when a pair does not fit, the
    passage is cut first; the query keeps ``min(len(q), max(budget − len(d), budget // 2))``
    tokens, i.e. at most half the budget unless the passage leaves it more room, and the
    passage gets the rest. For pairs whose query fits in half the budget this equals
    ``tokenizer(q, d, truncation="only_second", max_length=max_length)``.

    Padding is to the longest sequence of the batch (right padding with ``[PAD]``).
    ``token_type_ids`` (0 for ``[CLS] q [SEP]``, 1 for ``d [SEP]``) are returned only when the
    tokenizer lists them in ``model_input_names`` (BERT yes, ModernBERT no), or when forced
    with ``token_type_ids=True``.

    Args:
        tokenizer: a transformers tokenizer with ``cls_token``, ``sep_token`` and ``pad_token``
            whose own pair template is ``[CLS] A [SEP] B [SEP]`` (checked at construction).
        max_length: maximum tokens per pair including the three special tokens (≥ 5).

    Example::

        enc = PairEncoder(tokenizer, max_length=64)
        batch = enc.encode(["capital of france"] * 2, ["paris is ...", "lyon is ..."])
        scores = model(**batch).logits.squeeze(-1)        # [2]
    """

    def __init__(self, tokenizer, max_length: int, token_type_ids: bool | None = None):
        if int(max_length) < 5:
            raise EncodingError(f"max_length={max_length} leaves no room for a pair; use ≥ 5")
        ids = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]
        if any(i is None for i in ids):
            raise EncodingError(
                "the tokenizer needs cls, sep and pad tokens for [CLS] q [SEP] d [SEP] pairs; "
                f"got cls={ids[0]} sep={ids[1]} pad={ids[2]}"
            )
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.cls_id, self.sep_id, self.pad_id = (int(i) for i in ids)
        if token_type_ids is None:
            token_type_ids = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
        self.use_token_type_ids = bool(token_type_ids)
        self._cache = TokenCache()
        self._check_template()

    def _check_template(self) -> None:
        probe_q, probe_d = "a", "b"
        own = self.tokenizer(probe_q, probe_d)["input_ids"]
        q, d = self.tokenizer([probe_q, probe_d], add_special_tokens=False)["input_ids"]
        if list(own) != [self.cls_id, *q, self.sep_id, *d, self.sep_id]:
            raise EncodingError(
                f"the tokenizer's own pair encoding {own} is not [CLS] q [SEP] d [SEP]; "
                "PairEncoder supports BERT-style pair templates only"
            )

    # ------------------------------------------------------------------ tokens

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids without special tokens, tokenizing only texts not seen before."""
        return self._cache.get(texts, self._tokenize)

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts, add_special_tokens=False)["input_ids"]

    def clear_cache(self) -> None:
        self._cache.clear()

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    def _pairs(self, queries: Sequence[str], docs: Sequence[str]) -> tuple[np.ndarray, ...]:
        """``(q_start, n_q, d_start, n_d)``: where each pair's query and passage ids start in the
        cache's ``ids`` and how many of them the pair keeps (the truncation rule above)."""
        if isinstance(queries, str) or isinstance(docs, str):
            raise EncodingError("encode takes lists of queries and passages, not single strings")
        if len(queries) != len(docs):
            raise EncodingError(
                f"{len(queries)} queries but {len(docs)} passages; pass one query per passage"
            )
        budget = self.max_length - 3
        q_start, q_len = self._cache.spans(queries, self._tokenize)
        d_start, d_len = self._cache.spans(docs, self._tokenize)
        n_q = np.minimum(q_len, np.maximum(budget - d_len, budget // 2))
        return q_start, n_q, d_start, np.minimum(d_len, budget - n_q)

    # ------------------------------------------------------------------ public

    def lengths(self, queries: Sequence[str], docs: Sequence[str]) -> list[int]:
        """Non-padding tokens of each encoded pair (special tokens included)."""
        _, n_q, _, n_d = self._pairs(queries, docs)
        return (n_q + n_d + 3).tolist()

    def encode(self, queries: Sequence[str], docs: Sequence[str]) -> dict[str, torch.Tensor]:
        """``{"input_ids", "attention_mask"[, "token_type_ids"]}``, each ``LongTensor[P, T]`` with
        ``T`` the longest pair of this batch."""
        q_start, n_q, d_start, n_d = self._pairs(queries, docs)
        if not len(n_q):
            raise EncodingError("encode got no pairs; pass at least one (query, passage)")
        lengths = n_q + n_d + 3
        rows = np.arange(len(lengths))
        input_ids = np.full((len(lengths), int(lengths.max())), self.pad_id, dtype=np.int64)
        input_ids[:, 0] = self.cls_id
        input_ids[rows, n_q + 1] = input_ids[rows, lengths - 1] = self.sep_id
        ids = self._cache.ids
        row, k = _ranges(n_q)  # query token k of pair `row` goes to column 1 + k
        input_ids[row, 1 + k] = ids[q_start[row] + k]
        row, k = _ranges(n_d)  # passage token k goes to column n_q + 2 + k
        input_ids[row, n_q[row] + 2 + k] = ids[d_start[row] + k]
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        attention = (positions < torch.from_numpy(lengths).unsqueeze(1)).long()
        batch = {"input_ids": torch.from_numpy(input_ids), "attention_mask": attention}
        if self.use_token_type_ids:  # 1 from the passage's first token to its [SEP]
            starts = torch.from_numpy(n_q + 2).unsqueeze(1)
            batch["token_type_ids"] = ((positions >= starts) & attention.bool()).long()
        return batch


def length_buckets(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches of indices sorted by length, longest first (ties by index), ``batch_size`` each
    (the last may be smaller). Deterministic; every index appears exactly once.

    >>> length_buckets([3, 9, 5, 9, 1], 2)
    [[1, 3], [2, 0], [4]]
    """
    if int(batch_size) < 1:
        raise EncodingError(f"batch_size={batch_size} must be ≥ 1")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
