"""Reranking: scores equal a plain per-pair forward pass; batching, caching and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rerankscale.config import EvalConfig
from rerankscale.evaluation.evaluate import evaluate_model
from rerankscale.evaluation.metrics import EvalSetError
from rerankscale.evaluation.rerank import RerankError, clear_encoder_cache, pair_encoder, rerank
from rerankscale.models.crossencoder import load_model

from .conftest import build_tiny_model


@pytest.fixture
def tiny(tiny_model_dir):
    torch.set_num_threads(1)
    clear_encoder_cache()
    return load_model(tiny_model_dir)


def plain_scores(model, tokenizer, eval_set, max_length):
    """One pair at a time through the tokenizer's own pair encoding: the reference."""
    out = {}
    with torch.no_grad():
        for qid in sorted(eval_set.qrels):
            out[qid] = {}
            for docid, _ in eval_set.candidates[qid]:
                enc = tokenizer(
                    eval_set.queries[qid],
                    eval_set.docs[docid],
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                )
                out[qid][docid] = model(**enc).logits[0, 0].item()
    return out


@pytest.mark.parametrize("max_length", [64, 12])  # 12: most pairs are truncated
def test_rerank_equals_per_pair_forward(tiny, toy_set, max_length):
    model, tokenizer = tiny
    run = rerank(model, tokenizer, toy_set, batch_size=7, max_length=max_length)
    expected = plain_scores(model, tokenizer, toy_set, max_length)
    assert list(run) == sorted(toy_set.qrels)
    for qid, docs in run.items():
        assert list(docs) == [d for d, _ in toy_set.candidates[qid]]  # first-stage order
        got = np.array(list(docs.values()))
        want = np.array([expected[qid][d] for d in docs])
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-5)
    spread = np.ptp([s for docs in run.values() for s in docs.values()])
    assert spread > 0.05  # the scores really differ between pairs


def test_batch_size_and_bf16(tiny, toy_set):
    model, tokenizer = tiny
    one = rerank(model, tokenizer, toy_set, batch_size=1, max_length=64, qids=["q1", "q2"])
    big = rerank(model, tokenizer, toy_set, batch_size=256, max_length=64, qids=["q1", "q2"])
    for qid in one:
        np.testing.assert_allclose(list(one[qid].values()), list(big[qid].values()), atol=1e-4)
    bf16 = rerank(
        model, tokenizer, toy_set, batch_size=64, max_length=64, bf16=True, qids=["q1", "q2"]
    )
    a = np.array([s for d in big.values() for s in d.values()])
    b = np.array([s for d in bf16.values() for s in d.values()])
    # bf16 keeps 8 mantissa bits: the logits (~ -37 here) agree to bf16 precision only
    np.testing.assert_allclose(b, a, rtol=2e-2)
    assert not np.array_equal(a, b)
    assert not model.training


def test_token_ids_are_cached_across_checkpoints(tiny, tiny_model_dir, toy_set):
    model, tokenizer = tiny
    _, tokenizer_again = load_model(tiny_model_dir)  # a later checkpoint: same tokenizer files
    encoder = pair_encoder(tokenizer, 64)
    assert pair_encoder(tokenizer_again, 64) is encoder
    assert pair_encoder(tokenizer_again, 32) is not encoder
    rerank(model, tokenizer, toy_set, max_length=64)
    cached = encoder.cache_size
    assert cached > len(toy_set.queries)
    calls = []
    original = encoder.tokenizer.__call__

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    encoder.tokenizer = type("Spy", (), {"__call__": staticmethod(spy)})()
    rerank(model, tokenizer_again, toy_set, max_length=64)
    assert calls == [] and encoder.cache_size == cached  # nothing tokenized again


def test_evaluate_model_returns_aggregate_and_per_query(tiny, graded_set):
    model, tokenizer = tiny
    result = evaluate_model(
        model, tokenizer, graded_set, EvalConfig(depth=10, ce_k=4), max_length=64
    )
    assert result.n_queries == len(graded_set.qrels) == len(result.per_query)
    assert result.pairs == 10 * result.n_queries
    assert all(len(docs) == 10 for docs in result.run.values())
    assert result.frozen_metrics == ["recall@10", "recall@20", "recall@50", "p@10"]
    assert result.metrics["recall@10"] == result.metrics["recall@20"]  # depth 10: frozen
    ce = result.per_query["ce@4"]
    assert result.metrics["ce@4"] == pytest.approx(ce.mean())  # NaN (excluded) skipped
    assert ce.isna().sum() == result.ce["n_no_positive"] + result.ce["n_no_negative"] > 0
    for name, value in result.metrics.items():
        assert value == pytest.approx(result.per_query[name].mean())


def test_rerank_errors(tiny, toy_set):
    model, tokenizer = tiny
    two_label, _ = build_tiny_model()
    two_label.config.num_labels = 2
    with pytest.raises(RerankError, match="2-label head"):
        rerank(two_label, tokenizer, toy_set, qids=["q1"])
    broken, _ = build_tiny_model()
    with torch.no_grad():
        broken.classifier.weight.fill_(float("nan"))
    with pytest.raises(RerankError, match="NaN/infinite scores"):
        rerank(broken, tokenizer, toy_set, qids=["q1"])
    del toy_set.docs["d1_3"]
    with pytest.raises(EvalSetError, match="'d1_3' of query 'q1' has no text"):
        rerank(model, tokenizer, toy_set, qids=["q1"])
    with pytest.raises(EvalSetError, match="not in eval set"):
        rerank(model, tokenizer, toy_set, qids=["nope"])


def test_token_budget_batches():
    from rerankscale.evaluation.rerank import token_budget_batches

    lengths = [3, 9, 5, 9, 1]
    assert token_budget_batches(lengths, 4, None) == [[1, 3, 2, 0], [4]]  # count only
    assert token_budget_batches(lengths, 4, 18) == [[1, 3], [2, 0, 4]]
    assert token_budget_batches(lengths, 2, 18) == [[1, 3], [2, 0], [4]]
    assert token_budget_batches([30, 2], 8, 10) == [[0], [1]]  # a long pair gets its own batch
    with pytest.raises(RerankError, match="max_batch_tokens"):
        token_budget_batches(lengths, 4, 0)


def test_cpu_batch_budget_follows_model_width(tiny):
    from types import SimpleNamespace

    from rerankscale.evaluation.rerank import cpu_batch_tokens

    def width(hidden, inter):
        return SimpleNamespace(config=SimpleNamespace(hidden_size=hidden, intermediate_size=inter))

    assert cpu_batch_tokens(width(224, 469)) == 2**21 // 938 == 2235
    assert cpu_batch_tokens(width(32, 55)) == 16384  # clamped
    assert cpu_batch_tokens(width(4096, 16384)) == 512  # clamped
    assert cpu_batch_tokens(SimpleNamespace()) == 8192  # unknown shape
    assert cpu_batch_tokens(tiny[0]) == 16384
    # the lean forward: a smaller budget, at least 2048 tokens
    assert cpu_batch_tokens(width(224, 469), "fast") == 2048  # 2**19 // 938 = 558, clamped
    assert cpu_batch_tokens(width(20, 52), "fast") == 2**19 // 104 == 5041
