"""Score an eval set's first-stage candidates with a cross-encoder.

Throughput levers (``bench/bench_rerank.py`` measures them against sentence-transformers'
``CrossEncoder.predict``):

- each query and passage text is tokenized once (``encoding.PairEncoder`` caches token ids per
  text) and the encoder is shared by every checkpoint with the same tokenizer
  (``pair_encoder``), so a run's later checkpoints do no tokenization at all;
- pairs are sorted by token length (longest first, so an out-of-memory error comes at once)
  and cut into batches padded only to their own longest pair, of at most ``batch_size`` pairs
  and, on the CPU, at most ``cpu_batch_tokens(model, engine)`` padded tokens
  (``token_budget_batches``);
- the lean forward (``models.fastpath``: real tokens only, the last layer only at ``[CLS]``,
  plain attention) for ModernBERT models, the module's own forward for others (``engine``);
- ``torch.inference_mode()``, optional bf16 autocast.

bf16 keeps 8 mantissa bits, so logits are rounded to steps of 2^-5 for |s| in [4, 8): close
candidates tie (ties then keep first-stage order) and metrics shift. Use it for speed, and
evaluate every checkpoint of a study in one fixed dtype.

The score of a pair is the raw logit of a one-label head (``num_labels == 1``), no sigmoid.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from rerankscale.caches import LRU
from rerankscale.evaluation.metrics import (
    EvalError,
    EvalSetError,
    judged_queries,
    validate_eval_set,
)
from rerankscale.models.encoding import length_buckets
from rerankscale.models.fastpath import pair_scorer, resolve_engine


class RerankError(EvalError):
    """The model cannot score the pairs (wrong head, non-finite scores, ...)."""


# ----------------------------------------------------------------------------- encoder cache

_ENCODERS = LRU(4)


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A digest of the tokenizer's full definition (vocabulary, normalizer, special tokens):
    two checkpoints of one run share it, so they can share cached token ids."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        text = backend.to_str()
    else:
        text = repr(sorted(tokenizer.get_vocab().items()))
    text += repr(getattr(tokenizer, "special_tokens_map", {}))
    text += repr(getattr(tokenizer, "padding_side", "right"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pair_encoder(tokenizer: Any, max_length: int):
    """The ``PairEncoder`` for (tokenizer, max_length), shared across calls and checkpoints.

    Keyed by ``tokenizer_fingerprint``, so every checkpoint of a run (same tokenizer, new
    object) reuses the token ids cached while scoring earlier ones. Holds at most 4 encoders."""
    from rerankscale.models.encoding import PairEncoder  # noqa: PLC0415  (kept lazy: tests may swap it)

    key = (tokenizer_fingerprint(tokenizer), int(max_length))
    return _ENCODERS.get(key, lambda: PairEncoder(tokenizer, max_length))


def clear_encoder_cache() -> None:
    """Forget every cached ``PairEncoder`` (and its token ids)."""
    _ENCODERS.clear()


# ----------------------------------------------------------------------------- scoring

CPU_BATCH_FLOATS = 2**21  # CPU: keep a batch's widest activation within ~8 MB (fp32)
CPU_BATCH_TOKENS = (512, 16384)  # bounds of the CPU token budget
# the lean forward (``models.fastpath``) is fastest with smaller batches: ~2 MB, ≥ 2048 tokens
CPU_BATCH_FLOATS_FAST = 2**19
CPU_BATCH_TOKENS_FAST = (2048, 16384)


def cpu_batch_tokens(model: Any, engine: str = "hf") -> int:
    """The CPU padded-token budget for ``model``: ``CPU_BATCH_FLOATS`` divided by the width of
    its widest per-token activation, max(2·intermediate (GLU input), 3·hidden (QKV)), clamped
    to ``CPU_BATCH_TOKENS``. E.g. 20k (hidden 32, intermediate 55) → 16384 tokens, 320k
    (120, 263) → 3986, 1.6M (224, 469) → 2235, 17M (480, 1024) → 1024.

    Measured (one thread, 2-core VM; tokens = pairs × pair length): a 1.6M model on 128-token
    pairs scored 80 pairs/s at 256 pairs per batch against 102 at 32; 320k on 32-token pairs
    was fastest at 64 pairs; 20k at 256 (the largest tried).

    With ``engine="fast"`` (the lean forward that ``engine`` resolves to) the budget is
    ``CPU_BATCH_FLOATS_FAST`` / width within ``CPU_BATCH_TOKENS_FAST``: measured on 1,000
    synthetic pairs (32 tokens), 53k–1m scored 5–40 % more pairs/s at 2048 tokens than at the
    module forward's budget (e.g. 280k 5,685 against 4,069), 10k the same at 2048–16384."""
    config = getattr(model, "config", None)
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    if not hidden:
        return 8192
    inter = int(getattr(config, "intermediate_size", 0) or 4 * hidden)
    width = max(2 * inter, 3 * hidden)
    floats, (low, high) = (
        (CPU_BATCH_FLOATS_FAST, CPU_BATCH_TOKENS_FAST)
        if engine == "fast"
        else (CPU_BATCH_FLOATS, CPU_BATCH_TOKENS)
    )
    return int(min(high, max(low, floats // width)))


def token_budget_batches(
    lengths: Sequence[int], batch_size: int, max_tokens: int | None = None
) -> list[list[int]]:
    """Pair indices sorted by length (longest first, ties by index) and cut into batches of at
    most ``batch_size`` pairs and at most ``max_tokens`` padded tokens (rows × the batch's
    longest pair). Deterministic; with ``max_tokens=None`` this is ``encoding.length_buckets``.

    On the CPU the activations of a large batch fall out of cache, so smaller batches of long
    pairs run faster; ``cpu_batch_tokens`` picks the budget from the model's width."""
    if batch_size <= 0:
        raise RerankError(f"batch_size must be positive, got {batch_size}")
    if max_tokens is None:
        return length_buckets(lengths, batch_size)
    if max_tokens <= 0:
        raise RerankError(f"max_batch_tokens must be positive or None, got {max_tokens}")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    for i in order:
        batch = batches[-1] if batches else None
        if (
            batch is None
            or len(batch) >= batch_size
            or (len(batch) + 1) * lengths[batch[0]] > max_tokens
        ):
            batches.append([i])
        else:
            batch.append(i)
    return batches


def _forward_keys(model: Any) -> set[str] | None:
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return set(params)


def _check_head(model: Any) -> None:
    n_labels = getattr(getattr(model, "config", None), "num_labels", 1)
    if n_labels != 1:
        raise RerankError(
            f"the model has a {n_labels}-label head; a cross-encoder reranker scores a pair with "
            "one logit — build it with num_labels=1 (AutoModelForSequenceClassification)"
        )


def score_pairs(
    model: Any,
    encoder: Any,
    queries: Sequence[str],
    docs: Sequence[str],
    batch_size: int = 256,
    bf16: bool = False,
    progress: bool = False,
    desc: str = "rerank",
    max_batch_tokens: int | str | None = "auto",
    engine: str = "auto",
) -> np.ndarray:
    """Raw logits (float32, input order) of ``model`` on the pairs ``(queries[i], docs[i])``.

    ``max_batch_tokens``: padded-token budget per batch (``token_budget_batches``); ``"auto"``
    is ``cpu_batch_tokens(model, engine)`` on the CPU and no budget on accelerators. ``engine``: the
    forward pass (``rerankscale.models.fastpath.pair_scorer``)."""
    if len(queries) != len(docs):
        raise RerankError(
            f"{len(queries)} queries but {len(docs)} passages; pass one of each per pair"
        )
    _check_head(model)
    try:
        engine = resolve_engine(model, engine)
    except ValueError as e:
        raise RerankError(str(e)) from None
    score = pair_scorer(model, engine)
    n = len(queries)
    scores = np.empty(n, dtype=np.float32)
    if n == 0:
        return scores
    lengths = encoder.lengths(list(queries), list(docs))
    device = next(model.parameters()).device
    if max_batch_tokens == "auto":
        max_batch_tokens = cpu_batch_tokens(model, engine) if device.type == "cpu" else None
    batches = token_budget_batches(lengths, batch_size, max_batch_tokens)
    keys = _forward_keys(model)
    was_training = model.training
    model.eval()
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16)
    try:
        with (
            torch.inference_mode(),
            autocast,
            tqdm(total=n, desc=desc, unit="pair", disable=not progress, leave=False) as bar,
        ):
            for batch in batches:
                inputs = encoder.encode([queries[i] for i in batch], [docs[i] for i in batch])
                inputs = {k: v.to(device) for k, v in inputs.items() if keys is None or k in keys}
                logits = score(inputs)
                scores[batch] = logits.reshape(len(batch), -1)[:, 0].float().cpu().numpy()
                bar.update(len(batch))
    finally:
        model.train(was_training)
    bad = ~np.isfinite(scores)
    if bad.any():
        raise RerankError(
            f"the model produced {int(bad.sum())} NaN/infinite scores out of {n}; the checkpoint "
            "diverged (check train_log.jsonl: loss, grad_norm) or bf16 overflowed (try bf16=False)"
        )
    return scores


def rerank(
    model: Any,
    tokenizer: Any,
    eval_set: Any,
    batch_size: int = 256,
    bf16: bool = False,
    max_length: int = 128,
    qids: Sequence[str] | None = None,
    depth: int | None = None,
    encoder: Any = None,
    progress: bool = False,
    max_batch_tokens: int | str | None = "auto",
    engine: str = "auto",
) -> dict[str, dict[str, float]]:
    """Score every (query, candidate) pair of ``eval_set`` with ``model``.

    Args:
        qids: queries to rerank (default: every judged query of the eval set, sorted).
        depth: rerank only each query's first ``depth`` candidates (default: all of them).
        encoder: a ``PairEncoder``; by default the shared one for (tokenizer, max_length).
        max_batch_tokens: padded-token budget per batch (``"auto"``: ``cpu_batch_tokens`` on
            the CPU, none on accelerators).
        engine: the forward pass (``config.ENGINES``, ``models.fastpath.pair_scorer``).

    Returns ``{qid: {docid: raw logit}}`` with each query's docids in first-stage order, the
    order that breaks ties (``metrics.tie_free_run``)."""
    validate_eval_set(eval_set)
    qids = judged_queries(eval_set) if qids is None else list(qids)
    unknown = [q for q in qids if q not in eval_set.queries]
    if unknown:
        raise EvalSetError(
            f"{len(unknown)} requested queries are not in eval set "
            f"{eval_set.name!r} (e.g. {unknown[0]!r})"
        )
    encoder = encoder if encoder is not None else pair_encoder(tokenizer, max_length)
    pair_q: list[str] = []
    pair_d: list[str] = []
    keys: list[tuple[str, str]] = []
    for qid in qids:
        cands = eval_set.candidates.get(qid, [])
        cands = cands[:depth] if depth else cands
        seen: set[str] = set()
        for docid, _ in cands:
            if docid in seen:
                raise EvalSetError(
                    f"eval set {eval_set.name!r}: query {qid!r} lists candidate "
                    f"{docid!r} twice; deduplicate the first-stage run"
                )
            seen.add(docid)
            text = eval_set.docs.get(docid) if hasattr(eval_set.docs, "get") else None
            if text is None:
                raise EvalSetError(
                    f"eval set {eval_set.name!r}: candidate {docid!r} of query "
                    f"{qid!r} has no text in its docs; rebuild the eval set"
                )
            pair_q.append(eval_set.queries[qid])
            pair_d.append(text)
            keys.append((qid, docid))
    scores = score_pairs(
        model,
        encoder,
        pair_q,
        pair_d,
        batch_size=batch_size,
        bf16=bf16,
        progress=progress,
        desc=f"rerank {eval_set.name}",
        max_batch_tokens=max_batch_tokens,
        engine=engine,
    )
    run: dict[str, dict[str, float]] = {qid: {} for qid in qids}
    for (qid, docid), score in zip(keys, scores.tolist()):
        run[qid][docid] = score
    return run
