"""A lean forward pass for ModernBERT: the same weights and outputs, about half the work.

``pair_logits(model, input_ids, attention_mask)`` is ``model(...).logits`` of a
``ModernBertForSequenceClassification`` and ``masked_logits(model, input_ids, selected, ...)`` is
the MLM logits of a ``ModernBertForMaskedLM`` at the ``selected`` positions, computed over the
module's own parameters (so optimizers, checkpoints, DDP-free resume and Hugging Face saving are
untouched) with three exact shortcuts:

1. **Unpadding.** Every linear layer, norm and activation runs on the ``T`` real tokens of the
   batch (a ``[T, d]`` matrix) instead of ``B·S`` padded slots; only attention scatters them
   back to ``[B, H, S, d_h]``. Padding costs nothing outside attention.
2. **Only what the head reads is computed in the last layer.** The classifier reads one state
   per pair (the ``[CLS]`` slot with ``classifier_pooling="cls"``) and the MLM loss reads the
   masked positions. In the last layer every token still provides keys and values, but the
   queries, attention output, ``Wo``, MLP and final norm run only for the states read: for a
   2-layer model with ``cls`` pooling that removes ~40 % of the dense FLOPs of a step.
3. **Plain attention for small heads.** ``softmax(q kᵀ/√d_h + bias) v`` as two batched
   matmuls: on the CPU, PyTorch's flash-attention kernel is several times slower than this at
   the head sizes of the offline suite (d_h = 10–30, S ≈ 30–64). Rotary embeddings use cached
   tables and ``rotate_half(x) = roll(x, d_h/2)·sign`` on queries and keys at once.

Everything else is ModernBERT as in ``transformers`` (Warner et al. 2024, arXiv 2412.13663):
pre-norm layers (no norm before the first attention), GLU MLP, RoPE with one θ per layer
type, global or sliding-window (|i − j| ≤ ``sliding_window``) bidirectional attention, final
norm, prediction head. Dropout is applied where the configuration has it (the study's models
have none); its random draws differ from the ``transformers`` forward's.

Outputs equal ``transformers``' to float rounding (≈1e-7 relative: GEMMs over ``T`` rows
instead of ``B·S`` may sum in another order), gradients likewise; ``tests/models/
test_fastpath.py`` checks both against the module's own forward. ``unsupported(model)`` says
why a model cannot take this path (another architecture, a non-default RoPE); a left-padded
batch with ``cls`` pooling (slot 0 is padding) runs the module's own forward.
``resolve_engine`` / ``pair_scorer`` are where training and reranking pick it
(``ModelConfig.engine``); ``pretrain.mlm_loss`` calls ``masked_logits`` (``PretrainRecipe.engine``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rerankscale.config import ENGINES

__all__ = [
    "attend",
    "masked_logits",
    "pair_logits",
    "pair_scorer",
    "resolve_engine",
    "unsupported",
]


_ARCHITECTURES = ("ModernBertForSequenceClassification", "ModernBertForMaskedLM")


def unsupported(model: nn.Module) -> str | None:
    """Why ``model`` cannot run on the lean path, or None when it can."""
    name = type(model).__name__
    if name not in _ARCHITECTURES:
        return f"{name} is not a ModernBERT classifier or MLM model"
    cfg = model.config
    for layer_type, params in (cfg.rope_parameters or {}).items():
        if params is not None and params.get("rope_type", "default") != "default":
            return f"its {layer_type} RoPE is {params['rope_type']!r}, not the default"
    if name == "ModernBertForSequenceClassification" and cfg.classifier_pooling not in (
        "cls",
        "mean",
    ):
        return f"classifier_pooling {cfg.classifier_pooling!r} is neither 'cls' nor 'mean'"
    return None


# --------------------------------------------------------------------------- building blocks


def _norm(x: Tensor, norm: nn.Module) -> Tensor:
    if isinstance(norm, nn.Identity):
        return x
    return F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


def _linear(x: Tensor, layer: nn.Linear) -> Tensor:
    return F.linear(x, layer.weight, layer.bias)


_ROPE_CACHE: dict[tuple, tuple[Tensor, Tensor]] = {}


def _rope(theta: float, head_dim: int, length: int, dtype, device) -> tuple[Tensor, Tensor]:
    """``(cos, sin·sign)`` tables ``[length, head_dim]`` of RoPE with base ``theta`` (the
    ``transformers`` layout: frequencies repeated over both halves), so that
    ``rope(x) = x·cos + roll(x, head_dim/2)·(sin·sign)``, ``sign = (−1,…,−1, 1,…,1)``."""
    key = (float(theta), head_dim, length, dtype, str(device))
    if key not in _ROPE_CACHE:
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float) / head_dim))
        freqs = torch.arange(length, dtype=torch.float)[:, None] * inv_freq
        angles = torch.cat((freqs, freqs), dim=-1)
        half = head_dim // 2
        sign = torch.cat((-torch.ones(half), torch.ones(half)))
        _ROPE_CACHE[key] = (
            angles.cos().to(dtype=dtype, device=device),
            (angles.sin() * sign).to(dtype=dtype, device=device),
        )
    return _ROPE_CACHE[key]


def _attention_bias(valid: Tensor, bias: Tensor | None, window: int | None, dtype) -> Tensor:
    """Additive bias ``[B, 1, S|1, S]``: 0 where a query may attend, the dtype's minimum for
    blocked keys (padding, other documents, outside a sliding window). Finite, as
    ``transformers``' masks are: a padding query whose every key is blocked gets a uniform
    row instead of NaNs (its output is never read, but NaNs would poison the backward)."""
    batch, length = valid.shape
    blocked = torch.finfo(dtype).min
    if bias is None:
        out = torch.zeros(batch, 1, 1, length, dtype=dtype, device=valid.device)
        out = out.masked_fill(~valid[:, None, None, :], blocked)
    else:
        out = bias.to(dtype)
    if window is not None and window < length - 1:
        pos = torch.arange(length, device=valid.device)
        far = (pos[:, None] - pos[None, :]).abs() > window
        out = out.masked_fill(far, blocked)
    return out


class _Batch:
    """Where a batch's real tokens live: ``slots`` (indices into the flattened ``[B·S]``
    padded grid, None when nothing is padding) and each slot's packed index."""

    def __init__(self, valid: Tensor):
        self.shape = tuple(valid.shape)
        flat = valid.reshape(-1)
        self.all_valid = bool(flat.all())
        self.slots = None if self.all_valid else flat.nonzero().squeeze(1)
        self.packed_of_slot = None if self.all_valid else torch.cumsum(flat, 0) - 1

    def pack(self, x: Tensor) -> Tensor:
        """``[B, S, …]`` → ``[T, …]``."""
        x = x.reshape(self.shape[0] * self.shape[1], *x.shape[2:])
        return x if self.all_valid else x[self.slots]

    def unpack(self, x: Tensor) -> Tensor:
        """``[T, …]`` → ``[B·S, …]`` with zeros at padding."""
        if self.all_valid:
            return x
        out = x.new_zeros(self.shape[0] * self.shape[1], *x.shape[1:])
        return out.index_copy(0, self.slots, x)

    def packed(self, slots: Tensor) -> Tensor:
        """Packed indices of the (real) slots ``slots``."""
        return slots if self.all_valid else self.packed_of_slot[slots]


