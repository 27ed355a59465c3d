"""Temporal Adjacent Network and the moment score head of VTC-LD (paper §III-E, after Eq. 8; 2D-TAN)."""

from __future__ import annotations

import functools

import torch
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from .candidate_grid import CandidateGrid
from .valid_cell_convolution import valid_cell_conv2d
from .winograd_convolution import WINOGRAD_MAX_KERNEL_SIZE, winograd_conv2d

__all__ = [
    "PACKED_MIN_HIDDEN_SIZE",
    "VALID_CELLS_MIN_HIDDEN_SIZE",
    "cpu_tan_implementation",
    "TemporalAdjacentNetwork",
    "MomentScoreHead",
]

# On a CPU, the "auto" settings pack VTC-LD from this width up: the Winograd TAN over the map's valid cells and the
# packed reconstructor, each faster there than `nn.Conv2d` over the whole map and the padded reconstructor (README,
# "Performance"). The valid-cell convolution, for kernels Winograd does not take, from the second width up.
PACKED_MIN_HIDDEN_SIZE = 32
VALID_CELLS_MIN_HIDDEN_SIZE = 128


def cpu_tan_implementation(config: DMRJRGConfig) -> str:
    """What ``tan_implementation="auto"`` runs on a CPU: "winograd" from `PACKED_MIN_HIDDEN_SIZE` up for kernels up
    to `WINOGRAD_MAX_KERNEL_SIZE`, "valid_cells" from `VALID_CELLS_MIN_HIDDEN_SIZE` up for larger kernels, else
    "dense"."""
    if config.tan_kernel_size <= WINOGRAD_MAX_KERNEL_SIZE:
        return "winograd" if config.hidden_size >= PACKED_MIN_HIDDEN_SIZE else "dense"
    return "valid_cells" if config.hidden_size >= VALID_CELLS_MIN_HIDDEN_SIZE else "dense"


def _valid_cell_convolution(layer: nn.Conv2d, grid: CandidateGrid, cells: torch.Tensor) -> torch.Tensor:
    targets, sources, counts = grid.conv_pair_targets, grid.conv_pair_sources, grid.conv_offset_counts
    return valid_cell_conv2d(cells, layer.weight, layer.bias, targets, sources, counts)


def _winograd_convolution(layer: nn.Conv2d, grid: CandidateGrid, cells: torch.Tensor) -> torch.Tensor:
    transforms = grid.winograd_input_transform, grid.winograd_kernel_transform, grid.winograd_output_transform
    tables = grid.winograd_tile_gather, grid.winograd_tile_output_index
    return winograd_conv2d(cells, layer.weight, layer.bias, *transforms, *tables)


# the convolutions over a map packed to its valid cells, (num_cells, num_maps, channels)
PACKED_CONVOLUTIONS = {"valid_cells": _valid_cell_convolution, "winograd": _winograd_convolution}


