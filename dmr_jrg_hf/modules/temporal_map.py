"""2D temporal feature map of candidate moments (paper §III-C-2, 2D-TAN)."""

from __future__ import annotations

import torch
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from .candidate_grid import CandidateGrid
from .transformer_layers import native_dropout

__all__ = ["range_max_pool", "TemporalFeatureMap"]


def range_max_pool(clips: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
    """Max over clips ``starts[n]..ends[n]`` (inclusive) for every requested range, with a sparse table.

    Level ``l`` of the table holds the max of the ``2**l`` clips starting at each clip; a range of length ``L`` is the
    max of two (overlapping) level-``floor(log2 L)`` entries. ``ceil(log2 K)`` vectorised maxima plus one gather.

    Args:
        clips (torch.FloatTensor of shape (batch, num_clips, hidden_size)): clip features.
        starts (torch.LongTensor of shape (num_ranges,)): first clip of each range.
        ends (torch.LongTensor of shape (num_ranges,)): last clip of each range (``>= starts``).

    Returns:
        torch.FloatTensor of shape (batch, num_ranges, hidden_size).
    """
    num_clips = clips.shape[1]
    levels = [clips]
    width = 1
    while 2 * width <= num_clips:
        previous = levels[-1]
        shifted = torch.cat([previous[:, width:], previous[:, -1:].expand(-1, width, -1)], dim=1)
        levels.append(torch.maximum(previous, shifted))
        width *= 2
    table = torch.stack(levels, dim=1)  # (batch, num_levels, num_clips, hidden_size)
    lengths = ends - starts + 1
    level = torch.floor(torch.log2(lengths.to(torch.float64))).long()
    second = ends - (1 << level) + 1
    return torch.maximum(table[:, level, starts], table[:, level, second])


class TemporalFeatureMap(nn.Module):
    """Clip features -> d_model, then the 2D map ``F`` with ``F[:, :, i, j] = max(f_i..f_j)`` (§III-C-2).

    Only the valid cells of the grid (2D-TAN sparse scheme) are pooled; the others stay zero.
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.clip_projection = nn.Linear(config.feature_dim, config.hidden_size)
        self.dropout = config.dropout

    def project_clips(self, clip_features: torch.Tensor) -> torch.Tensor:
        """(batch, num_clips, feature_dim) -> (batch, num_clips, hidden_size) clip features ``f_1..f_K``."""
        return native_dropout(torch.relu(self.clip_projection(clip_features)), self.dropout, self.training)

    def forward(self, clips: torch.Tensor, grid: CandidateGrid) -> torch.Tensor:
        """Build the map from projected clips.

        Args:
            clips (torch.FloatTensor of shape (batch, num_clips, hidden_size)): output of `project_clips`.
            grid (CandidateGrid): the model's grid; its ``cell_index`` lists the cells to pool.

        Returns:
            torch.FloatTensor of shape (batch, hidden_size, num_clips, num_clips): ``F``, zero at invalid cells.
        """
        batch, num_clips, hidden_size = clips.shape
        flat_cells = grid.cell_index
        pooled = range_max_pool(clips, flat_cells // num_clips, flat_cells % num_clips)  # (batch, cells, hidden)
        video_map = clips.new_zeros(batch, num_clips * num_clips, hidden_size)
        video_map[:, flat_cells] = pooled
        return video_map.transpose(1, 2).reshape(batch, hidden_size, num_clips, num_clips)  # (batch, hidden, K, K)
