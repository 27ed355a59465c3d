"""2D convolution over the candidate-moment map evaluated at its valid cells only (the TAN of VTC-LD, paper §III-E).

A 2D-TAN map has valid cells only on and above the diagonal (and, for large K, on the sparse grid of DESIGN §2): a
dense convolution spends about half (K=16) to 60% (K=32, ActivityNet) of its work on cells whose output is thrown
away, and a quarter of the rest multiplies zeros. Here the map is packed to its valid cells, ``(num_cells, num_maps,
channels)`` (cells first, so gathering and adding cells moves contiguous ``num_maps x channels`` blocks), and the
convolution is a sum over the kernel offsets of one matrix product per offset, over exactly the (target cell, source
cell) pairs where both cells are valid. The result equals ``conv2d(x, weight, bias,
padding=(kernel_size - 1) // 2)`` read at the valid cells when ``x`` is zero at the invalid ones (which the TAN
guarantees), up to float summation order.
"""

from __future__ import annotations

import numpy as np
import torch

from ..precision import autocast_dtype, autocast_off

__all__ = ["valid_cell_pairs", "valid_cell_conv2d"]


def valid_cell_pairs(valid_mask: np.ndarray, kernel_size: int) -> dict[str, torch.Tensor | tuple[int, ...]]:
    """Index tables of a same-size ``kernel_size x kernel_size`` convolution over the valid cells of a grid.

    Args:
        valid_mask (np.ndarray of bool, shape (num_clips, num_clips)): the candidate grid (`geometry.valid_cell_mask`).
        kernel_size (int): odd kernel size.

    Returns:
        dict with ``cell_index`` (torch.LongTensor of shape (num_cells,)): flat index ``i * K + j`` of each valid cell,
        in row-major order, which is the packed layout; ``pair_targets`` and ``pair_sources`` (torch.LongTensor of
        shape (num_pairs,)): packed index of the output cell and of the input cell it reads, grouped by kernel offset
        (row-major over the kernel, like ``weight[:, :, a, b]``); ``offset_counts`` (tuple of kernel_size**2 ints):
        pairs per offset.
    """
    valid_mask = np.asarray(valid_mask, dtype=bool)
    num_clips = valid_mask.shape[0]
    rows, cols = np.nonzero(valid_mask)  # row-major, so slot n is the n-th valid cell of the flattened map
    slot = np.full(valid_mask.shape, -1, dtype=np.int64)
    slot[rows, cols] = np.arange(len(rows))
    half = (kernel_size - 1) // 2
    targets, sources, counts = [], [], []
    for a in range(-half, half + 1):
        for b in range(-half, half + 1):
            source_rows, source_cols = rows + a, cols + b
            inside = (source_rows >= 0) & (source_rows < num_clips) & (source_cols >= 0) & (source_cols < num_clips)
            source = np.full(len(rows), -1, dtype=np.int64)
            source[inside] = slot[source_rows[inside], source_cols[inside]]
            keep = source >= 0
            targets.append(np.nonzero(keep)[0])
            sources.append(source[keep])
            counts.append(int(keep.sum()))
    return {
        "cell_index": torch.from_numpy(rows * num_clips + cols),
        "pair_targets": torch.from_numpy(np.concatenate(targets)),
        "pair_sources": torch.from_numpy(np.concatenate(sources)),
        "offset_counts": tuple(counts),
    }


def _offset_matrices(weight: torch.Tensor) -> torch.Tensor:
    """(out, in, k, k) conv weight -> contiguous (k*k, out, in): one matrix per kernel offset, row-major."""
    out_channels, in_channels = weight.shape[:2]
    # one 2D transpose (a blocked copy) instead of a 4D permute with a stride-k*k innermost read
    return weight.reshape(out_channels * in_channels, -1).t().contiguous().view(-1, out_channels, in_channels)


