"""Sentence encoder: a Bi-LSTM over frozen word vectors, shared by full and masked sentences (paper §III-C-1)."""

from __future__ import annotations

import torch
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from ..precision import autocast_off, bf16_autocast_without_kernels

__all__ = ["SentenceEncoder"]


class SentenceEncoder(nn.Module):
    """Bi-LSTM text encoder (§III-C-1): word embeddings -> word states and a sentence feature ``h_m``.

    Each direction has ``hidden_size / 2`` units, so ``h_m`` (the last forward state concatenated with the last
    backward state) and the word states are ``hidden_size`` wide. A sentence's features do not depend on how far it was
    padded: the forward direction runs over the padded batch (padding comes after the words, so it never reaches a
    word's state), and the backward direction runs over each sentence reversed within its length.

    Note:
        This gives the result of ``pack_padded_sequence`` + ``nn.LSTM`` without its host copy of the lengths, which is
        a device synchronisation on an accelerator; the two directions run as two calls of ``torch.lstm`` with the
        weights of the one bidirectional ``nn.LSTM`` (so checkpoints are unchanged), and padding positions are computed
        over and then zeroed. Under bf16 autocast on a CPU without oneDNN bf16 kernels the LSTM runs in float32
        (`precision.cpu_has_bf16_kernels`); everywhere else it follows autocast.
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.lstm = nn.LSTM(
            config.word_embedding_dim, config.hidden_size // 2, num_layers=1, batch_first=True, bidirectional=True
        )

    def _direction(self, inputs: torch.Tensor, suffix: str) -> torch.Tensor:
        """One direction of the LSTM over (num_sentences, num_words, dim) -> states (num_sentences, num_words, h)."""
        if bf16_autocast_without_kernels(inputs):  # no bf16 LSTM on this CPU: float32 inside the autocast region
            with autocast_off(inputs.device.type):
                return self._direction(inputs.float(), suffix)
        lstm = self.lstm
        weights = [getattr(lstm, f"{name}_l0{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        initial = inputs.new_zeros(1, inputs.shape[0], lstm.hidden_size)
        states, _, _ = torch.lstm(inputs, (initial, initial), weights, True, 1, 0.0, self.training, False, True)
        return states

    def forward(self, word_embeddings: torch.Tensor, word_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a flat batch of sentences.

        Args:
            word_embeddings (torch.FloatTensor of shape (num_sentences, num_words, word_embedding_dim)).
            word_mask (torch.BoolTensor of shape (num_sentences, num_words)): True at the real words, which come first.
                An empty (padded) sentence is encoded as if it had one word; callers mask its outputs.

        Returns:
            tuple: word states (torch.FloatTensor of shape (num_sentences, num_words, hidden_size), zero at padding)
            and sentence features ``h_m`` (torch.FloatTensor of shape (num_sentences, hidden_size)).
        """
        num_words = word_embeddings.shape[1]
        lengths = word_mask.sum(dim=1).clamp(min=1)[:, None]  # (num_sentences, 1), stays on the device
        positions = torch.arange(num_words, device=word_mask.device)[None]  # (1, num_words)
        inside = positions < lengths  # (num_sentences, num_words)
        # position t <-> length - 1 - t inside the sentence, padding in place: its own inverse
        flip = torch.where(inside, lengths - 1 - positions, positions)[..., None]  # (num_sentences, num_words, 1)
        forward_states = self._direction(word_embeddings, "")
        flipped = word_embeddings.gather(1, flip.expand(-1, -1, word_embeddings.shape[-1]))
        backward_flipped = self._direction(flipped, "_reverse")  # backward states, reversed within each sentence
        backward_states = backward_flipped.gather(1, flip.expand(-1, -1, backward_flipped.shape[-1]))
        word_states = torch.cat([forward_states, backward_states], dim=-1) * inside[..., None]
        last = (lengths - 1)[..., None].expand(-1, 1, forward_states.shape[-1])  # (num_sentences, 1, h)
        sentence_features = torch.cat(
            [forward_states.gather(1, last)[:, 0], backward_states[:, 0]], dim=-1
        )  # (num_sentences, hidden_size)
        return word_states, sentence_features
