"""The candidate-moment grid of a config as torch tensors (2D-TAN, paper §III-C-2): one owner for the whole model.

The rule itself (which cells are candidates, what span each covers) is `geometry`'s (DESIGN §2). `CandidateGrid`
turns it into the tensors the model reads, once per model, and the model passes it to every part that needs them:
the 2D map pools the valid cells, the fusion (Eq. 8) and the TAN mask with them, the top-Q choice, BTSE-TD's soft
labels (Eq. 20-21) and the supervised loss read the cell spans.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from ..geometry import cell_spans, valid_cell_mask
from .valid_cell_convolution import valid_cell_pairs
from .winograd_convolution import WINOGRAD_MAX_KERNEL_SIZE, winograd_tables, winograd_transforms

__all__ = ["masked_conv_weights", "CandidateGrid"]


def masked_conv_weights(valid_mask: torch.Tensor, kernel_size: int, padding: int) -> torch.Tensor:
    """Re-weighting of a masked 2D conv: ``kernel_size**2 / (valid cells under the kernel)`` at valid cells, else 0.

    Args:
        valid_mask (torch.BoolTensor of shape (num_clips, num_clips)).

    Returns:
        torch.FloatTensor of shape (num_clips, num_clips): 1 where the whole kernel sees valid cells, larger at the
        map's borders and in its sparse regions, 0 at invalid cells.
    """
    mask = valid_mask.float()[None, None]
    counts = F.conv2d(mask, torch.ones(1, 1, kernel_size, kernel_size), padding=padding)[0, 0]
    area = float(kernel_size * kernel_size)
    return torch.where(valid_mask & (counts > 0), area / counts.clamp(min=1.0), torch.zeros_like(counts))


class CandidateGrid(nn.Module):
    """The (num_clips, num_clips) candidate grid of a config and the TAN's convolution tables over it.

    Its tensors are non-persistent buffers: they follow from the config, so they move with the model (``.to``) but
    are not saved with its weights. Every buffer is `compute_buffers`'s, the one place that builds them (the model's
    ``_init_weights`` refills them with it after `from_pretrained` has built the model without data).

    Buffers:
        valid_mask (torch.BoolTensor of shape (num_clips, num_clips)): the candidate cells.
        cell_start, cell_end (torch.FloatTensor of shape (num_clips, num_clips)): every cell's span as a fraction of
            the video, ``i / K`` and ``(j + 1) / K``.
        cell_index (torch.LongTensor of shape (num_valid_cells,)): flat index ``i * K + j`` of each valid cell,
            row-major: the packed layout of the map's pooling and of the valid-cell TAN (kept as a buffer, so no
            forward needs ``nonzero``, which would synchronise an accelerator).
        conv_cell_weights (torch.FloatTensor of shape (num_clips, num_clips)): the TAN's per-cell re-weighting
            (`masked_conv_weights` for ``tan_kernel_size`` and ``tan_padding``).
        conv_pair_targets, conv_pair_sources (torch.LongTensor of shape (num_pairs,)): the valid-cell convolution's
            (target, source) cell pairs (`valid_cell_pairs`); ``conv_offset_counts`` (tuple of int, a host
            attribute) counts them per kernel offset.
        winograd_input_transform, winograd_kernel_transform, winograd_output_transform (torch.DoubleTensor):
            ``B^T``, ``G`` and ``A^T`` of the Winograd TAN convolution (`winograd_transforms`; float64, so a float64
            model computes it exactly; the convolution casts them to its compute type);
            winograd_tile_gather, winograd_tile_output_index (torch.LongTensor): its tile tables over the grid
            (`winograd_tables`). Only for kernels up to `WINOGRAD_MAX_KERNEL_SIZE`.

    Example:
        >>> from dmr_jrg_hf import DMRJRGConfig
        >>> grid = CandidateGrid(DMRJRGConfig.from_preset("activitynet"))
        >>> tuple(grid.valid_mask.shape), int(grid.valid_mask.sum()), tuple(grid.cell_index.shape)
        ((32, 32), 428, (428,))
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.num_clips = config.num_clips
        self.map_scale_layers = list(config.map_scale_layers)
        self.kernel_size, self.padding = config.tan_kernel_size, config.tan_padding
        buffers, self.conv_offset_counts = self._build()
        for name, tensor in buffers.items():
            self.register_buffer(name, tensor, persistent=False)

    def _build(self) -> tuple[dict[str, torch.Tensor], tuple[int, ...]]:
        mask = valid_cell_mask(self.num_clips, self.map_scale_layers)
        start, end = cell_spans(self.num_clips)
        valid_mask = torch.from_numpy(mask)
        pairs = valid_cell_pairs(mask, self.kernel_size)
        buffers = {
            "valid_mask": valid_mask,
            "cell_start": torch.from_numpy(start.astype(np.float32)),
            "cell_end": torch.from_numpy(end.astype(np.float32)),
            "cell_index": pairs["cell_index"],
            "conv_cell_weights": masked_conv_weights(valid_mask, self.kernel_size, self.padding),
            "conv_pair_targets": pairs["pair_targets"],
            "conv_pair_sources": pairs["pair_sources"],
        }
        if self.kernel_size <= WINOGRAD_MAX_KERNEL_SIZE:
            transforms = winograd_transforms(self.kernel_size).items()
            buffers.update({f"winograd_{name}": matrix for name, matrix in transforms})  # float64: exact
            buffers.update(
                {f"winograd_{name}": table for name, table in winograd_tables(mask, self.kernel_size).items()}
            )
        return buffers, pairs["offset_counts"]

    def compute_buffers(self) -> dict[str, torch.Tensor]:
        """Every buffer of the grid, built from the config's values (see the class docstring)."""
        return self._build()[0]

    def pack_cells(self, maps: torch.Tensor) -> torch.Tensor:
        """(num_maps, channels, K, K) maps -> their valid cells, (num_cells, num_maps, channels), in ``cell_index``
        order: the packed layout of the valid-cell and Winograd TANs."""
        return maps.flatten(2).permute(2, 0, 1).index_select(0, self.cell_index)

    def unpack_cells(self, cells: torch.Tensor) -> torch.Tensor:
        """`pack_cells` reversed: (num_cells, num_maps, channels) -> (num_maps, channels, K, K), zero at the invalid
        cells."""
        num_maps, channels = cells.shape[1:]
        dense = cells.new_zeros(self.num_clips * self.num_clips, num_maps, channels).index_copy(
            0, self.cell_index, cells
        )
        return dense.permute(1, 2, 0).reshape(num_maps, channels, self.num_clips, self.num_clips)
