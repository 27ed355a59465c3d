"""2D temporal feature map of candidate moments (paper §III-C-2, 2D-TAN) and torch views of the candidate grid."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from ..geometry import cell_spans, valid_cell_mask

__all__ = ["grid_tensors", "range_max_pool", "TemporalFeatureMap"]


def grid_tensors(config: DMRJRGConfig) -> dict[str, torch.Tensor]:
    """Torch copies of the candidate grid of `geometry` for this config (the one grid rule, DESIGN §2).

    Returns:
        dict with ``valid_mask`` (torch.BoolTensor of shape (num_clips, num_clips)), ``cell_start`` and ``cell_end``
        (torch.FloatTensor of shape (num_clips, num_clips)): every cell's span as a fraction of the video.
    """
    start, end = cell_spans(config.num_clips)
    return {
        "valid_mask": torch.from_numpy(valid_cell_mask(config.num_clips, config.map_scale_layers)),
        "cell_start": torch.from_numpy(start.astype(np.float32)),
        "cell_end": torch.from_numpy(end.astype(np.float32)),
    }


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
        self.num_clips = config.num_clips
        self.clip_projection = nn.Linear(config.feature_dim, config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)
        for name, tensor in self.compute_grid_buffers(config).items():
            self.register_buffer(name, tensor, persistent=False)

    @staticmethod
    def compute_grid_buffers(config: DMRJRGConfig) -> dict[str, torch.Tensor]:
        """``valid_mask`` (num_clips, num_clips) and ``cell_index`` (num_valid_cells,): flat index ``i * K + j`` of
        each valid cell (kept as a buffer, so the forward needs no ``nonzero``, which would sync an accelerator)."""
        valid_mask = grid_tensors(config)["valid_mask"]
        return {"valid_mask": valid_mask, "cell_index": valid_mask.flatten().nonzero().squeeze(1)}

    def project_clips(self, clip_features: torch.Tensor) -> torch.Tensor:
        """(batch, num_clips, feature_dim) -> (batch, num_clips, hidden_size) clip features ``f_1..f_K``."""
        return self.dropout(torch.relu(self.clip_projection(clip_features)))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Build the map from projected clips.

        Args:
            clips (torch.FloatTensor of shape (batch, num_clips, hidden_size)): output of `project_clips`.

        Returns:
            torch.FloatTensor of shape (batch, hidden_size, num_clips, num_clips): ``F``, zero at invalid cells.
        """
        batch, num_clips, hidden_size = clips.shape
        flat_cells = self.cell_index
        pooled = range_max_pool(clips, flat_cells // num_clips, flat_cells % num_clips)  # (batch, cells, hidden)
        grid = clips.new_zeros(batch, num_clips * num_clips, hidden_size)
        grid[:, flat_cells] = pooled
        return grid.transpose(1, 2).reshape(batch, hidden_size, num_clips, num_clips)  # (batch, hidden, K, K)
