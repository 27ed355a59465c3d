"""Loss functions of DMR-JRG (paper Eq. 2-7, 11-12, 17, 20-22), pure functions that return a scalar tensor."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "info_nce_loss",
    "triplet_ranking_loss",
    "cross_modal_retrieval_loss",
    "reconstruction_loss",
    "packed_reconstruction_loss",
    "reconstruction_rewards",
    "reconstruction_rank_loss",
    "score_distillation_loss",
    "masked_binary_cross_entropy",
]


def info_nce_loss(
    similarity: torch.Tensor, logit_scale: torch.Tensor, duplicate_pairs: torch.Tensor | None = None
) -> torch.Tensor:
    """Symmetric InfoNCE, ``L_nce = L_nce^{t2v} + L_nce^{v2t}`` (Eq. 2-4).

    Args:
        similarity (torch.FloatTensor of shape (batch, batch)): cosine ``S(t_b, v_z)``, paragraph rows x video
            columns; the positives are on the diagonal.
        logit_scale (torch.FloatTensor scalar): λ (already exponentiated and clamped).
        duplicate_pairs (torch.BoolTensor of shape (batch, batch), optional): True at ``(i, j)``, ``i != j``, where
            samples i and j show the same video (a video with several paragraphs, as in TACoS). Those pairs are left
            out of the softmax: Eq. 2-4 take every other sample of the batch as a negative, which would push a
            paragraph away from its own video.
    """
    logits = similarity * logit_scale
    if duplicate_pairs is not None:
        logits = logits.masked_fill(duplicate_pairs, float("-inf"))
    targets = torch.arange(similarity.shape[0], device=similarity.device)
    return F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets)


def triplet_ranking_loss(
    similarity: torch.Tensor, margin: float, negatives: str = "all", duplicate_pairs: torch.Tensor | None = None
) -> torch.Tensor:
    """Symmetric triplet ranking loss with in-batch negatives, ``L_trip = L_trip^{t2v} + L_trip^{v2t}`` (Eq. 5-7).

    Note:
        Eq. 6-7 take the negatives "sampled from other samples within the same batch" without saying which.
        ``negatives="all"`` (default) averages the hinge over every in-batch negative (VSE0); ``"hardest"`` keeps the
        hardest one per row/column (VSE++ max-violation). Trained from scratch, the hardest-negative form stays at
        its collapsed value (every similarity equal, loss ``2 * margin``) for many epochs, while the averaged form
        starts learning at once; ``config.triplet_negatives`` chooses. A batch of one has no negative and gives 0.

    Args:
        similarity (torch.FloatTensor of shape (batch, batch)): paragraph rows x video columns, positives on the
            diagonal.
        margin (float): Δ.
        negatives (str): "all" or "hardest".
        duplicate_pairs (torch.BoolTensor of shape (batch, batch), optional): pairs of samples of one video, which
            are not negatives (`info_nce_loss`).
    """
    positives = similarity.diagonal()
    not_negative = torch.eye(similarity.shape[0], dtype=torch.bool, device=similarity.device)
    if duplicate_pairs is not None:
        not_negative = not_negative | duplicate_pairs
    text_to_video = (margin + similarity - positives[:, None]).clamp(min=0).masked_fill(not_negative, 0.0)
    video_to_text = (margin + similarity - positives[None, :]).clamp(min=0).masked_fill(not_negative, 0.0)
    if negatives == "hardest":
        return text_to_video.max(dim=1).values.mean() + video_to_text.max(dim=0).values.mean()
    num_negatives = (~not_negative).sum().clamp(min=1)  # per direction
    return (text_to_video.sum() + video_to_text.sum()) / num_negatives


def cross_modal_retrieval_loss(
    similarity: torch.Tensor,
    logit_scale: torch.Tensor,
    margin: float,
    nce_weight: float,
    negatives: str = "all",
    duplicate_pairs: torch.Tensor | None = None,
) -> torch.Tensor:
    """``L = L_trip + β·L_nce``: L_cmr of VPCMR (§III-D, with β1) and L_global of VTFA-GD (§III-F, with β2).

    ``duplicate_pairs`` (batch, batch) marks pairs of samples of one video, which are not negatives
    (`info_nce_loss`)."""
    triplet = triplet_ranking_loss(similarity, margin, negatives, duplicate_pairs)
    return triplet + nce_weight * info_nce_loss(similarity, logit_scale, duplicate_pairs)


def reconstruction_loss(
    word_logits: torch.Tensor,
    targets: torch.Tensor,
    token_mask: torch.Tensor,
    label_smoothing: float,
) -> torch.Tensor:
    """Masked-word reconstruction loss of each (sentence, proposal) pair; ``L_rec`` (Eq. 11) is their mean.

    Every position is scored and the unmasked ones are weighted 0, so the shapes do not depend on the mask's values
    (selecting the masked positions would read them: a device sync on an accelerator, and shapes that change from
    batch to batch).

    Note:
        Eq. 11 sums the word log-likelihoods over the masked positions of a sentence; this averages them (as SCN's
        released code does), so that L_rec does not grow with sentence length and stays on the scale of the other
        terms of Eq. 23. The mean over the Q proposals and over the real sentences is as in Eq. 11.

    Args:
        word_logits (torch.FloatTensor of shape (num_pairs, num_words, vocab_size)): predictions at every position of
            every (sentence, proposal) pair.
        targets (torch.LongTensor of shape (num_pairs, num_words)): the original word ids.
        token_mask (torch.BoolTensor of shape (num_pairs, num_words)): the masked positions (the loss's tokens).
        label_smoothing (float): label smoothing of the negative log-likelihood.

    Returns:
        torch.FloatTensor of shape (num_pairs,): the mean token loss of each pair (0 for a pair without tokens).
    """
    token_loss = F.cross_entropy(
        word_logits.flatten(0, 1), targets.flatten(), reduction="none", label_smoothing=label_smoothing
    ).view_as(targets)  # (num_pairs, num_words)
    weights = token_mask.to(token_loss.dtype)
    return (token_loss * weights).sum(-1) / weights.sum(-1).clamp(min=1)


def packed_reconstruction_loss(
    token_logits: torch.Tensor,
    targets: torch.Tensor,
    token_pairs: torch.Tensor,
    pair_token_counts: torch.Tensor,
    label_smoothing: float,
) -> torch.Tensor:
    """`reconstruction_loss` from the masked positions only: the same per-pair means.

    Args:
        token_logits (torch.FloatTensor of shape (num_tokens, vocab_size)): predictions at the masked positions.
        targets (torch.LongTensor of shape (num_tokens,)): their original word ids.
        token_pairs (torch.LongTensor of shape (num_tokens,)): the (sentence, proposal) pair of each token.
        pair_token_counts (torch.LongTensor of shape (num_pairs,)): masked positions per pair.
        label_smoothing (float): label smoothing of the negative log-likelihood.

    Returns:
        torch.FloatTensor of shape (num_pairs,): the mean token loss of each pair (0 for a pair without tokens).
    """
    token_loss = F.cross_entropy(token_logits, targets, reduction="none", label_smoothing=label_smoothing)
    sums = token_loss.new_zeros(pair_token_counts.shape).index_add(0, token_pairs, token_loss)
    return sums / pair_token_counts.clamp(min=1).to(token_loss.dtype)


def reconstruction_rewards(per_proposal_loss: torch.Tensor) -> torch.Tensor:
    """Rewards ``R^q`` of Eq. 12: 1 for the best-reconstructing proposal, then ``1 - r/(Q-1)`` for rank r.

    Args:
        per_proposal_loss (torch.FloatTensor of shape (num_sentences, num_top_candidates)): reconstruction loss of each
            proposal (lower is better). No gradient flows through the rewards.

    Returns:
        torch.FloatTensor of shape (num_sentences, num_top_candidates): the reward of each proposal, in its column.
    """
    num_candidates = per_proposal_loss.shape[-1]
    order = per_proposal_loss.detach().argsort(dim=-1)
    rank = order.argsort(dim=-1).to(per_proposal_loss.dtype)
    return 1.0 - rank / max(num_candidates - 1, 1)


def reconstruction_rank_loss(
    proposal_scores: torch.Tensor, per_proposal_loss: torch.Tensor, temperature: float | None = None
) -> torch.Tensor:
    """Rank loss ``L_rank`` (Eq. 12): reward-weighted log-softmax of the proposals' scores.

    Note:
        With ``temperature=None`` this is Eq. 12 as written: the softmax runs over the score-map probabilities
        ``p_m^q`` in [0, 1], not over logits, so it stays close to uniform. With Q = 3 and rewards (1, 1/2, 0) it is
        ``(1 + 1/2) ln 3 / 3 = 0.549`` for equal scores and 0.423 at best (scores 1, 0.62, 0): the whole range of the
        term is 0.13, so in training it barely moves and orders the top-Q proposals only weakly. A temperature (not in
        the paper) divides the scores first, ``softmax(p / T)``, which widens that range.

    Args:
        proposal_scores (torch.FloatTensor of shape (num_sentences, num_top_candidates)): ``p_m^q``, the score-map
            probabilities of the top-Q proposals.
        per_proposal_loss (torch.FloatTensor of shape (num_sentences, num_top_candidates)): their
            reconstruction losses.
        temperature (float, optional): the softmax temperature; None is the paper (1).
    """
    rewards = reconstruction_rewards(per_proposal_loss)
    scores = proposal_scores if temperature is None else proposal_scores / temperature
    return -(rewards * F.log_softmax(scores, dim=-1)).mean()


def score_distillation_loss(retrieval_scores: torch.Tensor, grounding_scores: torch.Tensor) -> torch.Tensor:
    """GRRM ``L_mse`` (Eq. 17): ``mean over all (i, j) of (S_r[i, j] - stopgrad(S_g[i, j]))^2``.

    Args:
        retrieval_scores (torch.FloatTensor of shape (batch, batch)): S_r.
        grounding_scores (torch.FloatTensor of shape (batch, batch)): S_g, used as a detached pseudo-label.
    """
    return F.mse_loss(retrieval_scores, grounding_scores.detach())


def masked_binary_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of score-map logits against soft labels, averaged over the ``True`` cells of ``mask``.

    Used by BTSE-TD (Eq. 20-21) and by the supervised 2D-TAN loss. Computed from logits (``sigmoid`` inside) for
    numerical stability; equal to the BCE on ``P = sigmoid(logits)``.

    Args:
        logits (torch.FloatTensor of shape (..., num_clips, num_clips)): pre-sigmoid scores.
        targets (torch.FloatTensor, same shape): soft labels in [0, 1].
        mask (torch.BoolTensor, broadcastable to the same shape): cells that count (valid cells of real sentences).
    """
    mask = mask.expand_as(logits)
    loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return (loss * mask).sum() / mask.sum().clamp(min=1)
