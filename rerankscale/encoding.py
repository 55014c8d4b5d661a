"""(query, passage) batches for cross-encoders.

``PairEncoder`` turns lists of queries and passages into padded tensors
``[CLS] q [SEP] d [SEP]`` for a BERT-style tokenizer. Each distinct text is tokenized once (a dict
cache of token ids without special tokens), which matters in reranking and group training where
one query meets many passages and a passage recurs across queries. ``length_buckets`` groups
indices of similar length so the evaluator pads little.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class EncodingError(ValueError):
    """Bad input to the encoder; the message names the problem and the fix."""


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
        self._cache: dict[str, list[int]] = {}
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
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        bad = [t for t in new if not isinstance(t, str)]
        if bad:
            raise EncodingError(f"texts must be strings; got {type(bad[0]).__name__}: {bad[0]!r}")
        if new:
            encoded = self.tokenizer(new, add_special_tokens=False)["input_ids"]
            self._cache.update(zip(new, (list(e) for e in encoded)))
        return [self._cache[t] for t in texts]

    def clear_cache(self) -> None:
        self._cache.clear()

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    def _pairs(self, queries: Sequence[str], docs: Sequence[str]) -> list[tuple[list, list]]:
        if isinstance(queries, str) or isinstance(docs, str):
            raise EncodingError("encode takes lists of queries and passages, not single strings")
        if len(queries) != len(docs):
            raise EncodingError(
                f"{len(queries)} queries but {len(docs)} passages; pass one query per passage"
            )
        budget = self.max_length - 3
        out = []
        for q, d in zip(self.token_ids(queries), self.token_ids(docs)):
            n_q = min(len(q), max(budget - len(d), budget // 2))
            out.append((q[:n_q], d[: budget - n_q]))
        return out

    # ------------------------------------------------------------------ public

    def lengths(self, queries: Sequence[str], docs: Sequence[str]) -> list[int]:
        """Non-padding tokens of each encoded pair (special tokens included)."""
        return [len(q) + len(d) + 3 for q, d in self._pairs(queries, docs)]

    def encode(self, queries: Sequence[str], docs: Sequence[str]) -> dict[str, torch.Tensor]:
        """``{"input_ids", "attention_mask"[, "token_type_ids"]}``, each ``LongTensor[P, T]`` with
        ``T`` the longest pair of this batch."""
        pairs = self._pairs(queries, docs)
        if not pairs:
            raise EncodingError("encode got no pairs; pass at least one (query, passage)")
        lengths = [len(q) + len(d) + 3 for q, d in pairs]
        width = max(lengths)
        pad, cls, sep = self.pad_id, self.cls_id, self.sep_id
        rows = [[cls, *q, sep, *d, sep] + [pad] * (width - n) for (q, d), n in zip(pairs, lengths)]
        input_ids = torch.tensor(rows, dtype=torch.long)
        positions = torch.arange(width).unsqueeze(0)
        attention = (positions < torch.tensor(lengths).unsqueeze(1)).long()
        batch = {"input_ids": input_ids, "attention_mask": attention}
        if self.use_token_type_ids:  # 1 from the passage's first token to its [SEP]
            starts = torch.tensor([len(q) + 2 for q, _ in pairs]).unsqueeze(1)
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
