"""Masked-word reconstructor of VTC-LD (paper §III-E, Eq. 9-10; SCN)."""

from __future__ import annotations

import torch
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from .class_token_encoder import sinusoidal_positions
from .transformer_layers import build_transformer_decoder, build_transformer_encoder

__all__ = ["MaskedWordReconstructor"]


class MaskedWordReconstructor(nn.Module):
    """Eq. 9-10: ``f_m^q = D(ĥ_m, E(F_m^q))``, then ``FC`` -> vocabulary logits at the masked positions.

    ``E`` is a Transformer encoder over the projected clip features inside proposal q (the clips outside it are
    masked out of attention); ``D`` is a Transformer decoder whose queries are the masked sentence's Bi-LSTM word
    states (the same Bi-LSTM as the full sentences) and whose memory is ``E``'s output.

    Clip features and word states are layer-normalised before their sinusoidal positions are added (as in the
    class-token encoders): unnormalised, the unit-scale positions swamp the freshly projected clip features, the
    memory then says where a proposal is rather than what it shows, and reconstruction (the only weak grounding
    signal of Eq. 11-12) does not depend on the proposal.

    Note:
        Eq. 9 writes the decoder input as the sentence feature ``ĥ_m``; predicting a word at each masked position
        needs one query per position, so the decoder reads the per-word states of the masked sentence (as SCN does).
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.clip_norm = nn.LayerNorm(config.hidden_size)
        self.word_norm = nn.LayerNorm(config.hidden_size)
        self.encoder = build_transformer_encoder(config, config.num_reconstructor_layers)
        self.decoder = build_transformer_decoder(config, config.num_reconstructor_layers)
        self.word_classifier = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(
        self,
        proposal_clips: torch.Tensor,
        proposal_mask: torch.Tensor,
        masked_word_states: torch.Tensor,
        word_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Decode every masked sentence against every one of its proposals.

        Args:
            proposal_clips (torch.FloatTensor of shape (num_pairs, num_clips, hidden_size)): clip features of the
                proposal's video.
            proposal_mask (torch.BoolTensor of shape (num_pairs, num_clips)): True at the proposal's clips i..j.
            masked_word_states (torch.FloatTensor of shape (num_pairs, num_words, hidden_size)): ``ĥ_m`` word states.
            word_mask (torch.BoolTensor of shape (num_pairs, num_words)): True at real words.

        Returns:
            torch.FloatTensor of shape (num_pairs, num_words, hidden_size): decoder states ``f_m^q`` per word; turn
            the ones at masked positions into vocabulary logits with `word_logits`.
        """
        num_clips, hidden_size = proposal_clips.shape[1:]
        clip_positions = sinusoidal_positions(num_clips, hidden_size, proposal_clips.device, proposal_clips.dtype)
        memory = self.encoder(self.clip_norm(proposal_clips) + clip_positions, src_key_padding_mask=~proposal_mask)
        num_words = masked_word_states.shape[1]
        word_positions = sinusoidal_positions(num_words, hidden_size, proposal_clips.device, proposal_clips.dtype)
        return self.decoder(
            self.word_norm(masked_word_states) + word_positions,
            memory,
            tgt_key_padding_mask=~word_mask,
            memory_key_padding_mask=~proposal_mask,
        )

    def word_logits(self, decoder_states: torch.Tensor) -> torch.Tensor:
        """Eq. 10 before the softmax: (..., hidden_size) -> (..., vocab_size)."""
        return self.word_classifier(decoder_states)
