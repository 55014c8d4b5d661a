"""The lean ModernBERT forward (``rerankscale.models.fastpath``) against the transformers
module's own forward: same logits and gradients on padded batches, both poolings, sliding-window
layers, MLM logits at masked positions with document attention; engine resolution."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, ModernBertConfig

from rerankscale.models.fastpath import (
    attend,
    masked_logits,
    pair_logits,
    pair_scorer,
    resolve_engine,
)
from rerankscale.models.pretrain import NO_DOCUMENT, document_attention

VOCAB = 60


def modernbert(cls_name: str, seed: int = 0, **overrides):
    import transformers

    kw = dict(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=40,
        num_hidden_layers=3,
        num_attention_heads=4,
        pad_token_id=0,
        cls_token_id=1,
        sep_token_id=2,
        bos_token_id=1,
        eos_token_id=2,
        num_labels=1,
        layer_types=["full_attention"] * 3,
    )
    kw.update(overrides)
    config = ModernBertConfig(**kw)
    config._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    model = getattr(transformers, cls_name)(config)
    with torch.no_grad():  # non-trivial norms and biases
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def padded_batch(lengths: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.zeros(len(lengths), width, dtype=torch.long)
    mask = torch.zeros(len(lengths), width, dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(3, VOCAB, (n,), generator=g)
        ids[row, 0] = 1
        mask[row, :n] = 1
    return ids, mask


def gradients(model, output: torch.Tensor) -> torch.Tensor:
    weights = torch.randn(output.shape, generator=torch.Generator().manual_seed(7))
    grads = torch.autograd.grad((output * weights).sum(), list(model.parameters()))
    return torch.cat([g.reshape(-1) for g in grads])


def assert_same_function(model, lean: torch.Tensor, reference: torch.Tensor, atol: float):
    """Same outputs, and the same gradient of a random projection of them (1e-5 relative)."""
    assert lean.shape == reference.shape
    torch.testing.assert_close(lean, reference, rtol=1e-5, atol=atol)
    g_ref, g_lean = gradients(model, reference), gradients(model, lean)
    assert (g_lean - g_ref).norm() <= 1e-5 * g_ref.norm()


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"classifier_pooling": "mean"},
        {
            "layer_types": ["sliding_attention", "full_attention", "sliding_attention"],
            "local_attention": 6,
        },
        {"attention_bias": True, "mlp_bias": True, "norm_bias": True},
    ],
    ids=["cls", "mean", "sliding-window", "biases"],
)
def test_pair_logits_and_gradients_equal_the_module_forward(overrides):
    model = modernbert("ModernBertForSequenceClassification", **overrides).train()
    ids, mask = padded_batch([17, 5, 11, 17, 2, 9])
    reference = model(input_ids=ids, attention_mask=mask).logits
    assert reference.shape == (6, 1)
    assert_same_function(model, pair_logits(model, ids, mask), reference, atol=1e-6)


def test_left_padding_with_cls_pooling_runs_the_module_forward():
    model = modernbert("ModernBertForSequenceClassification").eval()
    ids, mask = padded_batch([7, 4])
    ids, mask = ids.flip(1), mask.flip(1)  # padding first
    torch.testing.assert_close(
        pair_logits(model, ids, mask), model(input_ids=ids, attention_mask=mask).logits
    )


def test_masked_logits_equal_the_module_at_masked_positions_with_document_attention():
    model = modernbert("ModernBertForMaskedLM").train()
    ids, _ = padded_batch([16, 16, 16], seed=3)
    document = torch.tensor([[0] * 6 + [1] * 7 + [NO_DOCUMENT] * 3, [0] * 16, [0] * 9 + [1] * 7])
    ids[document == NO_DOCUMENT] = 0
    selected = (torch.rand(ids.shape, generator=torch.Generator().manual_seed(4)) < 0.3) & (
        document != NO_DOCUMENT
    )
    mask = document_attention(document)
    hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state
    reference = model.decoder(model.head(hidden[selected]))
    lean = masked_logits(
        model, ids, selected, valid=document != NO_DOCUMENT, bias=mask["full_attention"]
    )
    assert reference.shape == (int(selected.sum()), VOCAB)
    assert_same_function(model, lean, reference, atol=1e-5)


def test_masked_logits_without_padding_or_documents():
    model = modernbert("ModernBertForMaskedLM").eval()
    ids, _ = padded_batch([12, 12])
    selected = torch.zeros_like(ids, dtype=torch.bool)
    selected[0, 3] = selected[1, 0] = selected[1, 11] = True
    reference = model.decoder(model.head(model.model(input_ids=ids).last_hidden_state[selected]))
    torch.testing.assert_close(masked_logits(model, ids, selected), reference, rtol=1e-5, atol=1e-5)


def test_engine_resolution_names_the_problem():
    modern = modernbert("ModernBertForSequenceClassification")
    bert = BertForSequenceClassification(
        BertConfig(
            vocab_size=VOCAB,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=20,
            num_labels=1,
        )
    ).eval()
    assert resolve_engine(modern, "auto") == resolve_engine(modern, "fast") == "fast"
    assert resolve_engine(modern, "hf") == resolve_engine(bert, "auto") == "hf"
    with pytest.raises(ValueError, match="BertForSequenceClassification.*engine 'auto' or 'hf'"):
        resolve_engine(bert, "fast")
    with pytest.raises(ValueError, match="unknown engine 'turbo'"):
        resolve_engine(modern, "turbo")
    ids, mask = padded_batch([5, 3])
    batch = {"input_ids": ids, "attention_mask": mask}
    torch.testing.assert_close(pair_scorer(bert, "auto")(batch), bert(**batch).logits)


def test_the_accelerator_attention_branch_equals_the_cpu_one():
    """``attend`` runs two matmuls on the CPU and SDPA elsewhere: both are the same function
    (checked here on the CPU, with a padding-style bias and a fully blocked row)."""
    g = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(2, 3, 6, 8, generator=g) for _ in range(3))
    bias = torch.zeros(2, 1, 6, 6)
    bias[0, :, :, 4:] = torch.finfo(torch.float32).min
    bias[1, :, 2, :] = torch.finfo(torch.float32).min  # a query with every key blocked
    out = attend(q, k, v, bias, sdpa=False)
    assert out.shape == (2, 6, 3, 8) and torch.isfinite(out).all()
    torch.testing.assert_close(attend(q, k, v, bias, sdpa=True), out, rtol=1e-5, atol=1e-6)
