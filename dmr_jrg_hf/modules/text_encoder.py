"""Sentence encoder: a Bi-LSTM over frozen word vectors, shared by full and masked sentences (paper §III-C-1)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..configuration_dmr_jrg import DMRJRGConfig

__all__ = ["SentenceEncoder"]


class SentenceEncoder(nn.Module):
    """Bi-LSTM text encoder (§III-C-1): word embeddings -> word states and a sentence feature ``h_m``.

    Each direction has ``hidden_size / 2`` units, so ``h_m`` (the last forward state concatenated with the last
    backward state) and the word states are ``hidden_size`` wide. Padding is packed away, so a sentence's features do
    not depend on how far it was padded.
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.lstm = nn.LSTM(
            config.word_embedding_dim, config.hidden_size // 2, num_layers=1, batch_first=True, bidirectional=True
        )

    def forward(self, word_embeddings: torch.Tensor, word_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a flat batch of sentences.

        Args:
            word_embeddings (torch.FloatTensor of shape (num_sentences, num_words, word_embedding_dim)).
            word_mask (torch.BoolTensor of shape (num_sentences, num_words)): True at real words. An empty (padded)
                sentence is encoded as if it had one word; callers mask its outputs.

        Returns:
            tuple: word states (torch.FloatTensor of shape (num_sentences, num_words, hidden_size), zero at padding)
            and sentence features ``h_m`` (torch.FloatTensor of shape (num_sentences, hidden_size)).
        """
        num_words = word_embeddings.shape[1]
        lengths = word_mask.sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(word_embeddings, lengths, batch_first=True, enforce_sorted=False)
        packed_states, (last_hidden, _) = self.lstm(packed)
        word_states, _ = pad_packed_sequence(packed_states, batch_first=True, total_length=num_words)
        sentence_features = torch.cat([last_hidden[0], last_hidden[1]], dim=-1)  # (num_sentences, hidden_size)
        return word_states, sentence_features
