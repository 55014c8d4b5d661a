"""The shape rule, the parameter-count formula and FLOPs per token."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rerankscale.config import ConfigError
from rerankscale.models.crossencoder import flops_per_token, modernbert_config, parameter_counts
from rerankscale.models.shapes import Shape, ShapeError, non_embedding_formula, shape_for


def test_formula_written_out_for_the_prototype_shape():
    # L=2, H=32, I=64: 2·(4·32² + 3·32·64 + 2·32) + 32² + 3·32 + 1
    assert non_embedding_formula(2, 32, 64) == 2 * (4096 + 6144 + 64) + 1024 + 96 + 1 == 21729


@pytest.mark.parametrize("target", np.unique(np.logspace(np.log10(5e4), 9, 60).round().astype(int)))
def test_shape_rule_hits_targets_from_50k_to_1b_within_5_percent(target):
    shape = shape_for(int(target))
    n = shape.non_embedding_params()
    assert abs(n - target) / target < 0.05
    assert abs(n - target) / target < 0.005  # in fact within 0.5 %
    assert shape.d_model % shape.n_heads == 0 and shape.head_dim % 2 == 0  # RoPE rotates pairs
    assert 1.3 <= shape.d_ff / shape.d_model <= 3.0  # GLU width stays near 2H


@pytest.mark.parametrize("size", ["10k", "20k", "30k", "40k"])
def test_tiny_cpu_sizes_keep_two_layers_and_two_heads(size):
    shape = shape_for(size)
    assert shape.n_layers == 2 and shape.n_heads == 2
    target = int(size[:-1]) * 1000
    assert abs(shape.non_embedding_params() - target) / target < 0.01


def test_named_sizes_and_depth_grows_modestly():
    assert shape_for("50k") == Shape(n_layers=2, d_model=48, n_heads=2, d_ff=100)
    assert shape_for("250k") == Shape(n_layers=2, d_model=108, n_heads=3, d_ff=223)
    assert shape_for("1.6m") == Shape(n_layers=3, d_model=224, n_heads=7, d_ff=469)
    assert shape_for("50m") == Shape(n_layers=11, d_model=640, n_heads=10, d_ff=1496)
    assert shape_for("1b") == Shape(n_layers=29, d_model=1856, n_heads=29, d_ff=3696)
    sizes = np.logspace(4, 9, 40).round().astype(int)
    layers = [shape_for(int(s)).n_layers for s in sizes]
    widths = [shape_for(int(s)).d_model for s in sizes]
    assert layers == sorted(layers) and layers[0] == 2 and max(layers) <= 32
    assert all(b >= a * 0.8 for a, b in zip(widths, widths[1:]))  # width ~monotone in size


@pytest.mark.parametrize("size", ["50m", "1b"])
def test_formula_matches_a_real_model_built_on_the_meta_device(size, word_tokenizer):
    from transformers import ModernBertForSequenceClassification

    shape = shape_for(size)
    config = modernbert_config(shape, word_tokenizer)
    with torch.device("meta"):
        model = ModernBertForSequenceClassification(config)
    counts = parameter_counts(model)
    assert counts["non_embedding"] == shape.non_embedding_params()
    assert counts["total"] == shape.total_params(len(word_tokenizer))
    assert counts["total"] - counts["non_embedding"] == len(word_tokenizer) * shape.d_model


@pytest.mark.parametrize("size", ["abc", "12q", "", "-5k"])
def test_malformed_size_string_is_a_clear_error(size):
    with pytest.raises(ConfigError, match="size"):
        shape_for(size)


@pytest.mark.parametrize("size", ["1k", "500", "1000b"])
def test_size_outside_the_rule_names_the_range(size):
    with pytest.raises(ShapeError, match="outside the shape rule's range"):
        shape_for(size)


def test_flops_per_token_follow_kaplan_table_1():
    shape = {"n_layers": 2, "d_model": 48}
    train = flops_per_token(shape, 49_873, seq_len=20, training=True)
    assert train == {
        "dense": 6 * 49_873,
        "attention": 6 * 2 * 20 * 48,
        "total": 6 * 49_873 + 6 * 2 * 20 * 48,
    }
    score = flops_per_token(shape_for("50k"), 49_873, seq_len=20, training=False)
    assert score["dense"] == 2 * 49_873 == train["dense"] // 3
    assert score["attention"] == 2 * 2 * 20 * 48
    assert math.isclose(train["total"] / score["total"], 3.0)
    with pytest.raises(ConfigError, match="n_layers"):
        flops_per_token({"d_model": 48}, 10, 20, True)


def test_shape_table_reports_actual_counts():
    from rerankscale.models.shapes import shape_table

    rows = shape_table(["10k", "1.6m", "1b"], vocab_size=1000)
    assert [r["size"] for r in rows] == ["10k", "1.6m", "1b"]
    for row in rows:
        shape = Shape(row["n_layers"], row["d_model"], row["n_heads"], row["d_ff"])
        assert row["n_params"] == shape.non_embedding_params()
        assert row["n_params_total"] == row["n_params"] + 1000 * row["d_model"]
        assert row["deviation_pct"] == pytest.approx(
            100 * (row["n_params"] - row["target"]) / row["target"]
        )
        assert abs(row["deviation_pct"]) < 1


def test_a_lower_aspect_ratio_is_deeper_and_keeps_the_count():
    """A = 20 (the ``deep`` suite): 2 layers up to 53k, then one more layer per ~2.3x in N; the
    count still lands within 0.5% of the target and the width is even per head."""
    sizes = ["10k", "23k", "53k", "120k", "280k", "640k"]
    shapes = [shape_for(s, aspect_ratio=20) for s in sizes]
    assert [s.n_layers for s in shapes] == [2, 2, 2, 3, 4, 5]
    assert shapes[:3] == [shape_for(s) for s in sizes[:3]]  # the 2-layer members are unchanged
    for size, shape in zip(sizes, shapes):
        target = int(size[:-1]) * 1000
        assert abs(shape.non_embedding_params() - target) / target < 5e-3
        assert shape.d_model % (2 * shape.n_heads) == 0
    assert [shape_for(s).n_layers for s in sizes] == [2] * 6  # A = 64: all two layers
    with pytest.raises(ShapeError, match="aspect_ratio=0"):
        shape_for("10k", aspect_ratio=0)


def test_one_head_minimum_keeps_narrow_heads_near_32_and_the_count():
    """``min_heads=1`` (the 40M suite, stop 35): below width ~48 one head of the whole width,
    instead of two heads 10-16 dims wide; the sizes with two or more heads keep their shapes."""
    sizes = ["10k", "23k", "53k", "120k", "280k", "640k"]
    one = [shape_for(s, aspect_ratio=32, min_heads=1) for s in sizes]
    two = [shape_for(s, aspect_ratio=32) for s in sizes]
    assert [s.n_heads for s in one] == [1, 1, 2, 2, 3, 4]
    assert [s.n_heads for s in two] == [2, 2, 2, 2, 3, 4]
    assert one[2:] == two[2:]
    assert [s.head_dim for s in one[:2]] == [22, 32] and [s.head_dim for s in two[:2]] == [10, 16]
    for size, shape in zip(sizes, one):
        target = int(size[:-1]) * 1000
        assert abs(shape.non_embedding_params() - target) / target < 0.01
        assert shape.head_dim % 2 == 0  # RoPE rotates pairs
    with pytest.raises(ShapeError, match="min_heads=3"):
        shape_for("10k", min_heads=3)
