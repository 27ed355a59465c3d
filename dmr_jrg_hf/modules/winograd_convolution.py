"""Winograd minimal-filtering convolution over the valid cells of a candidate-moment map (the TAN of VTC-LD, §III-E).

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016): ``F(m x m, r x r)`` computes an
``m x m`` block of a ``r x r`` convolution from an ``a x a`` input tile (``a = m + r - 1``) as

    Y = A^T [(G g G^T) ⊙ (B^T d B)] A,

so every block costs ``a^2`` products per (input, output) channel pair instead of ``m^2 r^2``; across channels the
``⊙`` becomes one matrix product per tile position, which is where the work is. For the TAN's kernel 5 (Charades-STA,
TACoS) ``F(4x4, 5x5)`` does 64 products per 16 outputs instead of 400, and only the tiles that hold a valid cell are
computed (10 of the 16 tiles of a K=16 map): 4.1x fewer multiply-adds than the valid-cell convolution
(`valid_cell_conv2d`), whose work is the (target, source) pairs of valid cells.

Layout: the map is packed to its valid cells, ``(num_cells, num_maps, channels)``, as for `valid_cell_conv2d`. One
gather builds the ``a x a`` input tiles (cells outside the map or not valid read a zero row: the TAN keeps invalid
cells at zero, so this is the dense convolution), and one gather reads the valid cells back out of the output tiles.
Every step is a standard differentiable operator (gathers, matrix products), so autograd gives the backward pass, which
has the same 4x fewer products, and ``torch.compile`` traces it without graph breaks.

Accuracy: the transforms multiply by powers of 2 and 1/2 (up to 2^4 for kernel 5) and add terms of opposite sign, so
float32 results carry a rounding error about thirty times that of a direct convolution (measured at hidden 128, kernel
5: 8e-6 of the outputs' largest magnitude, against 2e-7); in float64 it equals the direct convolution to 1e-12.
Low-precision types would multiply that error: the convolution always computes in float32 or wider, also under
autocast.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import torch

from ..precision import autocast_off

__all__ = [
    "WINOGRAD_MAX_KERNEL_SIZE",
    "winograd_output_size",
    "winograd_transforms",
    "winograd_tables",
    "winograd_conv2d",
]

# Interpolation points of the Toom-Cook construction, besides the point at infinity: the well-conditioned set of
# Lavin & Gray for tiles up to 8 x 8.
INTERPOLATION_POINTS = (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5)
WINOGRAD_MAX_TILE_SIZE = len(INTERPOLATION_POINTS) + 1
MAX_OUTPUT_SIZE = 4
WINOGRAD_MAX_KERNEL_SIZE = WINOGRAD_MAX_TILE_SIZE - 1  # at least 2 x 2 outputs per 8 x 8 tile


def winograd_output_size(kernel_size: int) -> int:
    """m, the side of the output block a tile computes: 4 where an 8 x 8 tile allows it (kernel <= 5; blocks of 4 tile
    the 8- and 16-clip maps, and larger tiles round more), else ``9 - kernel_size`` (2 for kernel 7)."""
    if not 1 <= kernel_size <= WINOGRAD_MAX_KERNEL_SIZE:
        raise ValueError(
            f"the Winograd convolution takes kernels of 1 to {WINOGRAD_MAX_KERNEL_SIZE}, got {kernel_size}"
        )
    return min(MAX_OUTPUT_SIZE, WINOGRAD_MAX_TILE_SIZE - kernel_size + 1)


def winograd_transforms(kernel_size: int) -> dict[str, torch.Tensor]:
    """The matrices ``B^T``, ``G`` and ``A^T`` of ``F(m x m, r x r)`` for ``r = kernel_size`` (float64).

    Toom-Cook: with points ``p_0..p_{a-2}`` and infinity, ``A^T[i, j] = p_j^i`` and ``G[j, k] = p_j^k`` (the point
    at infinity takes the highest power only). ``B^T`` is then the unique matrix with
    ``Σ_j A^T[i, j] G[j, k] B^T[j, l] = [l == i + k]`` for every output i, tap k and input l, which is what makes
    ``y_i = Σ_k g_k d_{i+k}`` hold for every ``g`` and ``d``: solved here column by column and checked exact.

    Returns:
        dict with ``input_transform`` ``B^T`` (shape (a, a)), ``kernel_transform`` ``G`` (shape (a, r)) and
        ``output_transform`` ``A^T`` (shape (m, a)).
    """
    outputs = winograd_output_size(kernel_size)
    tile = outputs + kernel_size - 1
    points = np.array(INTERPOLATION_POINTS[: tile - 1])
    output_transform = np.zeros((outputs, tile))
    output_transform[:, :-1] = points[None] ** np.arange(outputs)[:, None]
    output_transform[-1, -1] = 1.0
    kernel_transform = np.zeros((tile, kernel_size))
    kernel_transform[:-1] = points[:, None] ** np.arange(kernel_size)[None]
    kernel_transform[-1, -1] = 1.0
    # system[(i, k), j] = A^T[i, j] G[j, k]; target[(i, k), l] = [l == i + k]
    system = (output_transform[:, None, :] * kernel_transform.T[None]).reshape(outputs * kernel_size, tile)
    taps = np.arange(outputs)[:, None] + np.arange(kernel_size)[None]  # (m, r): input index i + k
    target = (taps.reshape(-1, 1) == np.arange(tile)[None]).astype(np.float64)  # (m*r, a)
    input_transform = np.linalg.lstsq(system, target, rcond=None)[0]  # (a, a): column l is B^T[:, l]
    # the exact entries are small rationals (2/9, 17/18, 1/180, ...): drop the solver's 1e-15 noise
    input_transform = np.vectorize(lambda value: float(Fraction(value).limit_denominator(1 << 16)))(input_transform)
    residual = np.abs(system @ input_transform - target).max()
    if residual > 1e-12:
        raise ArithmeticError(f"no exact Winograd input transform for kernel {kernel_size} (residual {residual:.1e})")
    return {
        "input_transform": torch.from_numpy(input_transform),
        "kernel_transform": torch.from_numpy(kernel_transform),
        "output_transform": torch.from_numpy(output_transform),
    }


def winograd_tables(valid_mask: np.ndarray, kernel_size: int) -> dict[str, torch.Tensor]:
    """Index tables of a same-size ``kernel_size x kernel_size`` Winograd convolution over the valid cells of a grid.

    The map is cut into ``m x m`` output blocks (`winograd_output_size`); the blocks that hold a valid cell are the
    tiles, in row-major order.

    Args:
        valid_mask (np.ndarray of bool, shape (num_clips, num_clips)): the candidate grid.
        kernel_size (int): odd kernel size, at most `WINOGRAD_MAX_KERNEL_SIZE`.

    Returns:
        dict with ``tile_gather`` (torch.LongTensor of shape (a * a * num_tiles,)): for input tile position (u, v) of
        tile t, at ``(u * a + v) * num_tiles + t``, the packed index of the cell it reads, or ``num_cells`` (a zero
        row) outside the map or at an invalid cell; ``tile_output_index`` (torch.LongTensor of shape (num_cells,)):
        for every valid cell in packed order, its place ``(i * m + j) * num_tiles + t`` among the output blocks.
    """
    valid_mask = np.asarray(valid_mask, dtype=bool)
    num_clips = valid_mask.shape[0]
    outputs = winograd_output_size(kernel_size)
    tile = outputs + kernel_size - 1
    rows, cols = np.nonzero(valid_mask)  # packed order
    slot = np.full((num_clips, num_clips), len(rows), dtype=np.int64)  # len(rows): the zero row
    slot[rows, cols] = np.arange(len(rows))
    half = (kernel_size - 1) // 2
    blocks_per_side = -(-num_clips // outputs)
    cell_block = (rows // outputs) * blocks_per_side + cols // outputs
    blocks = np.unique(cell_block)  # the blocks that hold a valid cell, row-major: the tiles
    tile_of_block = np.full(blocks_per_side * blocks_per_side, -1, dtype=np.int64)
    tile_of_block[blocks] = np.arange(len(blocks))
    offsets = np.arange(tile)
    source_rows = (blocks // blocks_per_side * outputs - half)[None, None] + offsets[:, None, None]  # (a, 1, T)
    source_cols = (blocks % blocks_per_side * outputs - half)[None, None] + offsets[None, :, None]  # (1, a, T)
    source_rows, source_cols = np.broadcast_arrays(source_rows, source_cols)  # (a, a, T)
    inside = (source_rows >= 0) & (source_rows < num_clips) & (source_cols >= 0) & (source_cols < num_clips)
    gather = np.full(source_rows.shape, len(rows), dtype=np.int64)
    gather[inside] = slot[source_rows[inside], source_cols[inside]]
    block_position = (rows % outputs) * outputs + cols % outputs  # (num_cells,)
    return {
        "tile_gather": torch.from_numpy(gather.reshape(-1)),
        "tile_output_index": torch.from_numpy(block_position * len(blocks) + tile_of_block[cell_block]),
    }


def winograd_conv2d(
    cells: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    input_transform: torch.Tensor,
    kernel_transform: torch.Tensor,
    output_transform: torch.Tensor,
    tile_gather: torch.Tensor,
    tile_output_index: torch.Tensor,
) -> torch.Tensor:
    """A same-size 2D convolution of packed maps by Winograd's minimal filtering, at their valid cells only.

    Args:
        cells (torch.FloatTensor of shape (num_cells, num_maps, in_channels)): the maps packed to their valid cells
            (order of ``cell_index`` of `valid_cell_convolution.valid_cell_pairs`); the invalid cells count as zero.
        weight (torch.FloatTensor of shape (out_channels, in_channels, k, k)), bias (shape (out_channels,)): the
            parameters of an ``nn.Conv2d`` with padding ``(k - 1) // 2``.
        input_transform, kernel_transform, output_transform: ``B^T``, ``G`` and ``A^T`` of `winograd_transforms`.
        tile_gather, tile_output_index: the tables of `winograd_tables` for this grid and ``k``.

    Returns:
        torch.FloatTensor of shape (num_cells, num_maps, out_channels): float32, or the inputs' type if wider.

    Example:
        >>> import numpy as np
        >>> import torch.nn.functional as F
        >>> from dmr_jrg_hf.modules.valid_cell_convolution import valid_cell_pairs
        >>> mask = np.triu(np.ones((8, 8), dtype=bool))
        >>> index = valid_cell_pairs(mask, kernel_size=5)["cell_index"]
        >>> conv = torch.nn.Conv2d(2, 3, 5, padding=2)
        >>> maps = torch.randn(1, 2, 8, 8) * torch.from_numpy(mask)
        >>> packed = maps.flatten(2)[..., index].permute(2, 0, 1)  # (36 cells, 1 map, 2 channels)
        >>> tables = winograd_tables(mask, kernel_size=5)
        >>> out = winograd_conv2d(packed, conv.weight, conv.bias, **winograd_transforms(5), **tables)
        >>> dense = conv(maps).flatten(2)[..., index].permute(2, 0, 1)
        >>> bool(torch.allclose(out, dense, atol=1e-5))
        True
    """
    if input_transform.dtype not in (torch.float32, torch.float64):
        raise ValueError(
            f"the Winograd transforms are {input_transform.dtype}, which rounds their entries: keep the model in "
            f"float32 (autocast gives bfloat16 elsewhere) or set tan_implementation='valid_cells'"
        )
    dtype = torch.promote_types(cells.dtype, torch.float32)
    with autocast_off(cells.device.type):
        input_transform, kernel_transform, output_transform = (
            t.to(dtype) for t in (input_transform, kernel_transform, output_transform)
        )
        tile, outputs, kernel_size = input_transform.shape[0], output_transform.shape[0], weight.shape[-1]
        _, num_maps, in_channels = cells.shape
        out_channels = weight.shape[0]
        padded = torch.cat([cells.to(dtype), cells.new_zeros(1, num_maps, in_channels, dtype=dtype)])  # + zero row
        tiles = padded.index_select(0, tile_gather).view(tile, -1)  # d: (a, a * tiles * maps * in)
        tiles = torch.matmul(input_transform, (input_transform @ tiles).view(tile, tile, -1))  # B^T d B
        kernel = weight.to(dtype).permute(2, 3, 1, 0).reshape(kernel_size, -1)  # g: (k, k * in * out)
        kernel = torch.matmul(kernel_transform, (kernel_transform @ kernel).view(tile, kernel_size, -1))  # G g G^T
        products = torch.bmm(  # one (tiles * maps, in) x (in, out) product per tile position
            tiles.view(tile * tile, -1, in_channels), kernel.view(tile * tile, in_channels, out_channels)
        )
        blocks = output_transform @ products.view(tile, -1)  # A^T M A: (m, a * tiles * maps * out) ...
        blocks = torch.matmul(output_transform, blocks.view(outputs, tile, -1))  # ... (m, m, tiles * maps * out)
        output = blocks.view(-1, num_maps, out_channels).index_select(0, tile_output_index)
        return output + bias.to(dtype)
