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

    def fuse_cells(
        self,
        sentence_features: torch.Tensor,
        video_map: torch.Tensor,
        cell_index: torch.Tensor,
        video_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`forward` at the valid cells only, in the packed layout of the valid-cell and Winograd TANs.

        The projection ``W_v`` (a 1x1 convolution) is a matrix product over the channels of each video's valid cells;
        the Hadamard product with ``W_s h_m`` and the L2 norm run over the valid cells of every sentence only (136 of
        a K=16 map's 256) and over contiguous channels. Equal to `forward` at those cells, to float summation order.

        Args:
            sentence_features, video_map, video_index: as `forward`'s.
            cell_index (torch.LongTensor of shape (num_cells,)): flat index ``i * K + j`` of the valid cells
                (`CandidateGrid.cell_index`).

        Returns:
            torch.FloatTensor of shape (num_cells, batch * num_sentences, hidden_size): sentence-major maps.
        """
        cells = video_map.flatten(2).index_select(2, cell_index).transpose(1, 2)  # (num_videos, num_cells, hidden)
        weight = self.moment_projection.weight.flatten(1)  # (hidden, hidden): the 1x1 convolution
        moments = F.linear(cells, weight, self.moment_projection.bias)  # (num_videos, num_cells, hidden)
        if video_index is not None:
            moments = moments.index_select(0, video_index)  # (batch, num_cells, hidden)
        sentences = self.sentence_projection(sentence_features)  # (batch, M, hidden)
        fused = F.normalize(moments[:, None] * sentences[:, :, None], dim=-1)  # (batch, M, num_cells, hidden)
        return fused.flatten(0, 1).transpose(0, 1)  # (num_cells, batch * M, hidden)
