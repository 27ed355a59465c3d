from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_packed_convolution_equals_conv2d

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.errors import ConfigError
from dmr_jrg_hf.geometry import valid_cell_mask
from dmr_jrg_hf.modules.candidate_grid import CandidateGrid
from dmr_jrg_hf.modules.winograd_convolution import (
    WINOGRAD_MAX_KERNEL_SIZE,
    winograd_conv2d,
    winograd_output_size,
    winograd_tables,
    winograd_transforms,
)

# (num_clips, map_scale_layers, kernel_size): the presets' grids and a sparse one, a map side that is not a multiple
# of the output block, and the largest kernel
GRIDS = {
    "charades K=16 k=5": (16, [16], 5),
    "tiny K=8 k=3": (8, [8], 3),
    "sparse K=16 k=5": (16, [4, 2, 2], 5),
    "K=10 k=7": (10, [10], 7),
}


@pytest.mark.parametrize("kernel_size", range(1, WINOGRAD_MAX_KERNEL_SIZE + 1, 2))
def test_the_transforms_compute_a_1d_correlation_exactly(kernel_size):
    transforms = winograd_transforms(kernel_size)
    input_transform, kernel_transform, output_transform = (
        transforms[name] for name in ("input_transform", "kernel_transform", "output_transform")
    )
    outputs = winograd_output_size(kernel_size)
    assert input_transform.shape == (outputs + kernel_size - 1,) * 2
    generator = torch.Generator().manual_seed(kernel_size)
    kernel = torch.randn(kernel_size, generator=generator, dtype=torch.float64)
    signal = torch.randn(outputs + kernel_size - 1, generator=generator, dtype=torch.float64)
    winograd = output_transform @ ((kernel_transform @ kernel) * (input_transform @ signal))
    direct = torch.stack([signal[i : i + kernel_size] @ kernel for i in range(outputs)])
    torch.testing.assert_close(winograd, direct, atol=1e-12, rtol=0)


def test_output_blocks_are_four_wide_where_an_8x8_tile_allows():
    assert [winograd_output_size(k) for k in (1, 3, 5, 7)] == [4, 4, 4, 2]
    with pytest.raises(ValueError, match="kernels of 1 to 7"):
        winograd_output_size(9)


def test_tables_hand_computed_on_a_4x4_map():
    mask = np.triu(np.ones((4, 4), dtype=bool))  # 10 valid cells, one 4x4 output block (kernel 3: 6x6 tiles)
    tables = winograd_tables(mask, kernel_size=3)
    gather = tables["tile_gather"].view(6, 6)
    zero_row = 10
    assert (gather[0] == zero_row).all() and (gather[:, 0] == zero_row).all(), "the padding reads the zero row"
    assert gather[1, 1:5].tolist() == [0, 1, 2, 3], "map row 0: cells (0,0)..(0,3)"
    assert gather[2, 1:5].tolist() == [zero_row, 4, 5, 6], "(1,0) is below the diagonal: not valid"
    assert tables["tile_output_index"].tolist() == [0, 1, 2, 3, 5, 6, 7, 10, 11, 15], "cell (i, j) at i * 4 + j"


@pytest.mark.parametrize("grid", list(GRIDS))
def test_every_valid_cell_is_read_back_from_exactly_one_tile(grid):
    num_clips, scale_layers, kernel_size = GRIDS[grid]
    mask = valid_cell_mask(num_clips, scale_layers)
    tables = winograd_tables(mask, kernel_size)
    output_index = tables["tile_output_index"]
    assert len(output_index) == mask.sum() and len(set(output_index.tolist())) == len(output_index)
    tile = winograd_output_size(kernel_size) + kernel_size - 1
    num_tiles = len(tables["tile_gather"]) // (tile * tile)
    assert output_index.max() < winograd_output_size(kernel_size) ** 2 * num_tiles


@pytest.mark.parametrize("grid", list(GRIDS))
def test_winograd_conv_equals_dense_conv_with_gradients(grid):
    num_clips, scale_layers, kernel_size = GRIDS[grid]
    transforms = winograd_transforms(kernel_size)
    tables = winograd_tables(valid_cell_mask(num_clips, scale_layers), kernel_size)

    def convolve(cells, weight, bias):
        return winograd_conv2d(cells, weight, bias, **transforms, **tables)

    assert_packed_convolution_equals_conv2d(convolve, num_clips, scale_layers, kernel_size, grid)


def _float32_case(hidden_size: int = 64):
    """A Charades-STA TAN layer in float32 (He-initialised, ReLU inputs) and its float64 dense reference."""
    config = DMRJRGConfig.from_preset("charades", hidden_size=hidden_size)
    grid = CandidateGrid(config)
    generator = torch.Generator().manual_seed(0)
    cells = torch.relu(torch.randn(len(grid.cell_index), 4, hidden_size, generator=generator))
    conv = torch.nn.Conv2d(hidden_size, hidden_size, 5, padding=2)
    torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu", generator=generator)
    dense = cells.new_zeros(16 * 16, 4, hidden_size, dtype=torch.float64).index_copy(
        0, grid.cell_index, cells.double()
    )
    dense = dense.permute(1, 2, 0).reshape(4, hidden_size, 16, 16)
    reference = conv.double()(dense).flatten(2)[..., grid.cell_index].permute(2, 0, 1)
    arguments = (
        grid.winograd_input_transform,
        grid.winograd_kernel_transform,
        grid.winograd_output_transform,
        grid.winograd_tile_gather,
        grid.winograd_tile_output_index,
    )
    return cells, conv.float(), arguments, reference


def test_float32_rounding_stays_within_a_few_millionths_of_the_outputs_scale():
    cells, conv, arguments, reference = _float32_case()
    output = winograd_conv2d(cells, conv.weight, conv.bias, *arguments)
    assert output.dtype == torch.float32
    relative_error = (output.double() - reference).abs().max() / reference.abs().max()
    assert relative_error < 5e-5, f"float32 Winograd error {relative_error:.1e} of the largest output"


def test_under_bf16_autocast_the_convolution_still_computes_in_float32():
    cells, conv, arguments, _ = _float32_case()
    reference = winograd_conv2d(cells, conv.weight, conv.bias, *arguments)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = winograd_conv2d(cells.bfloat16(), conv.weight, conv.bias, *arguments)
    assert output.dtype == torch.float32
    torch.testing.assert_close(output, reference, atol=0.05, rtol=0.02)  # only the inputs were rounded to bf16


def test_half_precision_transforms_are_refused():
    cells, conv, arguments, _ = _float32_case()
    rounded = (arguments[0].bfloat16(), *arguments[1:])
    with pytest.raises(ValueError, match="tan_implementation='valid_cells'"):
        winograd_conv2d(cells, conv.weight, conv.bias, *rounded)


def test_the_config_refuses_winograd_for_kernels_it_does_not_take():
    with pytest.raises(ConfigError, match="kernels up to 7"):
        DMRJRGConfig.from_preset("activitynet", tan_implementation="winograd")  # kernel 9
    assert "winograd_tile_gather" not in dict(CandidateGrid(DMRJRGConfig.from_preset("activitynet")).named_buffers())