def _weight_from_offsets(matrices: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Inverse of `_offset_matrices`: (k*k, out, in) -> contiguous (out, in, k, k)."""
    num_offsets, out_channels, in_channels = matrices.shape
    flat = matrices.view(num_offsets, -1).t().contiguous()  # (out*in, k*k)
    return flat.view(out_channels, in_channels, kernel_size, kernel_size)


class _ValidCellConvolution(torch.autograd.Function):
    """Forward and backward of `valid_cell_conv2d`; saves only its inputs (no im2col buffer).

    The centre offset pairs every cell with itself, so it needs no gather: it is one ``addmm`` (with the bias) that
    initialises the output; every other offset gathers its source cells, multiplies and adds into its target cells.
    """

    @staticmethod
    def forward(ctx, cells, weight, bias, targets, sources, offset_counts):
        dtype = autocast_dtype(cells)
        with autocast_off(cells.device.type):
            cells_c, weight_c = cells.to(dtype).contiguous(), weight.to(dtype)
            matrices = _offset_matrices(weight_c)  # (k*k, out, in)
            num_cells, num_maps, in_channels = cells_c.shape
            centre = len(offset_counts) // 2
            output = torch.addmm(bias.to(dtype), cells_c.view(-1, in_channels), matrices[centre].t())
            output = output.view(num_cells, num_maps, -1)  # (cells, maps, out)
            pairs = zip(targets.split(offset_counts), sources.split(offset_counts), strict=True)
            for offset, (target, source) in enumerate(pairs):
                if offset != centre:
                    output.index_add_(0, target, cells_c.index_select(0, source) @ matrices[offset].t())
        ctx.save_for_backward(cells_c, weight_c, targets, sources)
        ctx.offset_counts = offset_counts
        ctx.dtypes = (cells.dtype, weight.dtype, bias.dtype)
        return output

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        cells, weight, targets, sources = ctx.saved_tensors
        _, num_maps, in_channels = cells.shape
        grad_output = grad_output.to(cells.dtype).contiguous()
        grad_flat = grad_output.view(-1, grad_output.shape[-1])  # (cells*maps, out)
        matrices = _offset_matrices(weight)  # (k*k, out, in)
        centre = len(ctx.offset_counts) // 2
        need_cells, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_cells = (grad_flat @ matrices[centre]).view_as(cells) if need_cells else None
        grad_matrices = torch.empty_like(matrices) if need_weight else None
        if need_weight:
            torch.mm(grad_flat.t(), cells.view(-1, in_channels), out=grad_matrices[centre])
        pairs = zip(targets.split(ctx.offset_counts), sources.split(ctx.offset_counts), strict=True)
        for offset, (target, source) in enumerate(pairs):
            if offset == centre:
                continue
            grad_target = grad_output.index_select(0, target).view(-1, grad_output.shape[-1])  # (pairs*maps, out)
            if need_weight:
                source_cells = cells.index_select(0, source).view(-1, in_channels)
                torch.mm(grad_target.t(), source_cells, out=grad_matrices[offset])
            if need_cells:
                grad_cells.index_add_(0, source, (grad_target @ matrices[offset]).view(-1, num_maps, in_channels))
        cells_dtype, weight_dtype, bias_dtype = ctx.dtypes
        return (
            grad_cells.to(cells_dtype) if need_cells else None,
            _weight_from_offsets(grad_matrices, weight.shape[-1]).to(weight_dtype) if need_weight else None,
            grad_output.sum((0, 1)).to(bias_dtype) if need_bias else None,
            None,
            None,
            None,
        )


def valid_cell_conv2d(
    cells: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    pair_targets: torch.Tensor,
    pair_sources: torch.Tensor,
    offset_counts: tuple[int, ...],
) -> torch.Tensor:
    """A same-size 2D convolution of packed maps, computed at their valid cells only.

    Args:
        cells (torch.FloatTensor of shape (num_cells, num_maps, in_channels)): the maps packed to their valid cells
            (order of ``cell_index`` from `valid_cell_pairs`); the invalid cells count as zero.
        weight (torch.FloatTensor of shape (out_channels, in_channels, k, k)), bias (shape (out_channels,)): the
            parameters of an ``nn.Conv2d`` with padding ``(k - 1) // 2``.
        pair_targets, pair_sources, offset_counts: the tables of `valid_cell_pairs` for this grid and ``k``.

    Returns:
        torch.FloatTensor of shape (num_cells, num_maps, out_channels) (the autocast dtype under autocast).

    Example:
        >>> import numpy as np
        >>> import torch.nn.functional as F
        >>> mask = np.triu(np.ones((4, 4), dtype=bool))
        >>> tables = valid_cell_pairs(mask, kernel_size=3)
        >>> conv = torch.nn.Conv2d(2, 5, 3, padding=1)
        >>> maps = torch.randn(1, 2, 4, 4) * torch.from_numpy(mask)
        >>> packed = maps.flatten(2)[..., tables["cell_index"]].permute(2, 0, 1)  # (10 cells, 1 map, 2 channels)
        >>> out = valid_cell_conv2d(packed, conv.weight, conv.bias, tables["pair_targets"], tables["pair_sources"],
        ...                         tables["offset_counts"])
        >>> dense = conv(maps).flatten(2)[..., tables["cell_index"]].permute(2, 0, 1)
        >>> bool(torch.allclose(out, dense, atol=1e-6))
        True
    """
    return _ValidCellConvolution.apply(cells, weight, bias, pair_targets, pair_sources, offset_counts)
