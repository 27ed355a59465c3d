from __future__ import annotations

import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modules.temporal_adjacent_network import MomentScoreHead, TemporalAdjacentNetwork, masked_conv_weights


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


def test_tan_keeps_invalid_cells_zero_and_has_the_configured_layers():
    config = DMRJRGConfig.from_preset(
        "tiny", num_clips=16, map_scale_layers=[4, 2, 2], tan_kernel_size=5, tan_padding=2
    )
    tan = TemporalAdjacentNetwork(config)
    assert len(tan.layers) == config.tan_num_layers
    assert tan.layers[0].kernel_size == (5, 5) and tan.layers[0].padding == (2, 2)
    output = tan(torch.randn(3, config.hidden_size, 16, 16))
    invalid = tan.cell_weights == 0
    assert output.shape == (3, config.hidden_size, 16, 16)
    assert (output[..., invalid] == 0).all()
    assert output[..., ~invalid].abs().sum() > 0


def test_score_head_keeps_leading_dimensions():
    head = MomentScoreHead(DMRJRGConfig.from_preset("tiny"))
    assert head(torch.randn(2, 3, 16, 8, 8)).shape == (2, 3, 8, 8)
