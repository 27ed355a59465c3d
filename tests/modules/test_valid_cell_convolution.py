from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_packed_convolution_equals_conv2d

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.geometry import valid_cell_mask
from dmr_jrg_hf.modules.candidate_grid import CandidateGrid
from dmr_jrg_hf.modules.temporal_adjacent_network import (
    PACKED_MIN_HIDDEN_SIZE,
    VALID_CELLS_MIN_HIDDEN_SIZE,
    TemporalAdjacentNetwork,
)
from dmr_jrg_hf.modules.valid_cell_convolution import valid_cell_conv2d, valid_cell_pairs

GRIDS = {"dense K=8": (8, [8], 3), "sparse K=16": (16, [4, 2, 2], 5)}


def test_pair_tables_hand_computed():
    tables = valid_cell_pairs(np.triu(np.ones((3, 3), dtype=bool)), kernel_size=3)
    # valid cells in packed order: (0,0) (0,1) (0,2) (1,1) (1,2) (2,2)
    assert tables["cell_index"].tolist() == [0, 1, 2, 4, 5, 8]
    counts = tables["offset_counts"]
    assert len(counts) == 9 and counts[4] == 6, "centre offset: every cell reads itself"
    centre = slice(sum(counts[:4]), sum(counts[:5]))
    assert tables["pair_targets"][centre].tolist() == tables["pair_sources"][centre].tolist() == list(range(6))
    # offset (-1, -1): cells whose up-left neighbour is valid: (1,1)<-(0,0), (1,2)<-(0,1), (2,2)<-(1,1)
    first = slice(0, counts[0])
    assert tables["pair_targets"][first].tolist() == [3, 4, 5]
    assert tables["pair_sources"][first].tolist() == [0, 1, 3]
    assert sum(counts) == len(tables["pair_targets"]) == len(tables["pair_sources"])


@pytest.mark.parametrize("grid", list(GRIDS), ids=str)
def test_valid_cell_conv_equals_dense_conv_with_gradients(grid):
    num_clips, scale_layers, kernel_size = GRIDS[grid]
    tables = valid_cell_pairs(valid_cell_mask(num_clips, scale_layers), kernel_size)
    pairs = (tables["pair_targets"], tables["pair_sources"], tables["offset_counts"])

    def convolve(cells, weight, bias):
        return valid_cell_conv2d(cells, weight, bias, *pairs)

    assert_packed_convolution_equals_conv2d(convolve, num_clips, scale_layers, kernel_size, grid)


def test_valid_cell_conv_follows_bf16_autocast_and_returns_input_dtype_gradients():
    mask = valid_cell_mask(8, [8])
    tables = valid_cell_pairs(mask, 3)
    cells = torch.randn(len(tables["cell_index"]), 2, 4, requires_grad=True)
    conv = torch.nn.Conv2d(4, 4, 3, padding=1)
    args = (tables["pair_targets"], tables["pair_sources"], tables["offset_counts"])
    reference = valid_cell_conv2d(cells, conv.weight, conv.bias, *args)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = valid_cell_conv2d(cells, conv.weight, conv.bias, *args)
    assert output.dtype == torch.bfloat16
    torch.testing.assert_close(output.float(), reference, atol=0.1, rtol=0.05)
    output.float().sum().backward()
    assert cells.grad.dtype == torch.float32 and conv.weight.grad.dtype == torch.float32


@pytest.mark.parametrize("implementation", ["valid_cells", "winograd"])
@pytest.mark.parametrize("grid", list(GRIDS), ids=str)
def test_packed_tan_equals_dense_tan(grid, implementation):
    num_clips, scale_layers, kernel_size = GRIDS[grid]
    overrides = {"num_clips": num_clips, "map_scale_layers": scale_layers, "tan_kernel_size": kernel_size}
    overrides["tan_padding"] = kernel_size // 2
    config = DMRJRGConfig.from_preset("tiny", tan_implementation=implementation, **overrides)
    fast, grid = TemporalAdjacentNetwork(config).double(), CandidateGrid(config).double()
    dense = TemporalAdjacentNetwork(config.with_overrides(tan_implementation="dense")).double()
    dense.load_state_dict(fast.state_dict())
    mask = grid.valid_mask
    maps = torch.randn(4, 16, num_clips, num_clips, dtype=torch.float64) * mask
    outputs, grads = [], []
    for tan in (fast, dense):
        inputs = maps.clone().requires_grad_()
        output = tan(inputs, grid)
        (output * torch.linspace(-1, 1, output.numel(), dtype=torch.float64).view_as(output)).sum().backward()
        outputs.append(output)
        # only valid cells of the input matter: the fused map is zero (and cut from the graph) at the others
        grads.append([inputs.grad * mask] + [p.grad for p in tan.parameters()])
    torch.testing.assert_close(outputs[0], outputs[1], msg=f"{grid}: TAN outputs")
    assert (outputs[0][..., ~mask] == 0).all(), f"{grid}: invalid cells stay zero"
    for fast_grad, dense_grad in zip(*grads, strict=True):
        torch.testing.assert_close(fast_grad, dense_grad, msg=f"{grid}: TAN gradients")


def test_auto_tan_implementation_follows_the_model_width_and_kernel():
    narrow = DMRJRGConfig.from_preset("tiny", hidden_size=PACKED_MIN_HIDDEN_SIZE - 2)
    wide = DMRJRGConfig.from_preset("tiny", hidden_size=PACKED_MIN_HIDDEN_SIZE)
    kernel_9 = {"tan_kernel_size": 9, "tan_padding": 4}
    assert narrow.tan_implementation == wide.tan_implementation == "auto"
    assert TemporalAdjacentNetwork(narrow).implementation == "dense"
    assert TemporalAdjacentNetwork(wide).implementation == "winograd"
    assert TemporalAdjacentNetwork(wide.with_overrides(**kernel_9)).implementation == "dense", "beyond Winograd's"
    widest_kernel_9 = wide.with_overrides(hidden_size=VALID_CELLS_MIN_HIDDEN_SIZE, **kernel_9)
    assert TemporalAdjacentNetwork(widest_kernel_9).implementation == "valid_cells"
    assert TemporalAdjacentNetwork(wide).implementation_on_accelerators == "dense", "launch-bound: few operators"
    fixed = DMRJRGConfig.from_preset("tiny", tan_implementation="valid_cells")
    assert TemporalAdjacentNetwork(fixed).implementation_on_accelerators == "valid_cells", "an explicit choice holds"


def test_auto_tan_runs_dense_on_an_accelerator(monkeypatch):
    config = DMRJRGConfig.from_preset("tiny", hidden_size=PACKED_MIN_HIDDEN_SIZE)
    tan, grid = TemporalAdjacentNetwork(config).to("meta"), CandidateGrid(config).to("meta")
    called = []
    monkeypatch.setattr(tan, "_dense_layer", lambda layer, grid, hidden: called.append(layer) or hidden)
    tan(torch.zeros(2, PACKED_MIN_HIDDEN_SIZE, 8, 8, device="meta"), grid)
    assert len(called) == len(tan.layers), "every layer through nn.Conv2d on a non-CPU device"
