from __future__ import annotations

import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modules.candidate_grid import CandidateGrid
from dmr_jrg_hf.modules.fusion import SentenceMomentFusion


def test_sentence_moment_fusion_is_unit_norm_at_valid_cells_and_zero_elsewhere():
    config = DMRJRGConfig.from_preset("tiny")
    fusion = SentenceMomentFusion(config)
    valid = torch.ones(8, 8, dtype=torch.bool).triu()
    fused = fusion(torch.randn(2, 3, 16), torch.randn(2, 16, 8, 8), valid)
    assert fused.shape == (2, 3, 16, 8, 8)
    norms = fused.norm(dim=2)
    assert torch.allclose(norms[..., valid], torch.ones(()), atol=1e-5), "valid cells are L2-normalised"
    assert (norms[..., ~valid] == 0).all(), "invalid cells are zero"


def test_fusing_the_valid_cells_only_equals_the_dense_fusion_there():
    config = DMRJRGConfig.from_preset("tiny", num_clips=16, map_scale_layers=[4, 2, 2])  # a sparse grid
    fusion = SentenceMomentFusion(config)
    grid = CandidateGrid(config)
    video_map = torch.randn(3, config.hidden_size, 16, 16) * grid.valid_mask
    sentences = torch.randn(4, 2, config.hidden_size, requires_grad=True)
    video_index = torch.tensor([2, 0, 2, 1])
    dense = fusion(sentences, video_map, grid.valid_mask, video_index)  # (4, 2, hidden, 16, 16)
    cells = fusion.fuse_cells(sentences, video_map, grid.cell_index, video_index)
    assert cells.shape == (len(grid.cell_index), 8, config.hidden_size)
    torch.testing.assert_close(cells, grid.pack_cells(dense.flatten(0, 1)))
    torch.testing.assert_close(grid.unpack_cells(cells), dense.flatten(0, 1).detach(), msg="zero at invalid cells")
    (dense_grad,) = torch.autograd.grad(dense.square().sum(), sentences)
    (cells_grad,) = torch.autograd.grad(cells.square().sum(), sentences)
    torch.testing.assert_close(cells_grad, dense_grad)
