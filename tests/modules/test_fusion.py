from __future__ import annotations

import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
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
