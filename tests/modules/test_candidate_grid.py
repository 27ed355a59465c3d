from __future__ import annotations

import numpy as np
import torch
from helpers import save_tiny_model

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.geometry import cell_spans, valid_cell_mask
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.modules.candidate_grid import CandidateGrid, masked_conv_weights
from dmr_jrg_hf.modules.valid_cell_convolution import valid_cell_pairs


def test_grid_matches_geometry():
    config = DMRJRGConfig.from_preset("activitynet")
    grid = CandidateGrid(config)
    start, end = cell_spans(32)
    mask = valid_cell_mask(32, [16, 8, 8])
    assert np.array_equal(grid.valid_mask.numpy(), mask)
    assert int(grid.valid_mask.sum()) == 428
    np.testing.assert_allclose(grid.cell_start.numpy(), start, atol=1e-7)
    np.testing.assert_allclose(grid.cell_end.numpy(), end, atol=1e-7)
    assert torch.equal(grid.cell_index, grid.valid_mask.flatten().nonzero()[:, 0]), "row-major valid cells"
    tables = valid_cell_pairs(mask, config.tan_kernel_size)
    assert torch.equal(grid.conv_pair_targets, tables["pair_targets"])
    assert grid.conv_offset_counts == tables["offset_counts"]
    expected_weights = masked_conv_weights(grid.valid_mask, config.tan_kernel_size, config.tan_padding)
    assert torch.equal(grid.conv_cell_weights, expected_weights)


def test_masked_conv_weights_hand_computed():
    valid = torch.ones(3, 3, dtype=torch.bool).triu()
    weights = masked_conv_weights(valid, kernel_size=3, padding=1)
    # valid neighbours under a 3x3 kernel: (0,0)->3 [(0,0),(0,1),(1,1)], (0,1)->5, (0,2)->4,
    # (1,1)->6, (1,2)->5, (2,2)->3
    expected = 9 * torch.tensor([[1 / 3, 1 / 5, 1 / 4], [0, 1 / 6, 1 / 5], [0, 0, 1 / 3]])
    assert torch.allclose(weights, expected)


def test_masked_conv_weights_are_one_inside_a_dense_map():
    weights = masked_conv_weights(torch.ones(5, 5, dtype=torch.bool), kernel_size=3, padding=1)
    assert torch.equal(weights[1:4, 1:4], torch.ones(3, 3))
    assert weights[0, 0] == 9 / 4


def test_the_model_has_one_grid_and_saves_none_of_it(tmp_path):
    model = DMRJRGModel(DMRJRGConfig.from_preset("tiny"))
    grids = [name for name, module in model.named_modules() if isinstance(module, CandidateGrid)]
    assert grids == ["candidate_grid"]
    grid_buffers = {f"candidate_grid.{name}" for name, _ in model.candidate_grid.named_buffers()}
    others = {"word_vectors", "global_branch.candidate_fusion_weights"}
    assert {name for name, _ in model.named_buffers()} == grid_buffers | others, "no other module copies the grid"
    assert not grid_buffers & set(model.state_dict()), "the grid follows from the config: not saved"


def test_a_loaded_model_rebuilds_its_grid(tmp_path):
    save_tiny_model(tmp_path)
    loaded = DMRJRGModel.from_pretrained(tmp_path)
    fresh = CandidateGrid(loaded.config).compute_buffers()
    for name, tensor in fresh.items():
        assert torch.equal(getattr(loaded.candidate_grid, name), tensor), name
    assert loaded.candidate_grid.conv_offset_counts == CandidateGrid(loaded.config).conv_offset_counts