def _encode(
    model: nn.Module, input_ids: Tensor, valid: Tensor, bias: Tensor | None, read: Tensor | str
) -> Tensor:
    """Final-norm hidden states ``[R, d]`` of a ``ModernBertModel``: of the slots ``read``
    (indices of real tokens in the flattened ``[B·S]`` grid), of slot 0 of every row for
    ``"cls"`` (which must be real), or of every real token in packed order for ``"all"``.
    ``bias``: an additive ``[B, 1, S, S]`` attention bias replacing the padding mask."""
    cfg = model.config
    batch, length = input_ids.shape
    heads = cfg.num_attention_heads
    d_model = cfg.hidden_size
    head_dim = d_model // heads
    drop = model.training
    grid = _Batch(valid)
    emb = model.embeddings
    x = emb.drop(_norm(F.embedding(grid.pack(input_ids), emb.tok_embeddings.weight), emb.norm))
    biases: dict[str, Tensor] = {}
    n_layers = len(model.layers)
    cls_only = isinstance(read, str) and read == "cls"
    if cls_only:
        read = torch.arange(batch, device=input_ids.device) * length
    for index, layer in enumerate(model.layers):
        last = index == n_layers - 1
        kind = layer.attention_type
        if kind not in biases:
            window = cfg.sliding_window if kind == "sliding_attention" else None
            biases[kind] = _attention_bias(valid, bias, window, x.dtype)
        cos, sin = _rope(
            cfg.rope_parameters[kind]["rope_theta"], head_dim, length, x.dtype, x.device
        )
        normed = _norm(x, layer.attn_norm)
        step_bias = biases[kind]
        if last and cls_only:  # the classifier reads slot 0 of each row only: its query alone
            weight, b = layer.attn.Wqkv.weight, layer.attn.Wqkv.bias
            rows = grid.packed(read)
            query = F.linear(normed[rows], weight[:d_model], None if b is None else b[:d_model])
            x = x[rows]
            query = query.view(batch, heads, 1, head_dim)  # position 0: RoPE is the identity
            kv = F.linear(normed, weight[d_model:], None if b is None else b[d_model:])
            kv = grid.unpack(kv).view(batch, length, 2, heads, head_dim).permute(2, 0, 3, 1, 4)
            key, value = kv[0] * cos + torch.roll(kv[0], head_dim // 2, -1) * sin, kv[1]
            step_bias = step_bias[..., :1, :]
        else:
            qkv = grid.unpack(_linear(normed, layer.attn.Wqkv))
            qkv = qkv.view(batch, length, 3, heads, head_dim).permute(2, 0, 3, 1, 4)  # 3,B,H,S,dh
            qk = qkv[:2]
            qk = qk * cos + torch.roll(qk, head_dim // 2, -1) * sin
            query, key, value = qk[0], qk[1], qkv[2]
        attended = attend(query, key, value, step_bias, cfg.attention_dropout if drop else 0.0)
        if last and cls_only:
            attended = attended.reshape(batch, d_model)
        elif last and isinstance(read, Tensor):  # read: real slots only
            attended = attended.reshape(batch * length, d_model)[read]
            x = x[grid.packed(read)]
        else:
            attended = grid.pack(attended.reshape(batch, length, d_model))
        x = x + layer.attn.out_drop(_linear(attended, layer.attn.Wo))
        mlp = layer.mlp
        hidden, gate = _linear(_norm(x, layer.mlp_norm), mlp.Wi).chunk(2, dim=-1)
        x = x + _linear(mlp.drop(mlp.act(hidden) * gate), mlp.Wo)
    return _norm(x, model.final_norm)


def attend(
    query: Tensor, key: Tensor, value: Tensor, bias: Tensor, dropout: float = 0.0, sdpa=None
) -> Tensor:
    """``softmax(q kᵀ/√d_h + bias) v`` (``[B, H, S', d_h]`` inputs) → ``[B, S', H, d_h]``: two
    batched matmuls on the CPU (faster than its flash kernel at small heads),
    ``scaled_dot_product_attention`` on accelerators (``sdpa`` overrides the choice)."""
    if query.device.type != "cpu" if sdpa is None else sdpa:
        floor = torch.finfo(query.dtype).min  # fp32's minimum would round to −inf in fp16
        mask = bias.to(query.dtype).clamp(min=floor)
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout)
        return out.transpose(1, 2)
    scores = torch.matmul(query, key.transpose(-1, -2)) * query.shape[-1] ** -0.5 + bias
    probs = scores.softmax(-1, dtype=torch.float32).to(query.dtype)
    if dropout:
        probs = F.dropout(probs, p=dropout)
    return torch.matmul(probs, value).transpose(1, 2)


def _head(x: Tensor, head: nn.Module) -> Tensor:
    return _norm(head.act(_linear(x, head.dense)), head.norm)


# --------------------------------------------------------------------------- entry points


def resolve_engine(model: nn.Module, engine: str = "auto") -> str:
    """The forward ``engine`` (``config.ENGINES``) resolves to for ``model``: ``"fast"`` (this
    module) or ``"hf"`` (the module's own forward). Raises ``ValueError`` for an unknown engine,
    or for ``"fast"`` on a model this path does not cover (naming why and the fix)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {ENGINES}")
    if engine == "hf":
        return "hf"
    reason = unsupported(model)
    if reason is None and type(model).__name__ != "ModernBertForSequenceClassification":
        reason = f"{type(model).__name__} is not a pair classifier"
    if reason is not None and engine == "fast":
        raise ValueError(
            f"engine 'fast' cannot run this model: {reason}; use engine 'auto' or 'hf'"
        )
    return "hf" if reason is not None else "fast"


def pair_scorer(model: nn.Module, engine: str = "auto") -> Callable[[Mapping[str, Tensor]], Tensor]:
    """``score(batch) → logits [B, num_labels]`` for tokenized pair batches, by
    ``resolve_engine(model, engine)``."""
    if resolve_engine(model, engine) == "hf":
        return lambda batch: model(**batch).logits
    return lambda batch: pair_logits(model, batch["input_ids"], batch["attention_mask"])


def pair_logits(model: nn.Module, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    """``model(input_ids=…, attention_mask=…).logits`` (``[B, num_labels]``) of a
    ``ModernBertForSequenceClassification``, with ``cls`` pooling reading slot 0 of each row
    and ``mean`` pooling averaging the real tokens' final states, as ``transformers`` does."""
    valid = attention_mask.bool()
    batch, length = input_ids.shape
    if model.config.classifier_pooling == "cls":
        if not bool(valid[:, 0].all()):  # left padding: HF reads a padding slot's state
            return model(input_ids=input_ids, attention_mask=attention_mask).logits
        pooled = _encode(model.model, input_ids, valid, None, "cls")
    else:
        states = _encode(model.model, input_ids, valid, None, "all")
        rows = torch.arange(batch, device=input_ids.device).repeat_interleave(valid.sum(1))
        sums = states.new_zeros(batch, states.shape[-1]).index_add(0, rows, states)
        pooled = sums / valid.sum(1, keepdim=True).to(states.dtype)
    return _linear(model.drop(_head(pooled, model.head)), model.classifier)


def masked_logits(
    model: nn.Module,
    input_ids: Tensor,
    selected: Tensor,
    valid: Tensor | None = None,
    bias: Tensor | None = None,
) -> Tensor:
    """MLM logits ``[n_selected, vocab]`` of a ``ModernBertForMaskedLM`` at the positions where
    ``selected`` ([B, S] bool) is true, in row-major order (as ``hidden[selected]``).
    ``valid``: the real tokens (default all); ``bias``: an additive ``[B, 1, S, S]`` attention
    bias (e.g. ``pretrain.document_attention``'s), replacing the padding mask."""
    if valid is None:
        valid = torch.ones_like(selected)
    slots = selected.reshape(-1).nonzero().squeeze(1)
    hidden = _encode(model.model, input_ids, valid, bias, slots)
    return _linear(_head(hidden, model.head), model.decoder)
