"""Model shapes: the size-string → (depth, width) rule, the parameter-count formula, FLOPs.

Pure Python (no torch): the analysis side may import it.

Architecture (ModernBERT, Warner et al. 2024, arXiv 2412.13663, as in
``transformers.ModernBertForSequenceClassification`` with its defaults ``attention_bias =
mlp_bias = norm_bias = classifier_bias = False``): pre-LN encoder layers with rotary position
embeddings (no learned position embeddings), a gated GELU MLP (GeGLU: ``Wi: H → 2I``,
``Wo: I → H``), bias-free LayerNorms, a final LayerNorm, and a classification head
``dense(H→H, no bias) → GELU → LayerNorm → classifier(H→1, with bias)`` on the [CLS] state.

Parameter count of that shape (L layers, width H, GLU intermediate I, vocabulary V, one
output score)::

    per layer        Wqkv 3H² + attention Wo H² + Wi 2HI + MLP Wo HI + mlp_norm H + attn_norm H
                     = 4H² + 3HI + 2H           (layer 0 has no attn_norm: −H once)
    N_non-embedding  = L·(4H² + 3HI + 2H) − H   (layers)
                       + H                      (embedding LayerNorm: counted as non-embedding)
                       + H                      (final LayerNorm)
                       + H² + H                 (head dense + head LayerNorm)
                       + H + 1                  (classifier weight + bias)
                     = L·(4H² + 3HI + 2H) + H² + 3H + 1
    N_total          = N_non-embedding + V·H    (token embeddings; ModernBERT has no position
                                                 embeddings, no token-type embeddings)

Non-embedding follows Kaplan et al. 2020 (arXiv 2001.08361, §2.1): the token (and position)
embedding matrices are excluded; the embedding LayerNorm (H weights) is *included*.

Shape rule (``shape_for(target)``; N = target non-embedding count):

1. depth ``L = max(2, round((N / (10·A²))^(1/3)))`` with aspect ratio ``A = d_model / L = 64``
   (with I = 2H a layer holds ≈ 10H², so N ≈ 10·L·H² = 10·A²·L³). Tiny models (N ≲ 650k) keep
   L = 2 as in the CPU prototype; 50m → L = 11, 1b → L = 29 (Ettin-1b: 28 × 1792). A is a
   parameter: the ``deep`` suite uses A = 20 (2 layers to 53k, 3 at 120k, 4 at 280k, 5 at
   640k), deeper-and-thinner as small language models favour (MobileLLM, Liu et al. 2024,
   arXiv 2402.14905) and as measured for the 280k member (docs/calibration.md, stop 18).
2. width H: the positive root of ``N = L·(10H² + 2H) + H² + 3H + 1`` (the formula at I = 2H).
3. heads ``max(2, round(H / d_head))`` with head size d_head = 32 below H = 512 and 64 above
   (the prototype's ``max(2, H/32)`` at small widths; BERT/ModernBERT's 64 at large ones).
   From H = 256 on, H is set to exactly heads · d_head; below, H is rounded to a multiple of
   2·heads so the head size is even (RoPE rotates pairs of dimensions).
4. GLU intermediate I: solved from the formula so the count lands on the target
   (``I = (N − L·(4H² + 2H) − H² − 3H − 1) / (3HL)``), rounded to an integer (to a multiple of
   8 when H ≥ 256). I stays near 2H (the prototype's choice; 1.4H–2.8H from 10k up); the count
   is within 0.5% of the target from 10k to 100b (within 1.5% from 2k).

Examples (non-embedding count): 10k → L2 H20 I52 (9,981); 50k → L2 H48 I100 (49,873);
250k → L2 H108 I223; 1.6m → L3 H224 I469; 50m → L11 H640 I1496; 1b → L29 H1856 I3696
(999,947,841).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from rerankscale.config import ConfigError, format_size, parse_size

ASPECT_RATIO = 64  # d_model / n_layers
MIN_LAYERS = 2
# the fewest attention heads the rule gives a small width. 2 (the rule until stop 35) makes the
# heads of the narrowest members 10–16 dims wide; 1 keeps every head near ``head_size`` (32),
# as real encoder families keep the head width fixed and vary the number of heads
MIN_HEADS = 2
MIN_SIZE = 2_000  # below this the rule cannot keep two 2-dim heads and a positive GLU width
MAX_SIZE = 10**11

# The paper's pretrained family: Ettin encoders (ModernBERT), Weller et al. 2025, arXiv 2507.11412.
ETTIN_REGISTRY = {
    "17m": "jhu-clsp/ettin-encoder-17m",
    "32m": "jhu-clsp/ettin-encoder-32m",
    "68m": "jhu-clsp/ettin-encoder-68m",
    "150m": "jhu-clsp/ettin-encoder-150m",
    "400m": "jhu-clsp/ettin-encoder-400m",
    "1b": "jhu-clsp/ettin-encoder-1b",
}


class ShapeError(ConfigError):
    """A size cannot be turned into a model shape; the message names the size and the range."""


@dataclass(frozen=True)
class Shape:
    """An encoder shape. ``d_ff`` is the GLU intermediate size I (``Wi`` maps H → 2I)."""

    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def non_embedding_params(self, num_labels: int = 1) -> int:
        """The hand formula ``L·(4H² + 3HI + 2H) + H² + 3H + 1`` (one output score)."""
        return non_embedding_formula(self.n_layers, self.d_model, self.d_ff, num_labels)

    def total_params(self, vocab_size: int, num_labels: int = 1) -> int:
        """``N_non-embedding + V·H``."""
        return self.non_embedding_params(num_labels) + vocab_size * self.d_model

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def non_embedding_formula(n_layers: int, d_model: int, d_ff: int, num_labels: int = 1) -> int:
    """Non-embedding parameters of a ModernBERT sequence classifier (see the module docstring).

    ``L·(4H² + 3HI + 2H) + H² + 3H + 1`` for one label; ``num_labels`` outputs add
    ``(H + 1)·(num_labels − 1)``.

    >>> non_embedding_formula(2, 32, 64)   # the prototype's H=32 model ("22k")
    21729
    """
    L, H, inter = n_layers, d_model, d_ff
    return L * (4 * H * H + 3 * H * inter + 2 * H) + H * H + 2 * H + (H + 1) * num_labels


def shape_for(
    size: str | int, aspect_ratio: int = ASPECT_RATIO, min_heads: int = MIN_HEADS
) -> Shape:
    """The shape whose non-embedding count is closest to ``size`` under the documented rule;
    ``aspect_ratio`` is A = d_model / n_layers of step 1 (a lower A: deeper and narrower);
    ``min_heads`` the fewest heads (n_heads = max(min_heads, round(width / head_size))).

    >>> shape_for("50k")
    Shape(n_layers=2, d_model=48, n_heads=2, d_ff=100)
    >>> shape_for("1b").n_layers, shape_for("1b").d_model
    (29, 1856)
    >>> shape_for("280k", aspect_ratio=20)
    Shape(n_layers=4, d_model=84, n_heads=3, d_ff=158)
    >>> shape_for("10k", aspect_ratio=32, min_heads=1)
    Shape(n_layers=2, d_model=22, n_heads=1, d_ff=42)
    """
    target = parse_size(size)
    if not MIN_SIZE <= target <= MAX_SIZE:
        raise ShapeError(
            f"size {size!r} ({target:,} non-embedding parameters) is outside the shape rule's "
            f"range {format_size(MIN_SIZE)}–{format_size(MAX_SIZE)}; pick a size in that range"
        )
    if aspect_ratio < 1:
        raise ShapeError(f"aspect_ratio={aspect_ratio!r}: use d_model / n_layers ≥ 1 (default 64)")
    if min_heads not in (1, 2):
        raise ShapeError(f"min_heads={min_heads!r}: use 1 or 2 (default {MIN_HEADS})")
    n_layers = max(MIN_LAYERS, round((target / (10 * aspect_ratio**2)) ** (1 / 3)))
    a, b, c = 10 * n_layers + 1, 2 * n_layers + 3, 1 - target
    width = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    head_size = 32 if width < 512 else 64
    n_heads = max(min_heads, round(width / head_size))
    if width >= 256:  # round widths: exactly n_heads · head_size
        d_model = n_heads * head_size
    else:
        step = 2 * n_heads
        d_model = max(step, round(width / step) * step)
    fixed = non_embedding_formula(n_layers, d_model, 0)
    multiple = 8 if d_model >= 256 else 1
    d_ff = round((target - fixed) / (3 * d_model * n_layers) / multiple) * multiple
    if d_ff < 1:
        raise ShapeError(
            f"size {size!r} is too small for the shape rule; use at least {MIN_SIZE:,}"
        )
    return Shape(n_layers=n_layers, d_model=d_model, n_heads=n_heads, d_ff=d_ff)


def _get(shape: Shape | Mapping[str, Any], key: str) -> int:
    if isinstance(shape, Shape):
        return int(getattr(shape, key))
    if key not in shape:
        raise ConfigError(f"shape {dict(shape)} has no {key!r}; pass model_shape(model) or a Shape")
    return int(shape[key])


def flops_per_token(
    shape: Shape | Mapping[str, Any], n_non_embedding: int, seq_len: int, training: bool
) -> dict[str, int]:
    """FLOPs per token (Kaplan et al. 2020, arXiv 2001.08361, Table 1).

    A forward pass costs ``2·N`` FLOPs per token in the dense (parameter) matmuls plus
    ``2·n_layers·n_ctx·d_model`` in attention (QKᵀ and attention·V); training (forward +
    backward) costs three times the forward pass::

        dense     = 6·N (training)                   2·N (scoring)
        attention = 6·n_layers·seq_len·d_model        2·n_layers·seq_len·d_model

    ``N`` is the non-embedding count; ``seq_len`` the (mean non-padding) sequence length.
    The classification head runs on one token per sequence, so ``dense`` slightly overcounts
    it (by ≈ (H² + 2H)/N per token). Returns ``{"dense", "attention", "total"}``.
    """
    if seq_len < 0 or n_non_embedding < 0:
        raise ConfigError(
            f"seq_len ({seq_len}) and n_non_embedding ({n_non_embedding}) must be ≥ 0"
        )
    factor = 6 if training else 2
    dense = factor * int(n_non_embedding)
    attention = factor * _get(shape, "n_layers") * int(round(seq_len)) * _get(shape, "d_model")
    return {"dense": dense, "attention": attention, "total": dense + attention}


def shape_table(sizes, vocab_size: int | None = None) -> list[dict[str, Any]]:
    """One row per size: the label, the target, the shape, the actual non-embedding count, its
    deviation from the target in percent and (with ``vocab_size``) the total count.

    >>> row = shape_table(["50k"], vocab_size=635)[0]
    >>> row["n_params"], round(row["deviation_pct"], 2), row["n_params_total"]
    (49873, -0.25, 80353)
    """
    rows = []
    for size in sizes:
        shape = shape_for(size)
        target, actual = parse_size(size), shape.non_embedding_params()
        row = {
            "size": str(size),
            "target": target,
            **shape.to_dict(),
            "n_params": actual,
            "deviation_pct": 100.0 * (actual - target) / target,
        }
        if vocab_size is not None:
            row["n_params_total"] = shape.total_params(vocab_size)
        rows.append(row)
    return rows
