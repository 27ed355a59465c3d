"""Sentence encoder from a pretrained transformers text encoder such as BERT (the alternative of paper Table VI)."""

from __future__ import annotations

import inspect

import torch
from torch import nn
from transformers import AutoConfig, AutoModel
from transformers.models.auto.modeling_auto import MODEL_MAPPING

from ..configuration_dmr_jrg import DMRJRGConfig
from ..errors import ConfigError

__all__ = ["TransformerSentenceEncoder", "text_encoder_config_dict"]


def text_encoder_config_dict(name_or_path: str) -> dict:
    """The ``to_dict()`` of the transformers config at ``name_or_path`` (Hub id or folder), for
    ``DMRJRGConfig.text_encoder_config``.

    Raises:
        ConfigError: the id or folder holds no transformers config.
    """
    try:
        return AutoConfig.from_pretrained(name_or_path).to_dict()
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"text_encoder={name_or_path!r} is neither 'bilstm' nor a transformers model (Hub id or folder): {error}"
        ) from error


class TransformerSentenceEncoder(nn.Module):
    """A transformers text encoder in place of Word2Vec + Bi-LSTM (§III-C-1; Table VI compares the two).

    Input is the transformer tokenizer's subword ids of each sentence, ``[CLS] ... [SEP]`` included (the processor
    tokenises with the tokenizer saved next to it). The word states are the transformer's last hidden states projected
    to ``hidden_size``, zero at padding; the sentence feature ``h_m`` is their mean over the sentence's tokens (a mean,
    not the ``[CLS]`` state, because the mean trains the projection from every position, as the Bi-LSTM's states
    do, and works for encoders trained without a sentence-level ``[CLS]`` objective).

    Reconstruction targets (Eq. 9-11) become subword ids: the masked sentence is the same subword sequence with
    ``[MASK]`` (the tokenizer's mask token) at the chosen positions, and the reconstructor classifies over the
    tokenizer's vocabulary (``config.vocab_size``). One id sequence per sentence then serves the encoder, the masking
    and the targets, with no word-to-subword alignment, and ``[MASK]`` is the input the transformer was pretrained to
    fill. ``[CLS]``/``[SEP]`` are never masked.

    With ``config.freeze_text_encoder`` the transformer's weights get no gradient and it stays in eval mode (no
    dropout) while the model trains; the projection always trains.

    The transformer is built from ``config.text_encoder_config`` (`AutoModel.from_config`), so loading a saved model
    reads its weights from the model's own state dict; `load_pretrained_weights` copies the pretrained weights in when
    a model is first built.
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        if config.text_encoder_config is None:
            config.text_encoder_config = text_encoder_config_dict(config.text_encoder)
        transformer_config = AutoConfig.for_model(**config.text_encoder_config)
        model_class = MODEL_MAPPING[type(transformer_config)]
        # the pooler (a trained [CLS] head) is unused: the sentence feature is the mean of the states
        pooling = (
            {"add_pooling_layer": False} if "add_pooling_layer" in inspect.signature(model_class).parameters else {}
        )
        self.transformer = AutoModel.from_config(transformer_config, **pooling)
        self.projection = nn.Linear(transformer_config.hidden_size, config.hidden_size)
        self.frozen = bool(config.freeze_text_encoder)
        self.transformer.requires_grad_(not self.frozen)

    def load_pretrained_weights(self, name_or_path: str) -> None:
        """Copy the pretrained weights of ``name_or_path`` into the transformer (every one of its tensors).

        Raises:
            ConfigError: the pretrained model lacks some of the transformer's weights (another architecture).
        """
        pretrained = AutoModel.from_pretrained(name_or_path)
        missing, _ = self.transformer.load_state_dict(pretrained.state_dict(), strict=False)
        if missing:
            raise ConfigError(f"text_encoder={name_or_path!r}: the pretrained weights lack {sorted(missing)[:5]}")

    def train(self, mode: bool = True) -> TransformerSentenceEncoder:
        """Train mode as usual, but a frozen transformer stays in eval mode (no dropout)."""
        super().train(mode)
        if self.frozen:
            self.transformer.eval()
        return self

    def forward(self, token_ids: torch.Tensor, token_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a flat batch of sentences.

        Args:
            token_ids (torch.LongTensor of shape (num_sentences, num_tokens)): subword ids, padding after the tokens.
            token_mask (torch.BoolTensor of shape (num_sentences, num_tokens)): True at the real tokens. An empty
                (padded) sentence attends to its first position only; callers mask its outputs.

        Returns:
            tuple: word states (torch.FloatTensor of shape (num_sentences, num_tokens, hidden_size), zero at padding)
            and sentence features ``h_m`` (torch.FloatTensor of shape (num_sentences, hidden_size)).
        """
        attend = token_mask.clone()
        attend[:, 0] = True  # an empty sentence must attend somewhere
        hidden = self.transformer(input_ids=token_ids, attention_mask=attend.long()).last_hidden_state
        states = self.projection(hidden) * attend[..., None]  # (num_sentences, num_tokens, hidden_size)
        features = states.sum(1) / attend.sum(1, keepdim=True)  # (num_sentences, hidden_size)
        return states, features
