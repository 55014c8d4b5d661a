"""Ranking readiness of a pretrained encoder: a linear probe of its frozen states.

The suite's cloze probe (``suite.probe_member``) asks whether MLM pretraining learned the
register mapping through the MLM head; it does not say whether a member fine-tunes into a good
reranker (docs/calibration.md, stop 21: 280k-p0 knows 1 relation by the cloze and is its size's
best reranker). This probe asks the fine-tuning question directly, without fine-tuning (linear
probing, Alain & Bengio 2016, arXiv 1610.01644; Belinkov 2022): can a *linear* scorer on the
member's frozen, mean-pooled states rank a query's positive above its BM25 negatives?

For G training groups of the task (a query, its positive and k − 1 BM25 negatives, the fine-tuning
stream's own form, drawn with a stream seed no study uses) every pair is read as the
cross-encoder reads it, ``[CLS] q [SEP] d [SEP]``, and each layer ℓ (0: the embeddings) gives
the mean of its token states φ_ℓ(q, d) over the pair's tokens (the study's pooling). Features
are standardised on the fitting groups. On the first ``n_fit`` groups a linear listwise scorer
``s(q, d) = wᵀφ_ℓ(q, d)`` is fitted by the ListNet top-1 loss (softmax cross-entropy of the
positive over its group, the study's listwise objective) plus ``λ‖w‖²``, with L-BFGS; on the
other groups the probe reports the mean reciprocal rank of the positive among the k candidates,

    MRR_ℓ = mean over held-out groups of 1 / (1 + #{negatives d⁻ : s(q, d⁻) ≥ s(q, d⁺)}),

whose chance level is H_k / k (0.340 for k = 8; ties count against the positive). ``mrr_last`` is
the last layer's (what the classifier head reads), ``mrr_best`` the best layer's.

Measured on the 18 ``deep20`` members (stop 23, docs/suite.md): ``mrr_last`` ranks them as
their listwise rerankers rank after the first fine-tuning checkpoint (Spearman 0.91, dev
NDCG@10 at 256 queries) and at the end (0.85, 4,096 queries; 0.83 over 26 members with the
shape-sweep ones), from about 6 s of one core per member.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

import numpy as np

from rerankscale.config import ConfigError

GROUPS = 1280  # groups read per member (fewer where a dataset has fewer training queries)
FIT_SHARE = 0.8  # the first 80 % fit the scorer (1,024 of 1,280), the rest measure it
MIN_GROUPS = 50
NEGATIVES = 7  # as the study's training groups
STREAM_SEED = 123  # a training-stream seed no study cell uses (they use 0, 1, 2, ...)
L2 = 1e-3
BATCH_GROUPS = 32


class ReadinessError(ConfigError):
    """The probe cannot run on this input; the message names the problem and the fix."""


def chance_mrr(k: int) -> float:
    """Expected reciprocal rank of the positive under a random order of k candidates: H_k / k."""
    return float(sum(1.0 / r for r in range(1, k + 1)) / k)


def probe_groups(
    dataset_id: str | None = None, synthetic: dict | None = None, n_groups: int = GROUPS
) -> list:
    """Up to ``n_groups`` training groups (1 positive + ``NEGATIVES`` first-stage negatives) of
    ``dataset_id`` (default: the synthetic task of world ``synthetic``; any ir_datasets id with
    training qrels otherwise, read once), drawn with ``STREAM_SEED``. ``ReadinessError`` when
    fewer than ``MIN_GROUPS`` exist."""
    from rerankscale.data.groups import SYNTHETIC_TRAIN, training_groups

    dataset_id = dataset_id or SYNTHETIC_TRAIN
    synthetic_task = dataset_id == SYNTHETIC_TRAIN
    stream = training_groups(
        dataset_id,
        NEGATIVES,
        seed=STREAM_SEED,
        epochs=None if synthetic_task else 1,
        synthetic=dict(synthetic or {}) if synthetic_task else None,
    )
    groups = list(islice(stream, n_groups))
    if len(groups) < MIN_GROUPS:
        raise ReadinessError(
            f"{dataset_id} gives {len(groups)} training groups; the readiness probe needs at "
            f"least {MIN_GROUPS} (queries with a judged positive and {NEGATIVES} negatives): "
            "use a dataset with more training queries"
        )
    return groups


def fit_groups(n_groups: int) -> int:
    """Groups that fit the scorer: the first ``FIT_SHARE`` of them (1,024 of 1,280)."""
    return int(round(FIT_SHARE * n_groups))


def pooled_states(encoder: Any, tokenizer: Any, groups: list, max_length: int) -> np.ndarray:
    """(groups, k, layers + 1, d): the mean over each pair's tokens of every layer's states.
    ``encoder`` is a transformers encoder that returns ``hidden_states`` (e.g. ``ModernBertModel``;
    for a masked-LM or classifier pass its ``.base_model``)."""
    import torch

    was_training = encoder.training
    encoder.eval()
    out = []
    try:
        with torch.inference_mode():
            for start in range(0, len(groups), BATCH_GROUPS):
                chunk = groups[start : start + BATCH_GROUPS]
                queries = [g.query for g in chunk for _ in g.docs]
                docs = [d for g in chunk for d in g.docs]
                enc = tokenizer(
                    queries,
                    docs,
                    padding=True,
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                )
                states = encoder(
                    input_ids=enc["input_ids"],
                    attention_mask=enc["attention_mask"],
                    output_hidden_states=True,
                ).hidden_states
                mask = enc["attention_mask"].unsqueeze(-1).to(states[0].dtype)
                pooled = [(h * mask).sum(1) / mask.sum(1) for h in states]
                out.append(torch.stack(pooled, 1).float().numpy())
    finally:
        encoder.train(was_training)
    k = len(groups[0].docs)
    flat = np.concatenate(out)
    return flat.reshape(len(groups), k, flat.shape[1], flat.shape[2])


def listwise_readout(X: np.ndarray, n_fit: int | None = None, l2: float = L2) -> float:
    """MRR of the positive (candidate 0 of each group) on groups ``n_fit:`` under the linear
    ListNet scorer fitted on groups ``:n_fit`` (default ``fit_groups(len(X))``; module
    docstring); ``X`` is (groups, k, d)."""
    import torch

    n_fit = fit_groups(len(X)) if n_fit is None else int(n_fit)

    X = torch.as_tensor(np.asarray(X, dtype=np.float64))
    fit = X[:n_fit].reshape(-1, X.shape[-1])
    X = (X - fit.mean(0)) / (fit.std(0) + 1e-6)
    w = torch.zeros(X.shape[-1], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w], max_iter=200, line_search_fn="strong_wolfe")
    train, test = X[:n_fit], X[n_fit:]
    target = torch.zeros(len(train), dtype=torch.long)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(train @ w, target) + l2 * (w * w).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        scores = test @ w
        rank = 1 + (scores[:, 1:] >= scores[:, :1]).sum(1)
        return float((1.0 / rank.double()).mean())


def readiness_probe(
    encoder: Any,
    tokenizer: Any,
    synthetic: dict | None = None,
    max_length: int = 128,
    dataset_id: str | None = None,
    groups: list | None = None,
) -> dict:
    """``{"mrr_by_layer", "mrr_last", "mrr_best", "best_layer", "chance", "groups"}`` for a
    frozen encoder on the training groups of ``dataset_id`` (default: the synthetic task of
    world ``synthetic``; module docstring), or on ``groups`` already drawn by ``probe_groups``.
    Runs on one torch thread, so the values are the same bits whoever calls it on this CPU."""
    import torch

    groups = probe_groups(dataset_id, synthetic) if groups is None else groups
    n_fit = fit_groups(len(groups))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        states = pooled_states(encoder, tokenizer, groups, max_length)
        by_layer = [
            round(listwise_readout(states[:, :, layer], n_fit), 4)
            for layer in range(states.shape[2])
        ]
    finally:
        torch.set_num_threads(threads)
    best = int(np.argmax(by_layer))
    return {
        "mrr_by_layer": by_layer,
        "mrr_last": by_layer[-1],
        "mrr_best": by_layer[best],
        "best_layer": best,
        "chance": round(chance_mrr(states.shape[1]), 4),
        "groups": [n_fit, len(groups) - n_fit],
    }
