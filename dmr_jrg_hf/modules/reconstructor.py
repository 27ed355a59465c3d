"""Masked-word reconstructor of VTC-LD (paper §III-E, Eq. 9-10; SCN)."""

from __future__ import annotations

import torch
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from .class_token_encoder import sinusoidal_positions
from .transformer_layers import TokenLayout, build_transformer_decoder, build_transformer_encoder

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

    def forward_packed(
        self,
        clips: torch.Tensor,
        clip_rows: torch.Tensor,
        clip_layout: TokenLayout,
        masked_word_states: torch.Tensor,
        word_rows: torch.Tensor,
        word_layout: TokenLayout,
        query_rows: torch.Tensor,
    ) -> torch.Tensor:
        """`forward` over packed tokens: the clips inside each proposal, the real words, outputs at ``query_rows``.

        The (proposal, sentence) pairs share their inputs: pair tokens are rows of the normalised, position-encoded
        clips and word states, gathered by ``clip_rows`` and ``word_rows``. The encoder reads the proposal's clips
        only and the decoder the real words only, which is what `forward`'s masks let through; the outputs at the
        computed tokens equal `forward`'s.

        Args:
            clips (torch.FloatTensor of shape (num_sentences, num_clips, hidden_size)): each sentence's video clips.
            clip_rows (torch.LongTensor of shape (num_clip_tokens,)): row of ``clips.flatten(0, 1)`` of each token at
                ``clip_layout`` (the pairs' proposals over ``num_clips`` positions).
            masked_word_states (torch.FloatTensor of shape (num_sentences, num_words, hidden_size)): ``ĥ_m``.
            word_rows (torch.LongTensor of shape (num_word_tokens,)): row of ``masked_word_states.flatten(0, 1)`` of
                each token at ``word_layout`` (the pairs' real words over ``num_words`` positions).
            query_rows (torch.LongTensor of shape (num_queries,)): the word tokens whose states are wanted.

        Returns:
            torch.FloatTensor of shape (num_queries, hidden_size): decoder states ``f_m^q`` at ``query_rows``.
        """
        num_clips, hidden_size = clips.shape[1:]
        clip_positions = sinusoidal_positions(num_clips, hidden_size, clips.device, clips.dtype)
        clip_tokens = (self.clip_norm(clips) + clip_positions).flatten(0, 1).index_select(0, clip_rows)
        memory = self.encoder.forward_packed(clip_tokens, clip_layout)
        num_words = masked_word_states.shape[1]
        word_positions = sinusoidal_positions(num_words, hidden_size, clips.device, clips.dtype)
        word_tokens = (self.word_norm(masked_word_states) + word_positions).flatten(0, 1).index_select(0, word_rows)
        return self.decoder.forward_packed(word_tokens, word_layout, memory, clip_layout, query_rows)

    def word_logits(self, decoder_states: torch.Tensor) -> torch.Tensor:
        """Eq. 10 before the softmax: (..., hidden_size) -> (..., vocab_size)."""
        return self.word_classifier(decoder_states)
