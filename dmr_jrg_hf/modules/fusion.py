"""Sentence-moment fusion of VTC-LD (paper §III-E, Eq. 8)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig

__all__ = ["SentenceMomentFusion"]


class SentenceMomentFusion(nn.Module):
    """Eq. 8: ``F~_m(i, j) = (W_s h_m) ⊙ (W_v F(i, j))``, L2-normalised over channels and masked to valid cells.

    The video map is computed once per video and broadcast over the paragraph's sentences.
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.sentence_projection = nn.Linear(config.hidden_size, config.hidden_size)
        self.moment_projection = nn.Conv2d(config.hidden_size, config.hidden_size, kernel_size=1)

    def forward(
        self,
        sentence_features: torch.Tensor,
        video_map: torch.Tensor,
        valid_mask: torch.Tensor,
        video_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Fuse every sentence with the map of the video at the same batch index (or at ``video_index``).

        Args:
            sentence_features (torch.FloatTensor of shape (batch, num_sentences, hidden_size)): ``h_m``.
            video_map (torch.FloatTensor of shape (num_videos, hidden_size, num_clips, num_clips)): ``F``.
            valid_mask (torch.BoolTensor of shape (num_clips, num_clips)).
            video_index (torch.LongTensor of shape (batch,), optional): the video of each row of
                ``sentence_features``; by default row b reads video b (``num_videos == batch``). The projection
                ``W_v F`` runs once per video either way.

        Returns:
            torch.FloatTensor of shape (batch, num_sentences, hidden_size, num_clips, num_clips).
        """
        moments = self.moment_projection(video_map)  # (num_videos, hidden, K, K)
        if video_index is not None:
            moments = moments.index_select(0, video_index)  # (batch, hidden, K, K)
        moments = moments[:, None]  # (batch, 1, hidden, K, K)
        sentences = self.sentence_projection(sentence_features)[..., None, None]  # (batch, M, hidden, 1, 1)
        return F.normalize(moments * sentences, dim=2) * valid_mask
