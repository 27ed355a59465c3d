"""Sentence-clip alignment learned across the videos of a batch, and the moment it points at (not in the paper).

DMR-JRG's only grounding signal in weak mode is Eq. 12, which re-orders the map's own top-Q cells by how well they
reconstruct the sentence; those cells are neighbours of one peak, so ``P_m`` learns little about where a sentence is.
This module adds a signal that does not come from ``P_m`` itself:

1. Multiple-instance alignment (as in weakly supervised grounding by sentence-video matching, e.g. WSLLN, Gao et
   al., EMNLP 2019; TGA, Mithun et al., CVPR 2019): each sentence must match its own video better than the other
   videos of the batch, where a sentence-video score is the sentence's best clip in that video. Each sentence's
   content is in some clips of its video only, so the gradient goes to the clips that show it.
2. The moment the alignment points at: the valid cell whose clips match the sentence best against the rest of the
   video (mean inside minus mean outside, CPL's complement negative in similarity form). A cell that covers the
   matching clips exactly wins: leaving some out puts them outside, taking more in dilutes the inside mean.

`alignment_pseudo_label_loss` turns that cell into 2D-TAN soft IoU labels for ``P_m`` (as BTSE-TD does with its own
argmax, Eq. 20-21). The labels come from the alignment, never from ``P_m``, so they cannot reinforce the map's own
mistakes; inference still reads ``P_m`` alone (paper §III-H).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig

__all__ = ["SentenceClipAlignment", "clip_alignment_loss", "aligned_moment_cells"]


class SentenceClipAlignment(nn.Module):
    """Cosine similarity of every sentence with every clip of every video in the batch, in a learned joint space."""

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.sentence_projection = nn.Linear(config.hidden_size, config.hidden_size)
        self.clip_projection = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, sentence_features: torch.Tensor, clips: torch.Tensor) -> torch.Tensor:
        """Similarity of sentence ``(b, m)`` with clip ``k`` of video ``v`` for every paragraph and video.

        Args:
            sentence_features (torch.FloatTensor of shape (batch, num_sentences, hidden_size)): ``h_m``.
            clips (torch.FloatTensor of shape (batch, num_clips, hidden_size)): projected clip features ``f_k``.

        Returns:
            torch.FloatTensor of shape (batch, num_sentences, batch, num_clips): paragraph, sentence, video, clip.
        """
        sentences = F.normalize(self.sentence_projection(sentence_features), dim=-1)
        clips = F.normalize(self.clip_projection(clips), dim=-1)
        return torch.einsum("bmh,vkh->bmvk", sentences, clips)


def clip_alignment_loss(
    similarity: torch.Tensor,
    sentence_mask: torch.Tensor,
    temperature: float,
    duplicate_pairs: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multiple-instance InfoNCE: each real sentence picks its own video among the batch's videos.

    The score of sentence ``(b, m)`` for video ``v`` is its best clip there, ``max_k S[b, m, v, k]``; the loss is the
    cross-entropy of ``score / temperature`` over videos with video ``b`` as the target, averaged over real sentences.
    Another video of the batch that happens to show the same event counts as a negative (as in-batch negatives do
    in Eq. 2-7); another batch row with the very same video (``duplicate_pairs``) is left out.

    Args:
        similarity (torch.FloatTensor of shape (batch, num_sentences, batch, num_clips)): `SentenceClipAlignment`.
        sentence_mask (torch.BoolTensor of shape (batch, num_sentences)): real sentences.
        temperature (float): softmax temperature of the cosine scores.
        duplicate_pairs (torch.BoolTensor of shape (batch, batch), optional): True at ``(i, j)``, ``i != j``, where
            rows i and j show the same video.
    """
    batch, num_sentences = sentence_mask.shape
    video_scores = similarity.amax(dim=-1) / temperature  # (batch, M, batch)
    if duplicate_pairs is not None:
        video_scores = video_scores.masked_fill(duplicate_pairs[:, None, :], float("-inf"))
    targets = torch.arange(batch, device=similarity.device)[:, None].expand(batch, num_sentences)
    losses = F.cross_entropy(video_scores.flatten(0, 1), targets.flatten(), reduction="none")  # (batch*M,)
    weights = sentence_mask.flatten().to(losses.dtype)
    return (losses * weights).sum() / weights.sum().clamp(min=1)


def aligned_moment_cells(own_similarity: torch.Tensor, valid_mask: torch.Tensor) -> torch.Tensor:
    """The valid cell of each sentence whose clips match it best against the rest of its video.

    ``contrast(i, j) = mean(s_i..s_j) - mean(s_k for k outside [i, j])`` from prefix sums over all cells at once;
    the whole-video cell has no outside and scores 0.

    Args:
        own_similarity (torch.FloatTensor of shape (..., num_clips)): each sentence's clip similarities in its own
            video.
        valid_mask (torch.BoolTensor of shape (num_clips, num_clips)).

    Returns:
        torch.LongTensor of shape (...): flat cell index ``i * K + j``.
    """
    num_clips = own_similarity.shape[-1]
    prefix = F.pad(own_similarity.detach().cumsum(-1), (1, 0))  # (..., K + 1)
    total = prefix[..., -1:, None]  # (..., 1, 1)
    inside = prefix[..., None, 1:] - prefix[..., :-1, None]  # (..., K, K): sum of s_i..s_j at [i, j]
    clip_index = torch.arange(num_clips, device=own_similarity.device)
    length = (clip_index[None, :] - clip_index[:, None] + 1).to(own_similarity.dtype)  # (K, K), <= 0 below diagonal
    outside_length = num_clips - length
    inside_mean = inside / length.clamp(min=1)
    outside_mean = torch.where(outside_length > 0, (total - inside) / outside_length.clamp(min=1), inside_mean)
    contrast = (inside_mean - outside_mean).masked_fill(~valid_mask, float("-inf"))
    return contrast.flatten(-2).argmax(dim=-1)
