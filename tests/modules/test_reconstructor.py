from __future__ import annotations

import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modules.reconstructor import MaskedWordReconstructor
from dmr_jrg_hf.modules.text_encoder import SentenceEncoder


def test_reconstructor_reads_only_the_proposal_clips():
    config = DMRJRGConfig.from_preset("tiny")
    reconstructor = MaskedWordReconstructor(config).eval()
    clips = torch.randn(2, 8, 16)
    proposal = torch.zeros(2, 8, dtype=torch.bool)
    proposal[0, 2:5] = True
    proposal[1, 0:1] = True
    words = torch.randn(2, 5, 16)
    word_mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    base = reconstructor(clips, proposal, words, word_mask)
    changed = clips.clone()
    changed[~proposal] = torch.randn(int((~proposal).sum()), 16)
    assert torch.allclose(base, reconstructor(changed, proposal, words, word_mask), atol=1e-5), "outside clips ignored"
    changed[0, 3] += torch.linspace(-1.0, 1.0, 16)  # not a constant shift, which the layer norm removes
    assert not torch.allclose(base[0], reconstructor(changed, proposal, words, word_mask)[0])
    assert reconstructor.word_logits(base).shape == (2, 5, config.vocab_size)


def test_sentence_encoder_is_padding_invariant():
    config = DMRJRGConfig.from_preset("tiny")
    encoder = SentenceEncoder(config)
    embeddings = torch.randn(1, 4, config.word_embedding_dim)
    mask = torch.ones(1, 4, dtype=torch.bool)
    states, feature = encoder(embeddings, mask)
    padded = torch.cat([embeddings, torch.randn(1, 3, config.word_embedding_dim)], dim=1)
    padded_states, padded_feature = encoder(padded, torch.cat([mask, torch.zeros(1, 3, dtype=torch.bool)], 1))
    assert torch.allclose(feature, padded_feature, atol=1e-6)
    assert torch.allclose(states, padded_states[:, :4], atol=1e-6)
    assert (padded_states[:, 4:] == 0).all()
    assert feature.shape == (1, config.hidden_size)
