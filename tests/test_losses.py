"""Every objective against values computed by hand (math.log / math.exp), not by the code."""

from __future__ import annotations

import math

import pytest
import torch

from rerankscale.training.losses import (
    LOSSES,
    LambdaLoss,
    ListMLELoss,
    ListNetLoss,
    LossError,
    PointwiseBCELoss,
    RankNetLoss,
    make_loss,
)


def softplus(x: float) -> float:  # log(1 + e^x)
    return math.log(1.0 + math.exp(x))


def lse(*xs: float) -> float:
    return math.log(sum(math.exp(x) for x in xs))


def approx(value: torch.Tensor, expected: float):
    assert value.dim() == 0
    assert value.item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


# ----------------------------------------------------------------------------- pointwise


def test_pointwise_bce_binarises_graded_labels():
    scores = torch.tensor([2.0, -1.0, 0.5, 0.0])
    labels = torch.tensor([2, 0, 1, 0])  # → 1, 0, 1, 0
    expected = (softplus(-2.0) + softplus(-1.0) + softplus(-0.5) + softplus(0.0)) / 4
    approx(PointwiseBCELoss()(scores, labels), expected)
    approx(PointwiseBCELoss()(scores, labels.float() / 2), expected)  # float labels too


# ----------------------------------------------------------------------------- RankNet


def test_ranknet_mean_over_valid_pairs_skips_all_negative_groups():
    scores = torch.tensor([[2.0, 0.0, 1.0], [0.5, 0.5, -1.0]])
    labels = torch.tensor([[1, 0, 0], [0, 0, 0]])
    approx(RankNetLoss()(scores, labels), (softplus(-2.0) + softplus(-1.0)) / 2)


def test_ranknet_graded_labels_ties_excluded_and_global_pair_mean():
    # group 0: labels 2,1,1,0 → pairs (0,1) (0,2) (0,3) (1,3) (2,3); the tie (1,2) is no pair
    # group 1: one pair (0,1)
    scores = torch.tensor([[1.0, 2.0, 0.0, 0.5], [3.0, 1.0, 0.0, 0.0]])
    labels = torch.tensor([[2, 1, 1, 0], [1, 0, 2, 2]])
    pairs = [1 - 2, 1 - 0, 1 - 0.5, 2 - 0.5, 0 - 0.5]  # s_i − s_j of group 0
    pairs += [0 - 3.0, 0 - 1.0, 0 - 3.0, 0 - 1.0]  # group 1: (2,0) (2,1) (3,0) (3,1)
    pairs += [3.0 - 1.0]  # group 1: (0,1)
    expected = sum(softplus(-d) for d in pairs) / len(pairs)  # mean over all 10 pairs
    approx(RankNetLoss()(scores, labels), expected)
    approx(RankNetLoss(sigma=2.0)(scores, labels), sum(softplus(-2 * d) for d in pairs) / 10)


def test_ranknet_without_any_pair_is_a_zero_with_zero_gradient():
    scores = torch.tensor([[1.0, 2.0], [0.0, 3.0]], requires_grad=True)
    loss = RankNetLoss()(scores, torch.zeros(2, 2))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(scores.grad, torch.zeros(2, 2))


def test_ranknet_mask_leaves_padded_items_out():
    scores = torch.tensor([[2.0, 0.0, 9.0]])
    labels = torch.tensor([[1, 0, 0]])
    mask = torch.tensor([[True, True, False]])
    approx(RankNetLoss()(scores, labels, mask), softplus(-2.0))


# ----------------------------------------------------------------------------- ListNet


def test_listnet_linear_target_from_graded_labels_skips_all_zero_groups():
    scores = torch.tensor([[1.0, 0.0, -1.0], [5.0, 1.0, 2.0]])
    labels = torch.tensor([[2, 1, 0], [0, 0, 0]])
    z = lse(1.0, 0.0, -1.0)
    expected = -(2 / 3 * (1.0 - z) + 1 / 3 * (0.0 - z))  # mean over the one kept group
    approx(ListNetLoss()(scores, labels), expected)


