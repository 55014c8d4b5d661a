"""The ModernBERT encoder both ``models`` and ``pretrain`` build on: one home, below both.

``modernbert_config(shape, tokenizer, model_cfg)`` is the ``ModernBertConfig`` of every
``scratch``/``suite`` model (fine-tuned cross-encoders in ``models``, MLM-pretrained members in
``pretrain``); ``parameter_counts(model)`` counts total and non-embedding parameters the same
way for both; ``seeded(seed)`` builds a model under a fixed torch RNG; ``quiet_transformers()``
hides transformers' progress bars and expected notices; ``ModelError`` is the error a model
that cannot be built or used raises. ``models`` re-exports all five, so callers keep importing
them from there.

transformers is imported inside the functions that need it (a deferred heavy import: this
module is imported wherever a model is counted or seeded, transformers only when one is built).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from rerankscale.config import ModelConfig
from rerankscale.models.shapes import Shape

__all__ = ["ModelError", "modernbert_config", "parameter_counts", "quiet_transformers", "seeded"]


class ModelError(RuntimeError):
    """A model cannot be built or used; the message names the problem and the fix."""


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's CPU RNG seeded to ``seed``, restoring the caller's RNG after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def quiet_transformers(warnings: bool = True) -> Iterator[None]:
    """Hide transformers' per-call progress bars ('Loading weights', 'Writing model shards')
    and, with ``warnings``, its expected 'newly initialized weights' notices, for one block."""
    from transformers.utils import logging

    level, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    if warnings:
        logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bars:
            logging.enable_progress_bar()


def modernbert_config(shape: Shape, tokenizer, model_cfg: ModelConfig | None = None):
    """The ``ModernBertConfig`` of a ``scratch``/``suite`` model: ``shape``, the tokenizer's
    vocabulary and special-token ids, every layer global attention, one label, dropouts and
    pooling from ``head_knobs(model_cfg, built=True)`` and the attention implementation from
    ``model_cfg.attn_implementation``.
    """
    from transformers import ModernBertConfig

    model_cfg = model_cfg or ModelConfig()
    ids = {
        name: tokenizer.convert_tokens_to_ids(tok)
        for name, tok in (
            ("pad", tokenizer.pad_token),
            ("cls", tokenizer.cls_token),
            ("sep", tokenizer.sep_token),
        )
    }
    if any(v is None for v in ids.values()):
        raise ModelError(f"tokenizer lacks [PAD]/[CLS]/[SEP] tokens ({ids}); use a BERT-style one")
    config = ModernBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.d_model,
        intermediate_size=shape.d_ff,
        num_hidden_layers=shape.n_layers,
        num_attention_heads=shape.n_heads,
        max_position_embeddings=max(512, int(model_cfg.max_length)),
        layer_types=["full_attention"] * shape.n_layers,
        pad_token_id=ids["pad"],
        cls_token_id=ids["cls"],
        bos_token_id=ids["cls"],
        sep_token_id=ids["sep"],
        eos_token_id=ids["sep"],
        num_labels=1,
        **head_knobs(model_cfg, built=True),
    )
    config._attn_implementation = model_cfg.attn_implementation
    return config


BUILT_DROPOUT = 0.0  # a model built here (scratch, suite) trains without dropout ...
BUILT_POOLING = "cls"  # ... and reads the [CLS] state, unless model.dropout / model.pooling say


def head_knobs(model_cfg: ModelConfig, built: bool) -> dict[str, float | str]:
    """The ModernBERT config fields that ``model.dropout`` (p) and ``model.pooling`` set:
    ``attention_dropout = mlp_dropout = embedding_dropout = classifier_dropout = p`` and
    ``classifier_pooling``. A knob left ``None`` is ``BUILT_DROPOUT`` / ``BUILT_POOLING`` for a
    model built here (``built``), and absent otherwise, so that a pretrained checkpoint keeps its
    own value (an Ettin encoder its classifier pooling)."""
    p = model_cfg.dropout if model_cfg.dropout is not None else BUILT_DROPOUT if built else None
    pooling = model_cfg.pooling or (BUILT_POOLING if built else None)
    knobs: dict[str, float | str] = {}
    if p is not None:
        knobs.update(
            attention_dropout=float(p),
            mlp_dropout=float(p),
            embedding_dropout=float(p),
            classifier_dropout=float(p),
        )
    if pooling is not None:
        knobs["classifier_pooling"] = pooling
    return knobs


# --------------------------------------------------------------------------- counting


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """``{"total", "non_embedding"}`` parameter counts of ``model``.

    Shared (tied) parameters count once. Non-embedding excludes the weights of every
    ``nn.Embedding`` (token, and for BERT-like models position and token-type embeddings), as in
    Kaplan et al. 2020 (arXiv 2001.08361 §2.1); LayerNorms, including the embedding LayerNorm,
    count as non-embedding. For ``scratch``/``suite`` models this equals the hand formula
    ``L·(4H² + 3HI + 2H) + H² + 3H + 1`` (``rerankscale.models.shapes``).
    """
    params = {id(p): p for p in model.parameters()}
    embedding = {id(m.weight): m.weight for m in model.modules() if isinstance(m, nn.Embedding)}
    total = sum(p.numel() for p in params.values())
    emb = sum(p.numel() for key, p in embedding.items() if key in params)
    return {"total": int(total), "non_embedding": int(total - emb)}
