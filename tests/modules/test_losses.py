from __future__ import annotations

import math

import pytest
import torch

from dmr_jrg_hf.modules.losses import (
    info_nce_loss,
    masked_binary_cross_entropy,
    packed_reconstruction_loss,
    reconstruction_loss,
    reconstruction_rank_loss,
    reconstruction_rewards,
    score_distillation_loss,
    triplet_ranking_loss,
)


def test_grrm_gradient_reaches_retrieval_scores_only():
    retrieval = torch.tensor([[0.5, 0.1], [0.2, 0.9]], requires_grad=True)
    grounding = torch.tensor([[0.7, 0.0], [0.2, 0.5]], requires_grad=True)
    loss = score_distillation_loss(retrieval, grounding)
    assert torch.isclose(loss, torch.tensor((0.04 + 0.01 + 0.0 + 0.16) / 4))
    loss.backward()
    assert torch.allclose(retrieval.grad, (retrieval - grounding).detach() / 2)
    assert grounding.grad is None, "S_g is a stop-gradient pseudo-label"


@pytest.mark.parametrize(
    "losses, expected",
    [
        ([0.3, 0.1, 0.2], [0.0, 1.0, 0.5]),
        ([1.0, 2.0, 3.0, 4.0], [1.0, 2 / 3, 1 / 3, 0.0]),
        ([5.0], [1.0]),
    ],
)
def test_rank_loss_rewards_follow_reconstruction_quality(losses, expected):
    rewards = reconstruction_rewards(torch.tensor([losses]))
    assert torch.allclose(rewards, torch.tensor([expected])), f"losses {losses}"


def test_rank_loss_prefers_the_best_reconstructing_proposal():
    per_proposal = torch.tensor([[0.3, 0.1, 0.2]])
    good = reconstruction_rank_loss(torch.tensor([[0.1, 0.9, 0.5]]), per_proposal)
    bad = reconstruction_rank_loss(torch.tensor([[0.9, 0.1, 0.5]]), per_proposal)
    assert good < bad
    scores = torch.tensor([[0.2, 0.4, 0.6]])
    log_softmax = torch.log_softmax(scores, -1)
    expected = -(0.0 * log_softmax[0, 0] + 1.0 * log_softmax[0, 1] + 0.5 * log_softmax[0, 2]) / 3
    assert torch.isclose(reconstruction_rank_loss(scores, per_proposal), expected)


def test_rank_loss_temperature_divides_the_scores_and_widens_the_range():
    per_proposal = torch.tensor([[0.3, 0.1, 0.2]])
    scores = torch.tensor([[0.2, 0.4, 0.6]])
    assert torch.isclose(
        reconstruction_rank_loss(scores, per_proposal, temperature=0.1),
        reconstruction_rank_loss(scores / 0.1, per_proposal),
    )
    assert torch.equal(
        reconstruction_rank_loss(scores, per_proposal, None), reconstruction_rank_loss(scores, per_proposal)
    )

    def spread(best_scores, temperature):  # equal scores minus the best scores: how far the term can move
        equal = reconstruction_rank_loss(torch.full((1, 3), 0.5), per_proposal, temperature)
        return equal - reconstruction_rank_loss(torch.tensor([best_scores]), per_proposal, temperature)

    # optima in [0, 1]: (0, 1, 0.62) for the paper's form; softmax(p / 0.1) can reach the rewards' own (0, 2/3, 1/3)
    assert spread([0.0, 1.0, 0.62], None) < 0.13 < 0.2 < spread([0.0, 1.0, 1.0 - 0.1 * math.log(2.0)], 0.1)


def test_reconstruction_loss_averages_tokens_per_pair_then_pairs():
    logits = torch.log(torch.tensor([[[0.5, 0.5], [0.25, 0.75]], [[0.9, 0.1], [0.01, 0.99]]]))  # (2 pairs, 2, 2)
    targets = torch.tensor([[0, 1], [0, 0]])
    token_mask = torch.tensor([[True, True], [True, False]])  # pair 1's second word is not a target
    per_pair = reconstruction_loss(logits, targets, token_mask, label_smoothing=0.0)
    expected = torch.tensor([-(math.log(0.5) + math.log(0.75)) / 2, -math.log(0.9)])
    assert torch.allclose(per_pair, expected, atol=1e-6)
    none = reconstruction_loss(logits, targets, torch.zeros_like(token_mask), label_smoothing=0.0)
    assert torch.equal(none, torch.zeros(2)), "a pair without masked words counts 0"


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_packed_reconstruction_loss_equals_the_padded_one(label_smoothing):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 5, 7, generator=generator)  # (pairs, words, vocab)
    targets = torch.randint(7, (4, 5), generator=generator)
    token_mask = torch.rand(4, 5, generator=generator) < 0.4
    token_mask[2] = False  # a pair without masked words
    slots = token_mask.flatten().nonzero()[:, 0]
    packed = packed_reconstruction_loss(
        logits.flatten(0, 1)[slots], targets.flatten()[slots], slots // 5, token_mask.sum(-1), label_smoothing
    )
    torch.testing.assert_close(packed, reconstruction_loss(logits, targets, token_mask, label_smoothing))
    assert packed[2] == 0


