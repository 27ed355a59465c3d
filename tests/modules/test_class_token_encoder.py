from __future__ import annotations

import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modules.class_token_encoder import ParagraphClassTokenEncoder, sinusoidal_positions


def test_tokens_are_normalised_before_positions_so_small_features_are_not_swamped():
    encoder = ParagraphClassTokenEncoder(DMRJRGConfig.from_preset("tiny")).eval()
    tokens = torch.randn(2, 5, 16)
    assert torch.allclose(encoder(tokens), encoder(tokens * 0.1), atol=1e-3), "output must not depend on input scale"
    assert not torch.allclose(encoder(tokens[:1]), encoder(tokens[1:]), atol=1e-3), "different inputs, same output"


def test_padding_mask_hides_padded_tokens():
    encoder = ParagraphClassTokenEncoder(DMRJRGConfig.from_preset("tiny")).eval()
    tokens = torch.randn(1, 4, 16)
    mask = torch.tensor([[True, True, False, False]])
    changed = tokens.clone()
    changed[0, 2:] = torch.randn(2, 16)
    assert torch.allclose(encoder(tokens, mask), encoder(changed, mask), atol=1e-6)


def test_sinusoidal_positions_have_no_length_limit():
    table = sinusoidal_positions(1000, 16, torch.device("cpu"), torch.float32)
    assert table.shape == (1000, 16) and torch.isfinite(table).all()
    assert torch.allclose(table[0, 1::2], torch.ones(8)) and torch.allclose(table[0, 0::2], torch.zeros(8))
