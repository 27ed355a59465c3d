"""Class-token Transformer encoders E1, E2 (and E3 = E1's weights) of the retrieval and global branches (Eq. 1, 15)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from .transformer_layers import build_transformer_encoder

__all__ = [
    "sinusoidal_positions",
    "ClassTokenEncoder",
    "VideoClassTokenEncoder",
    "ParagraphClassTokenEncoder",
    "ParagraphVideoRetrievalHead",
]


def sinusoidal_positions(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Sinusoidal position encodings (Transformer), computed for any length: shape (length, dim)."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : dim // 2]
    return table.to(dtype)


class ClassTokenEncoder(nn.Module):
    """``E[cls, x_1..x_N]`` -> the class token's output (Eq. 1), with a padding mask over ``x``.

    Positions are sinusoidal and computed on the fly, so no length limit is built in (paragraphs at inference can be
    longer than any seen in training). The tokens are layer-normalised before the positions are added: sinusoidal
    positions have unit scale per channel, and without the normalisation they swamp freshly projected features
    (initialised at std 0.02), so every sequence looks the same to the encoder and retrieval does not train.
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(config.hidden_size))
        self.token_norm = nn.LayerNorm(config.hidden_size)
        self.encoder = build_transformer_encoder(config, config.num_encoder_layers)

    def forward(
        self, tokens: torch.Tensor, token_mask: torch.Tensor | None = None, class_token: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Aggregate a sequence into its class token.

        Args:
            tokens (torch.FloatTensor of shape (batch, length, hidden_size)).
            token_mask (torch.BoolTensor of shape (batch, length), optional): True at real tokens.
            class_token (torch.FloatTensor of shape (hidden_size,), optional): a different class token run through the
                same layers (E3 of Eq. 15 shares E1's weights with its own token ``f'_cls,v``).

        Returns:
            torch.FloatTensor of shape (batch, hidden_size): the class token's output.
        """
        batch, length, hidden_size = tokens.shape
        token = self.class_token if class_token is None else class_token
        positions = sinusoidal_positions(length, hidden_size, tokens.device, tokens.dtype)
        tokens = self.token_norm(tokens) + positions
        sequence = torch.cat([token.expand(batch, 1, hidden_size), tokens], dim=1)  # (batch, 1+length, hidden_size)
        padding = None
        if token_mask is not None:
            keep = torch.cat([token_mask.new_ones(batch, 1), token_mask], dim=1)
            padding = ~keep
        return self.encoder(sequence, src_key_padding_mask=padding)[:, 0]


class VideoClassTokenEncoder(ClassTokenEncoder):
    """E1 (Eq. 1): ``[f_cls,v, f_1..f_K]`` over the clip features; E3 (Eq. 15) reuses it with another class token."""


class ParagraphClassTokenEncoder(ClassTokenEncoder):
    """E2 (Eq. 1): ``[f_cls,t, h_1..h_M]`` over the sentence features, padded sentences masked out."""


class ParagraphVideoRetrievalHead(nn.Module):
    """VPCMR scoring (§III-D, Eq. 2-7): cosine similarity of class tokens and the InfoNCE scale λ.

    λ is kept as its log (``logit_scale``, initialised from ``config.logit_scale_init_value``), learnable when
    ``config.learnable_logit_scale`` and clamped to ``config.max_logit_scale`` after exponentiation (CLIP).
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.max_logit_scale = config.max_logit_scale
        initial = torch.tensor(float(config.logit_scale_init_value))
        if config.learnable_logit_scale:
            self.logit_scale = nn.Parameter(initial)
        else:
            self.register_buffer("logit_scale", initial)

    def scale(self) -> torch.Tensor:
        """λ = exp(logit_scale), clamped to ``max_logit_scale``."""
        return self.logit_scale.exp().clamp(max=self.max_logit_scale)

    @staticmethod
    def similarity(paragraph_embeddings: torch.Tensor, video_embeddings: torch.Tensor) -> torch.Tensor:
        """Cosine similarity ``S[i, j] = cos(t_i, v_j)``: (batch_p, d) x (batch_v, d) -> (batch_p, batch_v)."""
        return F.normalize(paragraph_embeddings, dim=-1) @ F.normalize(video_embeddings, dim=-1).t()
