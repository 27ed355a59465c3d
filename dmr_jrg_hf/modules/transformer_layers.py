"""Post-norm Transformer encoder and decoder stacks with `nn.TransformerEncoder`/`nn.TransformerDecoder`'s parameters.

The E1/E2/E3 encoders (Eq. 1-3) and the reconstructor's ``E``/``D`` (Eq. 9) are stacks of the layers of "Attention
is all you need" (post-norm, ReLU, batch first). `torch.nn`'s modules dispatch about a quarter more operators than
these (196 against 154 for one encoder layer's forward and backward on a CPU): every layer converts its masks again,
splits the packed projections with reshapes, and dispatches each dropout as four operators on a CPU. On a GPU each
operator is a kernel launch, and the training step is bound by launches, not FLOPs. Here:

- the key-padding mask becomes an additive attention mask once per stack, not once per layer;
- self-attention projects queries, keys and values with one matrix product, cross-attention keys and values with one;
- dropout is ``torch.native_dropout``, one operator forward and one backward (the kernel a GPU runs anyway; on a CPU
  the same Bernoulli draws as ``F.dropout``, so a seeded run gives the same numbers).

The stacks also run on packed tokens (`TokenLayout`, ``forward_packed``): the token-wise work (projections,
feed-forward blocks, norms) touches only the real tokens of a padded batch, and attention runs in the padded layout,
where the padding is masked anyway. The decoder's last layer can compute its outputs at a subset of the tokens only
(the masked words a reconstructor predicts). The outputs at the computed tokens are the padded stacks' (the same
functions); the dropout draws are fewer and so differ. Finding the tokens reads mask values (``nonzero``), so this
suits a CPU, where that costs nothing, not a step captured for GPU graphs.

Their parameters, submodule names and initialisation are `torch.nn`'s (``layers.N.self_attn.in_proj_weight``, ...),
so weights saved with the `torch.nn` modules load unchanged, and the outputs equal theirs to float tolerance
(tests/modules/test_transformer_layers.py).
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig

__all__ = [
    "native_dropout",
    "TokenLayout",
    "TransformerEncoder",
    "TransformerDecoder",
    "build_transformer_encoder",
    "build_transformer_decoder",
]


def native_dropout(hidden: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """``F.dropout`` as one operator (``native_dropout``): identical draws and scaling on a CPU, fused on a GPU."""
    if not training or p == 0.0:
        return hidden
    return torch.native_dropout(hidden, p, True)[0]


def _attention_mask(key_padding_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """(batch, keys) bool, True at padding (torch.nn's convention) -> additive (batch, 1, 1, keys) mask, -inf there.

    Made once per stack: given a boolean mask, attention would convert it in every layer.
    """
    if key_padding_mask is None:
        return None
    mask = torch.zeros(key_padding_mask.shape, dtype=dtype, device=key_padding_mask.device)
    return mask.masked_fill_(key_padding_mask, float("-inf"))[:, None, None, :]


def _attention(
    attention: nn.MultiheadAttention,
    queries: torch.Tensor,
    keys: torch.Tensor | None,
    attention_bias: torch.Tensor | None,
    training: bool,
) -> torch.Tensor:
    """Multi-head attention with ``attention``'s weights: ``keys=None`` for self-attention.

    Args:
        attention (nn.MultiheadAttention): holds ``in_proj_weight``/``in_proj_bias`` (queries, keys, values stacked)
            and ``out_proj``.
        queries (torch.FloatTensor of shape (batch, num_queries, hidden_size)).
        keys (torch.FloatTensor of shape (batch, num_keys, hidden_size), optional): keys and values (the memory).
        attention_bias (torch.FloatTensor of shape (batch, 1, 1, num_keys), optional): 0 at keys, -inf at padding.
        training (bool): apply the attention dropout.
    """
    batch, num_queries, hidden_size = queries.shape
    num_heads = attention.num_heads
    if keys is None:
        packed = F.linear(queries, attention.in_proj_weight, attention.in_proj_bias)
        query, key, value = packed.view(batch, num_queries, 3, num_heads, -1).permute(2, 0, 3, 1, 4)
    else:
        query_weight, key_value_weight = attention.in_proj_weight.split([hidden_size, 2 * hidden_size])
        query_bias, key_value_bias = attention.in_proj_bias.split([hidden_size, 2 * hidden_size])
        query = F.linear(queries, query_weight, query_bias).view(batch, num_queries, num_heads, -1).transpose(1, 2)
        packed = F.linear(keys, key_value_weight, key_value_bias)
        key, value = packed.view(batch, keys.shape[1], 2, num_heads, -1).permute(2, 0, 3, 1, 4)
    dropout = attention.dropout if training else 0.0
    attended = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_bias, dropout_p=dropout)
    # sequence-major like torch.nn's batch-first attention, so the dropout after it draws for the same elements
    attended = attended.permute(2, 0, 1, 3).reshape(num_queries, batch, hidden_size)
    return attention.out_proj(attended).transpose(0, 1)  # (batch, num_queries, hidden_size), a view


class TokenLayout(NamedTuple):
    """Where the rows of a packed (num_tokens, hidden_size) tensor sit in a padded (batch, length) layout."""

    slots: torch.Tensor  # (num_tokens,) flat positions b * length + t, row-major
    batch: int
    length: int
    attention_mask: torch.Tensor  # (batch, 1, 1, length) bool, True at the tokens: what attending to them may read

    @classmethod
    def from_mask(cls, token_mask: torch.Tensor) -> TokenLayout:
        """The tokens of a (batch, length) boolean mask, True at tokens; reads the mask's values (``nonzero``)."""
        batch, length = token_mask.shape
        slots = token_mask.flatten().nonzero()[:, 0]
        return cls(slots, batch, length, token_mask[:, None, None, :])

    def scatter(self, tokens: torch.Tensor) -> torch.Tensor:
        """(num_tokens, width) -> (batch, length, width), zero at padding."""
        padded = tokens.new_zeros(self.batch * self.length, tokens.shape[1]).index_copy(0, self.slots, tokens)
        return padded.view(self.batch, self.length, -1)

    def gather(self, padded: torch.Tensor) -> torch.Tensor:
        """(batch, length, width) -> (num_tokens, width)."""
        return padded.reshape(self.batch * self.length, -1).index_select(0, self.slots)


def _packed_attention(
    attention: nn.MultiheadAttention,
    queries: torch.Tensor,
    query_layout: TokenLayout,
    keys: torch.Tensor,
    key_layout: TokenLayout,
    training: bool,
) -> torch.Tensor:
    """`_attention` over packed tokens: projections at the tokens, attention in the padded layout.

    Args:
        attention (nn.MultiheadAttention): its weights.
        queries (torch.FloatTensor of shape (num_queries, hidden_size)): at ``query_layout``.
        keys (torch.FloatTensor of shape (num_keys, hidden_size)): keys and values at ``key_layout``; ``keys is
            queries`` projects the three with one matrix product.
        training (bool): apply the attention dropout.

    Returns:
        torch.FloatTensor of shape (num_queries, hidden_size).
    """
    hidden_size = queries.shape[1]
    num_heads = attention.num_heads
    if keys is queries:
        query, key_value = F.linear(queries, attention.in_proj_weight, attention.in_proj_bias).split(
            [hidden_size, 2 * hidden_size], dim=1
        )
    else:
        query_weight, key_value_weight = attention.in_proj_weight.split([hidden_size, 2 * hidden_size])
        query_bias, key_value_bias = attention.in_proj_bias.split([hidden_size, 2 * hidden_size])
        query = F.linear(queries, query_weight, query_bias)
        key_value = F.linear(keys, key_value_weight, key_value_bias)
    query = query_layout.scatter(query).unflatten(-1, (num_heads, -1)).transpose(1, 2)  # (batch, heads, Lq, d)
    key, value = key_layout.scatter(key_value).unflatten(-1, (2, num_heads, -1)).permute(2, 0, 3, 1, 4)
    key_mask, dropout = key_layout.attention_mask, attention.dropout if training else 0.0
    attended = F.scaled_dot_product_attention(query, key, value, attn_mask=key_mask, dropout_p=dropout)
    return attention.out_proj(query_layout.gather(attended.transpose(1, 2)))


class _FeedForwardLayer(nn.Module):
    """The feed-forward block every layer ends with, ``dropout(linear2(dropout(relu(linear1(x)))))``."""

    linear1: nn.Linear
    linear2: nn.Linear
    dropout: float

    def feed_forward(self, hidden: torch.Tensor) -> torch.Tensor:
        inner = native_dropout(F.relu(self.linear1(hidden)), self.dropout, self.training)
        return native_dropout(self.linear2(inner), self.dropout, self.training)


class TransformerEncoderLayer(_FeedForwardLayer):
    """`nn.TransformerEncoderLayer` (post-norm, ReLU, batch first): self-attention, then a feed-forward block.

    Args:
        hidden_size, num_attention_heads, intermediate_size (int), dropout (float): as `nn.TransformerEncoderLayer`'s
            ``d_model``, ``nhead``, ``dim_feedforward``, ``dropout``.
    """

    def __init__(self, hidden_size: int, num_attention_heads: int, intermediate_size: int, dropout: float):
        super().__init__()  # submodules in torch.nn's order, so a seeded initialisation draws the same weights
        self.self_attn = nn.MultiheadAttention(hidden_size, num_attention_heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(hidden_size, intermediate_size)
        self.linear2 = nn.Linear(intermediate_size, hidden_size)
        self.norm1 = nn.LayerNorm(hidden_size)
        self.norm2 = nn.LayerNorm(hidden_size)
        self.dropout = dropout

    def forward(self, hidden: torch.Tensor, attention_bias: torch.Tensor | None = None) -> torch.Tensor:
        """(batch, length, hidden_size) -> same; ``attention_bias`` (batch, 1, 1, length) is -inf at padding."""
        attended = _attention(self.self_attn, hidden, None, attention_bias, self.training)
        hidden = self.norm1(hidden + native_dropout(attended, self.dropout, self.training))
        return self.norm2(hidden + self.feed_forward(hidden))

    def forward_packed(self, hidden: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
        """`forward` over packed tokens: (num_tokens, hidden_size) at ``layout`` -> same."""
        attended = _packed_attention(self.self_attn, hidden, layout, hidden, layout, self.training)
        hidden = self.norm1(hidden + native_dropout(attended, self.dropout, self.training))
        return self.norm2(hidden + self.feed_forward(hidden))


class TransformerDecoderLayer(_FeedForwardLayer):
    """`nn.TransformerDecoderLayer` (post-norm, ReLU, batch first): self-attention, cross-attention to the memory,
    then a feed-forward block. Arguments as `TransformerEncoderLayer`'s."""

    def __init__(self, hidden_size: int, num_attention_heads: int, intermediate_size: int, dropout: float):
        super().__init__()  # submodules in torch.nn's order
        self.self_attn = nn.MultiheadAttention(hidden_size, num_attention_heads, dropout=dropout, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(
            hidden_size, num_attention_heads, dropout=dropout, batch_first=True
        )
        self.linear1 = nn.Linear(hidden_size, intermediate_size)
        self.linear2 = nn.Linear(intermediate_size, hidden_size)
        self.norm1 = nn.LayerNorm(hidden_size)
        self.norm2 = nn.LayerNorm(hidden_size)
        self.norm3 = nn.LayerNorm(hidden_size)
        self.dropout = dropout

    def forward(
        self,
        hidden: torch.Tensor,
        memory: torch.Tensor,
        attention_bias: torch.Tensor | None = None,
        memory_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(batch, length, hidden_size) and memory (batch, memory_length, hidden_size) -> (batch, length, hidden_size).

        ``attention_bias`` (batch, 1, 1, length) and ``memory_bias`` (batch, 1, 1, memory_length) are -inf at padding.
        """
        attended = _attention(self.self_attn, hidden, None, attention_bias, self.training)
        hidden = self.norm1(hidden + native_dropout(attended, self.dropout, self.training))
        attended = _attention(self.multihead_attn, hidden, memory, memory_bias, self.training)
        hidden = self.norm2(hidden + native_dropout(attended, self.dropout, self.training))
        return self.norm3(hidden + self.feed_forward(hidden))

    def forward_packed(
        self,
        hidden: torch.Tensor,
        layout: TokenLayout,
        memory: torch.Tensor,
        memory_layout: TokenLayout,
        query_rows: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`forward` over packed tokens, with outputs at every token or at ``query_rows`` only.

        Args:
            hidden (torch.FloatTensor of shape (num_tokens, hidden_size)): at ``layout``.
            memory (torch.FloatTensor of shape (num_memory_tokens, hidden_size)): at ``memory_layout``.
            query_rows (torch.LongTensor of shape (num_queries,), optional): rows of ``hidden`` to compute outputs
                for; self-attention still reads every token.

        Returns:
            torch.FloatTensor of shape (num_tokens or num_queries, hidden_size).
        """
        queries, query_layout = hidden, layout
        if query_rows is not None:
            queries = hidden.index_select(0, query_rows)
            query_layout = layout._replace(slots=layout.slots.index_select(0, query_rows))
        attended = _packed_attention(self.self_attn, queries, query_layout, hidden, layout, self.training)
        queries = self.norm1(queries + native_dropout(attended, self.dropout, self.training))
        attended = _packed_attention(self.multihead_attn, queries, query_layout, memory, memory_layout, self.training)
        queries = self.norm2(queries + native_dropout(attended, self.dropout, self.training))
        return self.norm3(queries + self.feed_forward(queries))


class TransformerEncoder(nn.Module):
    """A stack of `TransformerEncoderLayer` (`nn.TransformerEncoder` without a final norm); like `torch.nn`'s, every
    layer starts as a copy of the first."""

    def __init__(self, layer: TransformerEncoderLayer, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(copy.deepcopy(layer) for _ in range(num_layers))

    def forward(self, hidden: torch.Tensor, src_key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(batch, length, hidden_size) -> same; ``src_key_padding_mask`` (batch, length) is True at padding."""
        attention_bias = _attention_mask(src_key_padding_mask, hidden.dtype)
        for layer in self.layers:
            hidden = layer(hidden, attention_bias)
        return hidden

    def forward_packed(self, hidden: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
        """`forward` over packed tokens: (num_tokens, hidden_size) at ``layout`` -> same."""
        for layer in self.layers:
            hidden = layer.forward_packed(hidden, layout)
        return hidden


class TransformerDecoder(nn.Module):
    """A stack of `TransformerDecoderLayer` (`nn.TransformerDecoder` without a final norm or causal mask)."""

    def __init__(self, layer: TransformerDecoderLayer, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(copy.deepcopy(layer) for _ in range(num_layers))

    def forward(
        self,
        hidden: torch.Tensor,
        memory: torch.Tensor,
        tgt_key_padding_mask: torch.Tensor | None = None,
        memory_key_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Decode ``hidden`` (batch, length, hidden_size) against ``memory``; the masks are True at padding."""
        attention_bias = _attention_mask(tgt_key_padding_mask, hidden.dtype)
        memory_bias = _attention_mask(memory_key_padding_mask, memory.dtype)
        for layer in self.layers:
            hidden = layer(hidden, memory, attention_bias, memory_bias)
        return hidden

    def forward_packed(
        self,
        hidden: torch.Tensor,
        layout: TokenLayout,
        memory: torch.Tensor,
        memory_layout: TokenLayout,
        query_rows: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`forward` over packed tokens; with ``query_rows``, the last layer computes those rows' outputs only.

        Args as `TransformerDecoderLayer.forward_packed`'s. Returns (num_tokens or num_queries, hidden_size).
        """
        *first_layers, last_layer = self.layers
        for layer in first_layers:
            hidden = layer.forward_packed(hidden, layout, memory, memory_layout)
        return last_layer.forward_packed(hidden, layout, memory, memory_layout, query_rows)


def build_transformer_encoder(config: DMRJRGConfig, num_layers: int) -> TransformerEncoder:
    """``num_layers`` encoder layers with the config's width, heads, feed-forward size and dropout."""
    layer = TransformerEncoderLayer(
        config.hidden_size, config.num_attention_heads, config.intermediate_size, config.dropout
    )
    return TransformerEncoder(layer, num_layers)


def build_transformer_decoder(config: DMRJRGConfig, num_layers: int) -> TransformerDecoder:
    """``num_layers`` decoder layers with the config's width, heads, feed-forward size and dropout."""
    layer = TransformerDecoderLayer(
        config.hidden_size, config.num_attention_heads, config.intermediate_size, config.dropout
    )
    return TransformerDecoder(layer, num_layers)