class TemporalAdjacentNetwork(nn.Module):
    """TAN of VTC-LD (§III-E): ``tan_num_layers`` masked conv layers over the fused map ``F~_m`` -> ``F-_m``.

    As in 2D-TAN's ``MapConv``, each layer is ``relu(conv(x))`` times a per-cell weight that compensates for the
    invalid cells under the kernel at the map's borders and in its sparse regions (`masked_conv_weights`). The weights
    and the tables of the packed convolutions come from the model's `CandidateGrid`, passed to `forward`.

    Every output at an invalid cell is multiplied by 0 and every input there is 0, so the convolutions can run on the
    map packed to its valid cells: ``tan_implementation="valid_cells"`` sums one matrix product per kernel offset over
    the valid (target, source) pairs (`valid_cell_conv2d`: about half the dense work at K=16, less on sparse K=32
    maps); ``"winograd"`` computes 4x4 output blocks by Winograd's minimal filtering (`winograd_conv2d`: another 4x
    fewer products at kernel 5, float32 rounding about thirty times a direct convolution's; kernels up to
    `WINOGRAD_MAX_KERNEL_SIZE`). ``"dense"`` runs ``nn.Conv2d`` over the whole map, which wins for narrow models;
    ``"auto"`` (default) picks `cpu_tan_implementation` on a CPU, and "dense" for maps on an accelerator, where a
    step is bound by kernel launches rather than FLOPs.

    Note:
        2D-TAN weighs by ``1 / count``; this weighs by ``kernel_size**2 / count`` (partial-convolution scaling). The
        two differ by a constant factor per layer, which the conv weights absorb (ReLU is positively homogeneous), so
        the function class is the same; this one keeps the signal's scale through the layers, and the convs get He
        initialisation, so the score map does not start flat. 2D-TAN also lets the mask grow by the kernel at every
        layer; here it stays the valid-cell mask, so invalid cells are zero after every layer and never feed a valid
        one (the weights are computed once, by `CandidateGrid`).
    """

    gradient_checkpointing = False  # switched by `DMRJRGModel.activation_checkpointing_enable` (transformers)

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.implementation = config.tan_implementation
        if self.implementation == "auto":
            self.implementation = cpu_tan_implementation(config)
            self.implementation_on_accelerators = "dense"
        else:
            self.implementation_on_accelerators = self.implementation
        self.layers = nn.ModuleList(
            nn.Conv2d(config.hidden_size, config.hidden_size, config.tan_kernel_size, padding=config.tan_padding)
            for _ in range(config.tan_num_layers)
        )

    def _dense_layer(self, layer: nn.Conv2d, grid: CandidateGrid, hidden: torch.Tensor) -> torch.Tensor:
        return torch.relu(layer(hidden)) * grid.conv_cell_weights

    def _packed_layer(
        self, implementation: str, layer: nn.Conv2d, grid: CandidateGrid, cells: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        return torch.relu(PACKED_CONVOLUTIONS[implementation](layer, grid, cells)) * weights

    def packed_implementation(self, device: torch.device) -> str | None:
        """The packed convolution ("valid_cells" or "winograd") the TAN runs on ``device``, or None for "dense"."""
        implementation = self.implementation if device.type == "cpu" else self.implementation_on_accelerators
        return implementation if implementation in PACKED_CONVOLUTIONS else None

    def _run_layer(self, function, *args) -> torch.Tensor:
        """``function(*args)``, recomputed in the backward pass under activation checkpointing (`forward`)."""
        if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
            return self._gradient_checkpointing_func(function, *args)
        return function(*args)

    def forward(self, fused_map: torch.Tensor, grid: CandidateGrid) -> torch.Tensor:
        """(num_maps, hidden_size, num_clips, num_clips) -> same shape, zero at invalid cells.

        With activation checkpointing on (`DMRJRGModel.activation_checkpointing_enable`, the trainer's
        ``gradient_checkpointing``), each layer keeps only its input for the backward pass and is recomputed there.

        Args:
            fused_map (torch.FloatTensor of shape (num_maps, hidden_size, num_clips, num_clips)): ``F~_m`` (Eq. 8).
            grid (CandidateGrid): the model's grid (valid cells, per-cell weights, tables of the packed convolutions).
        """
        if self.packed_implementation(fused_map.device) is not None:
            return grid.unpack_cells(self.forward_cells(grid.pack_cells(fused_map), grid))
        hidden = fused_map
        for layer in self.layers:
            hidden = self._run_layer(functools.partial(self._dense_layer, layer, grid), hidden)
        return hidden

    def forward_cells(self, cells: torch.Tensor, grid: CandidateGrid) -> torch.Tensor:
        """`forward` on maps packed to their valid cells (`CandidateGrid.pack_cells`), with the packed convolution
        `packed_implementation` gives for their device.

        Args:
            cells (torch.FloatTensor of shape (num_cells, num_maps, hidden_size)): ``F~_m`` at the valid cells.

        Returns:
            torch.FloatTensor of shape (num_cells, num_maps, hidden_size).
        """
        implementation = self.packed_implementation(cells.device)
        if implementation is None:
            raise ValueError(f"the TAN runs 'dense' on {cells.device.type}, not on packed cells")
        cell_weights = grid.conv_cell_weights.flatten()[grid.cell_index, None, None]  # (num_cells, 1, 1)
        for layer in self.layers:
            layer_function = functools.partial(self._packed_layer, implementation, layer, grid)
            cells = self._run_layer(layer_function, cells, cell_weights)
        return cells


class MomentScoreHead(nn.Module):
    """Prediction layer PL (§III-E; BTSE's PL^f, PL^r of Eq. 18-19): a 1x1 conv to one score per cell.

    Returns logits; ``P = sigmoid(logits)`` is the score map (losses use the logits for numerical stability).
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.projection = nn.Conv2d(config.hidden_size, 1, kernel_size=1)

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        """(..., hidden_size, num_clips, num_clips) -> logits (..., num_clips, num_clips)."""
        leading = feature_map.shape[:-3]
        flat = feature_map.reshape(-1, *feature_map.shape[-3:])  # (num_maps, hidden_size, K, K)
        return self.projection(flat).reshape(*leading, *feature_map.shape[-2:])  # (..., K, K)

    def channel_sum(self, feature_map: torch.Tensor) -> torch.Tensor:
        """The logits without the bias, ``Σ_c w_c F[c]``: (..., hidden_size, K, K) -> (..., K, K).

        The layer is linear in the features, so ``PL(F ⊙ g) = g · channel_sum(F) + bias`` for a per-cell gate ``g``
        (BTSE's recurrence computes the sum once for every sentence and applies the gates afterwards).
        """
        leading = feature_map.shape[:-3]
        flat = feature_map.reshape(-1, *feature_map.shape[-3:])  # (num_maps, hidden_size, K, K)
        summed = torch.nn.functional.conv2d(flat, self.projection.weight)  # (num_maps, 1, K, K)
        return summed.reshape(*leading, *feature_map.shape[-2:])  # (..., K, K)
