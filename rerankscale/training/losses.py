"""Training objectives for cross-encoder rerankers: one objective per class.

Pointwise objectives take flat ``scores[P]`` and ``labels[P]`` (one (query, passage) pair each);
group objectives take ``scores[B, G]`` and ``labels[B, G]``: B queries with G candidate passages
each (e.g. 1 positive + G−1 negatives), labels graded relevance (int or float, ≥ 0). Group
objectives accept an optional boolean ``mask[B, G]`` (True = a real candidate) for groups padded
to a common size. Each returns a scalar; a batch that carries no training signal (e.g. only
all-negative groups) returns a zero that is still connected to ``scores`` (its gradient is 0).

``LOSSES`` maps the config names (``TrainConfig.objective``) to the classes; ``make_loss(name)``
builds one. ``loss.grouped`` tells which input shape a loss takes.

References: Burges et al. 2005 (RankNet); Cao et al. 2007 (ListNet); Xia et al. 2008 (ListMLE);
Wang et al. 2018 (LambdaLoss); sentence-transformers ``cross_encoder/losses`` (the style).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class LossError(ValueError):
    """Bad input to a loss (shapes, labels) or an unknown loss name; says how to fix it."""


def _zero(scores: Tensor) -> Tensor:
    return scores.sum() * 0.0


def _check_group(scores: Tensor, labels: Tensor, mask: Tensor | None, name: str):
    if scores.dim() != 2:
        raise LossError(
            f"{name} takes scores[B, G] (B queries × G candidates); got shape {tuple(scores.shape)}"
            " — reshape the flat scores with .view(B, G)"
        )
    if labels.shape != scores.shape:
        raise LossError(
            f"{name}: labels shape {tuple(labels.shape)} != scores shape {tuple(scores.shape)}"
        )
    labels = labels.to(device=scores.device, dtype=scores.dtype)
    if mask is None:
        mask = torch.ones_like(scores, dtype=torch.bool)
    else:
        if mask.shape != scores.shape:
            raise LossError(f"{name}: mask shape {tuple(mask.shape)} != {tuple(scores.shape)}")
        mask = mask.to(device=scores.device, dtype=torch.bool)
    if bool((labels[mask] < 0).any()):
        raise LossError(f"{name}: labels must be graded relevance ≥ 0; got {labels[mask].min()}")
    return labels, mask


def _pair_mask(labels: Tensor, mask: Tensor) -> Tensor:
    """``[B, G, G]``: True where item i outranks item j (label_i > label_j), both real."""
    both = mask.unsqueeze(2) & mask.unsqueeze(1)
    return (labels.unsqueeze(2) > labels.unsqueeze(1)) & both


class PointwiseBCELoss(nn.Module):
    """Pointwise binary cross-entropy on (query, passage, label) pairs.

    .. math::
        L = -\\frac{1}{P} \\sum_{p=1}^{P} \\left[ y_p \\log \\sigma(s_p)
            + (1 - y_p) \\log (1 - \\sigma(s_p)) \\right], \\qquad y_p = [\\text{rel}_p > 0]

    Graded labels are binarised (rel > 0 → 1). Inputs: ``scores[P]`` logits, ``labels[P]``.
    Reference: the monoBERT pointwise objective, Nogueira & Cho 2019 (arXiv 1901.04085);
    sentence-transformers ``BinaryCrossEntropyLoss``.

    >>> PointwiseBCELoss()(torch.tensor([0.0, 0.0]), torch.tensor([1, 0]))  # 2·log 2 / 2
    tensor(0.6931)
    """

    grouped = False

    def forward(self, scores: Tensor, labels: Tensor) -> Tensor:
        if scores.shape != labels.shape:
            raise LossError(
                f"PointwiseBCELoss: scores {tuple(scores.shape)} and labels {tuple(labels.shape)} "
                "must have the same shape (flat [P] pairs)"
            )
        if scores.numel() == 0:
            raise LossError("PointwiseBCELoss got an empty batch")
        target = (labels.to(scores.device) > 0).to(scores.dtype)
        return F.binary_cross_entropy_with_logits(scores, target)


class RankNetLoss(nn.Module):
    """Pairwise RankNet: logistic loss on score differences of correctly ordered pairs.

    .. math::
        L = \\frac{1}{|\\mathcal{P}|} \\sum_{(b,i,j) \\in \\mathcal{P}}
            \\log\\left(1 + e^{-\\sigma (s_{bi} - s_{bj})}\\right),
        \\qquad \\mathcal{P} = \\{(b, i, j) : y_{bi} > y_{bj}\\}

    The mean runs over every valid pair of the batch; a group without any such pair (all
    labels equal, e.g. all negative) contributes nothing. Inputs ``scores[B, G]``,
    ``labels[B, G]`` (graded), optional ``mask[B, G]``. ``sigma`` scales the differences (1).
    Reference: Burges et al. 2005, "Learning to Rank using Gradient Descent", ICML.

    >>> RankNetLoss()(torch.tensor([[2.0, 0.0, 1.0]]), torch.tensor([[1, 0, 0]]))
    tensor(0.2201)
    """

    grouped = True

    def __init__(self, sigma: float = 1.0):
        super().__init__()
        self.sigma = float(sigma)

    def forward(self, scores: Tensor, labels: Tensor, mask: Tensor | None = None) -> Tensor:
        labels, mask = _check_group(scores, labels, mask, "RankNetLoss")
        pairs = _pair_mask(labels, mask)
        if not bool(pairs.any()):
            return _zero(scores)
        diff = scores.unsqueeze(2) - scores.unsqueeze(1)  # [B, G, G]: s_i − s_j
        return F.softplus(-self.sigma * diff[pairs]).mean()


class ListNetLoss(nn.Module):
    """Listwise ListNet (top-one probabilities): cross-entropy between a label distribution and
    the softmax of the scores, per query group.

    .. math::
        L = -\\frac{1}{|B'|} \\sum_{b \\in B'} \\sum_{i} P_y(b, i)\\,
            \\log \\frac{e^{s_{bi}}}{\\sum_j e^{s_{bj}}}

    with the target ``P_y`` from graded labels: ``target="linear"`` (default)
    ``P_y(i) = y_i / Σ_j y_j`` — with one relevant passage this is the softmax cross-entropy
    (InfoNCE-style) objective the prototype used; ``target="softmax"``
    ``P_y(i) = softmax(y)_i``, Cao et al.'s exponential top-one probability (as in
    sentence-transformers' ``ListNetLoss``). ``B'`` = groups with at least one label > 0:
    all-zero groups are skipped. Inputs ``scores[B, G]``, ``labels[B, G]``, optional
    ``mask[B, G]``. Reference: Cao et al. 2007, "Learning to Rank: From Pairwise Approach to
    Listwise Approach", ICML.

    >>> ListNetLoss()(torch.tensor([[1.0, 0.0]]), torch.tensor([[1, 0]]))  # log(1 + e^-1)
    tensor(0.3133)
    """

    grouped = True

    def __init__(self, target: str = "linear"):
        super().__init__()
        if target not in ("linear", "softmax"):
            raise LossError(f"ListNetLoss target {target!r}: choose 'linear' or 'softmax'")
        self.target = target

    def forward(self, scores: Tensor, labels: Tensor, mask: Tensor | None = None) -> Tensor:
        labels, mask = _check_group(scores, labels, mask, "ListNetLoss")
        labels = labels.masked_fill(~mask, 0.0)
        keep = labels.sum(dim=1) > 0
        if not bool(keep.any()):
            return _zero(scores)
        s, y, m = scores[keep], labels[keep], mask[keep]
        if self.target == "linear":
            target = y / y.sum(dim=1, keepdim=True)
        else:
            target = torch.softmax(y.masked_fill(~m, float("-inf")), dim=1)
        log_p = torch.log_softmax(s.masked_fill(~m, float("-inf")), dim=1)
        return -(target * log_p.masked_fill(~m, 0.0)).sum(dim=1).mean()


class LambdaLoss(nn.Module):
    """LambdaLoss with the NDCG-Loss2++ weighting (Wang et al. 2018, eq. 13 and §4.3).

    For each group, with ranks ``r_i`` of the items under the current scores (1 = best; ties
    by position), gains ``G_i = (2^{y_i} − 1) / maxDCG`` and discounts ``D_r = log2(1 + r)``:

    .. math::
        L_b = -\\sum_{y_i > y_j} \\log_2 \\sigma\\big(\\sigma_s (s_i - s_j)\\big)^{w_{ij}},
        \\qquad w_{ij} = (\\rho_{ij} + \\mu\\,\\delta_{ij})\\,|G_i - G_j|

        \\rho_{ij} = \\left|\\frac{1}{D_{r_i}} - \\frac{1}{D_{r_j}}\\right|, \\qquad
        \\delta_{ij} = \\left|\\frac{1}{D_{|r_i - r_j|}} - \\frac{1}{D_{|r_i - r_j| + 1}}\\right|

    (ρ alone is the LambdaRank |ΔNDCG| weighting; δ is NDCG-Loss2's). The loss is the mean of
    ``L_b`` over groups with at least one ordered pair (all-zero groups are skipped); the
    weights depend on ranks only and carry no gradient. Full-list NDCG (no cutoff); σ_s = 1,
    μ = 10 as recommended (and as in allRank / sentence-transformers). Inputs ``scores[B, G]``,
    ``labels[B, G]`` (graded), optional ``mask[B, G]``. Reference: Wang, Li, Golbandi,
    Bendersky, Najork 2018, "The LambdaLoss Framework for Ranking Metric Optimization", CIKM.

    >>> LambdaLoss()(torch.tensor([[1.0, 1.0]]), torch.tensor([[0, 1]]))  # (1 + 10)·0.369·1 bit
    tensor(4.0598)
    """

    grouped = True

    def __init__(self, sigma: float = 1.0, mu: float = 10.0):
        super().__init__()
        self.sigma, self.mu = float(sigma), float(mu)

    def forward(self, scores: Tensor, labels: Tensor, mask: Tensor | None = None) -> Tensor:
        labels, mask = _check_group(scores, labels, mask, "LambdaLoss")
        pairs = _pair_mask(labels, mask)
        keep = pairs.flatten(1).any(dim=1)
        if not bool(keep.any()):
            return _zero(scores)
        s, y, m, pairs = scores[keep], labels[keep], mask[keep], pairs[keep]
        with torch.no_grad():
            order = torch.sort(
                s.detach().masked_fill(~m, float("-inf")), dim=1, descending=True, stable=True
            ).indices
            ranks = torch.empty_like(order)
            positions = torch.arange(1, s.shape[1] + 1, device=s.device).expand_as(order)
            ranks.scatter_(1, order, positions)
            rank = ranks.to(s.dtype)
            gain = (torch.pow(2.0, y) - 1.0).masked_fill(~m, 0.0)
            ideal = torch.sort(gain, dim=1, descending=True).values
            max_dcg = (ideal / torch.log2(1.0 + positions.to(s.dtype))).sum(dim=1, keepdim=True)
            g = gain / max_dcg
            inv_d = 1.0 / torch.log2(1.0 + rank)  # 1 / D_{r_i}
            rho = (inv_d.unsqueeze(2) - inv_d.unsqueeze(1)).abs()
            gap = (rank.unsqueeze(2) - rank.unsqueeze(1)).abs()
            delta = (1.0 / torch.log2(1.0 + gap) - 1.0 / torch.log2(2.0 + gap)).abs()
            delta = delta.masked_fill(gap == 0, 0.0)
            weight = (rho + self.mu * delta) * (g.unsqueeze(2) - g.unsqueeze(1)).abs()
        diff = s.unsqueeze(2) - s.unsqueeze(1)
        pair_loss = weight * F.softplus(-self.sigma * diff) / math.log(2.0)
        return (pair_loss * pairs).flatten(1).sum(dim=1).mean()


class ListMLELoss(nn.Module):
    """ListMLE: negative Plackett–Luce log-likelihood of the ideal ordering.

    .. math::
        L_b = -\\sum_{i=1}^{n} \\left( s_{\\pi(i)}
            - \\log \\sum_{k=i}^{n} e^{s_{\\pi(k)}} \\right)

    where π sorts the group's items by label, descending. Ties (items with equal labels) are
    broken deterministically:

    - ``ties="score"`` (default): by the current scores, descending (then by position) — the
      most likely order under the Plackett–Luce model among those consistent with the labels.
      The loss does not depend on where tied items sit in the group, so a group's candidate
      order (e.g. BM25 rank) leaks nothing into training;
    - ``ties="position"``: by position in the group (a stable sort). Simple, but it teaches the
      model to rank tied negatives in their given order.

    (allRank and sentence-transformers shuffle ties at random instead.) The loss is the mean of
    ``L_b`` over groups whose labels are not all equal (a group without any preference is
    skipped). Inputs ``scores[B, G]``, ``labels[B, G]`` (graded), optional ``mask[B, G]``
    (masked items are left out of π). Reference: Xia, Liu, Wang, Zhang, Li 2008, "Listwise
    Approach to Learning to Rank: Theory and Algorithm", ICML.

    >>> ListMLELoss()(torch.tensor([[0.0, 0.0]]), torch.tensor([[1, 0]]))  # log 2
    tensor(0.6931)
    """

    grouped = True

    def __init__(self, ties: str = "score"):
        super().__init__()
        if ties not in ("score", "position"):
            raise LossError(f"ListMLELoss ties={ties!r}: choose 'score' or 'position'")
        self.ties = ties

    def forward(self, scores: Tensor, labels: Tensor, mask: Tensor | None = None) -> Tensor:
        labels, mask = _check_group(scores, labels, mask, "ListMLELoss")
        keep = _pair_mask(labels, mask).flatten(1).any(dim=1)
        if not bool(keep.any()):
            return _zero(scores)
        s, y, m = scores[keep], labels[keep], mask[keep]
        key = y.masked_fill(~m, float("-inf"))  # masked items last
        order = torch.arange(s.shape[1], device=s.device).expand_as(s)
        if self.ties == "score":  # secondary key first, then a stable sort on the labels
            order = torch.sort(s.detach(), dim=1, descending=True, stable=True).indices
            key = torch.gather(key, 1, order)
        order = torch.gather(order, 1, torch.sort(key, dim=1, descending=True, stable=True).indices)
        s_sorted = torch.gather(s, 1, order)
        m_sorted = torch.gather(m, 1, order)
        s_masked = s_sorted.masked_fill(~m_sorted, float("-inf"))
        tail_lse = torch.logcumsumexp(s_masked.flip(1), dim=1).flip(1)
        terms = (tail_lse - s_sorted).masked_fill(~m_sorted, 0.0)
        return terms.sum(dim=1).mean()


LOSSES: dict[str, type[nn.Module]] = {
    "pointwise": PointwiseBCELoss,
    "pairwise": RankNetLoss,
    "listwise": ListNetLoss,
    "lambdaloss": LambdaLoss,
    "listmle": ListMLELoss,
}


def make_loss(name: str, **kwargs) -> nn.Module:
    """Instantiate the loss registered as ``name`` (see ``LOSSES``) with ``kwargs``."""
    if name not in LOSSES:
        raise LossError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[name](**kwargs)