def test_listnet_one_positive_is_softmax_cross_entropy():
    scores = torch.tensor([[0.3, 1.2, -0.4, 0.0]])
    labels = torch.tensor([[1, 0, 0, 0]])
    approx(ListNetLoss()(scores, labels), lse(0.3, 1.2, -0.4, 0.0) - 0.3)


def test_listnet_softmax_target_is_cao_et_al():
    scores = torch.tensor([[0.0, 1.0], [2.0, 2.0]])
    labels = torch.tensor([[1, 0], [2, 0]])
    p0 = math.e / (math.e + 1)  # softmax([1, 0])[0]
    g0 = -(p0 * (0.0 - lse(0.0, 1.0)) + (1 - p0) * (1.0 - lse(0.0, 1.0)))
    q0 = math.exp(2) / (math.exp(2) + 1)  # softmax([2, 0])[0]
    g1 = -(q0 * (2.0 - lse(2.0, 2.0)) + (1 - q0) * (2.0 - lse(2.0, 2.0)))
    approx(ListNetLoss(target="softmax")(scores, labels), (g0 + g1) / 2)


def test_listnet_mask_and_zero_batch():
    scores = torch.tensor([[1.0, 0.0, 50.0]])
    labels = torch.tensor([[1, 0, 0]])
    approx(ListNetLoss()(scores, labels, torch.tensor([[True, True, False]])), lse(1.0, 0.0) - 1.0)
    assert ListNetLoss()(scores, torch.zeros(1, 3)).item() == 0.0


# ----------------------------------------------------------------------------- LambdaLoss


def _inv_d(r: float) -> float:  # 1 / log2(1 + r)
    return 1.0 / math.log2(1.0 + r)


def _pair_term(weight: float, diff: float) -> float:  # −log2 σ(diff)^w
    return weight * softplus(-diff) / math.log(2.0)


def test_lambdaloss_ndcg_loss2pp_by_hand():
    scores = torch.tensor([[0.5, 2.0, 1.0]])
    labels = torch.tensor([[2, 0, 1]])
    # ranks under the scores: item1 → 1, item2 → 2, item0 → 3
    rank = {0: 3, 1: 1, 2: 2}
    max_dcg = 3 / math.log2(2) + 1 / math.log2(3)  # ideal gains 3, 1, 0
    gain = {0: 3 / max_dcg, 1: 0.0, 2: 1 / max_dcg}
    s = {0: 0.5, 1: 2.0, 2: 1.0}

    def weight(i, j, mu):
        rho = abs(_inv_d(rank[i]) - _inv_d(rank[j]))
        gap = abs(rank[i] - rank[j])
        delta = abs(_inv_d(gap) - _inv_d(gap + 1))
        return (rho + mu * delta) * abs(gain[i] - gain[j])

    for mu in (10.0, 0.0):  # NDCG-Loss2++ and the plain LambdaRank weighting
        expected = sum(
            _pair_term(weight(i, j, mu), s[i] - s[j]) for i, j in [(0, 1), (0, 2), (2, 1)]
        )
        approx(LambdaLoss(mu=mu)(scores, labels), expected)


def test_lambdaloss_score_ties_rank_by_position_and_all_zero_groups_are_skipped():
    scores = torch.tensor([[1.0, 1.0], [0.0, 4.0]])
    labels = torch.tensor([[0, 1], [0, 0]])
    # group 0: tie → item0 rank 1, item1 rank 2; gains 0, 1; maxDCG 1; one pair (1, 0), diff 0
    rho = abs(_inv_d(2) - _inv_d(1))
    delta = abs(_inv_d(1) - _inv_d(2))
    expected = _pair_term((rho + 10 * delta) * 1.0, 0.0)  # = 11·0.36907·1 bit
    approx(LambdaLoss()(scores, labels), expected)
    assert expected == pytest.approx(11 * (1 - 1 / math.log2(3)))


# ----------------------------------------------------------------------------- ListMLE


def test_listmle_graded_by_hand():
    scores = torch.tensor([[1.0, 3.0, 2.0]])
    labels = torch.tensor([[2, 0, 1]])  # π = (0, 2, 1): scores in that order 1, 2, 3
    expected = (lse(1, 2, 3) - 1) + (lse(2, 3) - 2) + (3 - 3)
    approx(ListMLELoss()(scores, labels), expected)


