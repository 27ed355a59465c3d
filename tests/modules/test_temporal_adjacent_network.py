from __future__ import annotations

import pytest
import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modules.candidate_grid import CandidateGrid
from dmr_jrg_hf.modules.temporal_adjacent_network import MomentScoreHead, TemporalAdjacentNetwork


def test_tan_keeps_invalid_cells_zero_and_has_the_configured_layers():
    config = DMRJRGConfig.from_preset(
        "tiny", num_clips=16, map_scale_layers=[4, 2, 2], tan_kernel_size=5, tan_padding=2
    )
    tan, grid = TemporalAdjacentNetwork(config), CandidateGrid(config)
    assert len(tan.layers) == config.tan_num_layers
    assert tan.layers[0].kernel_size == (5, 5) and tan.layers[0].padding == (2, 2)
    output = tan(torch.randn(3, config.hidden_size, 16, 16), grid)
    invalid = grid.conv_cell_weights == 0
    assert torch.equal(invalid, ~grid.valid_mask), "every valid cell sees itself under the kernel"
    assert output.shape == (3, config.hidden_size, 16, 16)
    assert (output[..., invalid] == 0).all()
    assert output[..., ~invalid].abs().sum() > 0


def test_score_head_keeps_leading_dimensions():
    head = MomentScoreHead(DMRJRGConfig.from_preset("tiny"))
    assert head(torch.randn(2, 3, 16, 8, 8)).shape == (2, 3, 8, 8)


@pytest.mark.parametrize("implementation", ["valid_cells", "winograd"])
def test_tan_over_packed_cells_equals_the_map_forward(implementation):
    config = DMRJRGConfig.from_preset("tiny", num_clips=16, tan_kernel_size=5, tan_padding=2)
    tan, grid = (
        TemporalAdjacentNetwork(config.with_overrides(tan_implementation=implementation)),
        CandidateGrid(config),
    )
    maps = torch.randn(3, config.hidden_size, 16, 16) * grid.valid_mask
    assert tan.packed_implementation(maps.device) == implementation
    assert torch.equal(grid.unpack_cells(grid.pack_cells(maps)), maps), "packing keeps every valid cell"
    torch.testing.assert_close(grid.unpack_cells(tan.forward_cells(grid.pack_cells(maps), grid)), tan(maps, grid))
    dense = TemporalAdjacentNetwork(config.with_overrides(tan_implementation="dense"))
    assert dense.packed_implementation(maps.device) is None
    with pytest.raises(ValueError, match="runs 'dense'"):
        dense.forward_cells(grid.pack_cells(maps), grid)