def test_info_nce_hand_computed():
    similarity = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    expected = 2 * -math.log(math.exp(2.0) / (math.exp(2.0) + 1.0))
    assert math.isclose(info_nce_loss(similarity, torch.tensor(2.0)).item(), expected, rel_tol=1e-6)


def test_triplet_uses_hardest_in_batch_negative_both_ways():
    similarity = torch.tensor([[0.8, 0.7, 0.1], [0.0, 0.9, 0.2], [0.3, 0.1, 0.5]])
    # t2v rows: 0.2+0.7-0.8=0.1, 0.2+0.2-0.9<0, 0.2+0.3-0.5=0 ; v2t cols: 0.2+0.3-0.8<0, 0.2+0.7-0.9=0, 0.2+0.2-0.5<0
    assert torch.isclose(triplet_ranking_loss(similarity, 0.2, "hardest"), torch.tensor(0.1 / 3), atol=1e-6)
    assert triplet_ranking_loss(torch.tensor([[0.3]]), 0.2, "hardest") == 0, "a batch of one has no negative"


def test_triplet_averages_over_all_in_batch_negatives():
    similarity = torch.tensor([[0.8, 0.7, 0.1], [0.0, 0.9, 0.2], [0.3, 0.1, 0.5]])
    # t2v hinges (row b, column z != b): 0.1, 0 | 0, 0 | 0, 0 ; v2t (column b, row z != b): 0, 0 | 0, 0 | 0, 0
    # 0.2+0.7-0.8=0.1 is the only violation: (0.1 + 0) / (3 rows * 2 negatives)
    assert torch.isclose(triplet_ranking_loss(similarity, 0.2), torch.tensor(0.1 / 6), atol=1e-6)
    collapsed = torch.full((4, 4), 0.5)
    assert torch.isclose(triplet_ranking_loss(collapsed, 0.2), torch.tensor(0.4)), "equal scores cost 2 * margin"
    assert triplet_ranking_loss(torch.tensor([[0.3]]), 0.2) == 0, "a batch of one has no negative"


def test_pairs_of_one_video_are_not_negatives():
    # samples 0 and 1 are two paragraphs of the same video: S[0, 1] and S[1, 0] are positives in disguise
    similarity = torch.tensor([[0.8, 0.9, 0.1], [0.85, 0.9, 0.2], [0.3, 0.1, 0.5]])
    duplicates = torch.tensor([[False, True, False], [True, False, False], [False, False, False]])
    scale = torch.tensor(2.0)
    # InfoNCE: rows/columns 0 and 1 lose each other from the softmax
    t2v = [[0.8, 0.1], [0.9, 0.2], [0.5, 0.3, 0.1]]  # target first, then the remaining negatives
    v2t = [[0.8, 0.3], [0.9, 0.1], [0.5, 0.1, 0.2]]
    expected = sum(-math.log(math.exp(2 * r[0]) / sum(math.exp(2 * x) for x in r)) / 3 for r in t2v + v2t)
    assert math.isclose(info_nce_loss(similarity, scale, duplicates).item(), expected, rel_tol=1e-6)
    # triplet: 4 negatives per direction; t2v hinges 0.2+0.1-0.8, 0.2+0.2-0.9, 0.2+0.3-0.5, 0.2+0.1-0.5 -> all 0;
    # v2t hinges 0.2+0.3-0.8, 0.2+0.1-0.9, 0.2+0.1-0.5, 0.2+0.2-0.5 -> all 0; without the mask 0.2+0.9-0.8 counts
    assert triplet_ranking_loss(similarity, 0.2, duplicate_pairs=duplicates) == 0
    assert triplet_ranking_loss(similarity, 0.2, "hardest", duplicate_pairs=duplicates) == 0
    assert triplet_ranking_loss(similarity, 0.2) > 0
    no_duplicates = torch.zeros(3, 3, dtype=torch.bool)
    assert torch.equal(info_nce_loss(similarity, scale, no_duplicates), info_nce_loss(similarity, scale))
    assert torch.equal(
        triplet_ranking_loss(similarity, 0.2, "all", no_duplicates), triplet_ranking_loss(similarity, 0.2)
    )


def test_masked_bce_averages_over_masked_cells_only():
    logits = torch.tensor([[0.0, 100.0], [-100.0, 0.0]])
    targets = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    mask = torch.tensor([[True, False], [False, True]])
    assert torch.isclose(masked_binary_cross_entropy(logits, targets, mask), torch.tensor(math.log(2.0)))