def test_listmle_ties_broken_by_position():
    labels = torch.tensor([[1, 0, 0], [0, 0, 0]])
    loss = ListMLELoss(ties="position")
    a = loss(torch.tensor([[0.0, 1.0, 2.0], [9.0, 0.0, 1.0]]), labels)
    approx(a, (lse(0, 1, 2) - 0) + (lse(1, 2) - 1))  # π = (0, 1, 2), group 2 skipped
    b = loss(torch.tensor([[0.0, 2.0, 1.0], [9.0, 0.0, 1.0]]), labels)
    approx(b, (lse(0, 2, 1) - 0) + (lse(2, 1) - 2))  # the same π whatever the scores


def test_listmle_ties_broken_by_score_do_not_depend_on_position():
    labels = torch.tensor([[1, 0, 0]])
    expected = (lse(0, 2, 1) - 0) + (lse(2, 1) - 2)  # tied negatives: higher score first
    approx(ListMLELoss()(torch.tensor([[0.0, 1.0, 2.0]]), labels), expected)
    approx(ListMLELoss()(torch.tensor([[0.0, 2.0, 1.0]]), labels), expected)
    graded = torch.tensor([[1, 2, 1, 0]])  # π = (1, 2, 0, 3): label 2, the 1s by score, the 0
    approx(
        ListMLELoss()(torch.tensor([[0.5, 0.0, 1.5, 3.0]]), graded),
        (lse(0.0, 1.5, 0.5, 3.0) - 0.0) + (lse(1.5, 0.5, 3.0) - 1.5) + (lse(0.5, 3.0) - 0.5),
    )
    assert ListMLELoss()(torch.tensor([[1.0, 2.0]]), torch.tensor([[3, 3]])).item() == 0.0
    with pytest.raises(LossError, match="ties"):
        ListMLELoss(ties="random")


def test_listmle_mask():
    scores = torch.tensor([[1.0, 0.0, 7.0]])
    approx(
        ListMLELoss()(scores, torch.tensor([[1, 0, 2]]), torch.tensor([[True, True, False]])),
        lse(1.0, 0.0) - 1.0,
    )


# ----------------------------------------------------------------------------- all losses


@pytest.mark.parametrize("name", ["pairwise", "listwise", "lambdaloss", "listmle"])
def test_group_losses_push_the_positive_up(name):
    scores = torch.zeros(2, 4, requires_grad=True)
    labels = torch.tensor([[1, 0, 0, 0], [0, 2, 1, 0]])
    make_loss(name)(scores, labels).backward()
    grad = scores.grad
    assert grad[0, 0] < 0 and grad[1, 1] < 0  # descent raises the most relevant scores
    assert grad[0, 0] == grad[0].min() and grad[1, 1] == grad[1].min()
    assert grad[0, 1:].sum() > 0 and grad[1, 0] > 0 and grad[1, 3] > 0  # lowers the negatives
    assert abs(grad.sum(dim=1)).max() < 1e-6  # scores enter only through differences


def test_registry_and_errors():
    assert set(LOSSES) == {"pointwise", "pairwise", "listwise", "lambdaloss", "listmle"}
    assert isinstance(make_loss("listwise", target="softmax"), ListNetLoss)
    assert make_loss("pointwise").grouped is False and make_loss("listmle").grouped is True
    with pytest.raises(LossError, match=r"unknown loss 'softmax'.*listwise"):
        make_loss("softmax")
    with pytest.raises(LossError, match=r"scores\[B, G\]"):
        RankNetLoss()(torch.zeros(4), torch.zeros(4))
    with pytest.raises(LossError, match="labels shape"):
        ListNetLoss()(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(LossError, match="same shape"):
        PointwiseBCELoss()(torch.zeros(3), torch.zeros(2))
    with pytest.raises(LossError, match="≥ 0"):
        LambdaLoss()(torch.zeros(1, 2), torch.tensor([[1, -1]]))
    with pytest.raises(LossError, match="target"):
        ListNetLoss(target="exp")
