"""Visual-textual feature alignment on the global dimension, VTFA-GD (paper §III-F, Eq. 14-16).

CMFF (Eq. 14) fuses each sentence's top-Q cells of the TAN output into one visual feature; E3 (Eq. 15, E1's layers
with a class token of its own) aggregates a paragraph's sentence features; a 1x1 convolution fuses the result with
E1's video class token (Eq. 16). Its loss, ``L_global``, is `cross_modal_retrieval_loss` on the fused token (§III-F),
and GRRM (Eq. 17) distils its similarity into the retrieval branch's.
"""

from __future__ import annotations

import torch
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from .class_token_encoder import VideoClassTokenEncoder

__all__ = ["fuse_top_candidates", "GlobalAlignmentBranch"]


def fuse_top_candidates(feature_maps: torch.Tensor, top_cells: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """CMFF (Eq. 14, Fig. 4): ``f-_m = Σ_q w_q F-_m(top cell q)``, gathered per (sample, sentence).

    Args:
        feature_maps (torch.FloatTensor of shape (batch, num_sentences, hidden_size, num_clips, num_clips)): ``F-_m``.
        top_cells (torch.LongTensor of shape (batch, num_sentences, num_top_candidates)): flat cell index
            ``i * K + j`` of each sentence's top-Q candidates, best first.
        weights (torch.FloatTensor of shape (num_top_candidates,)): ``w_1..w_Q``.

    Returns:
        torch.FloatTensor of shape (batch, num_sentences, hidden_size).
    """
    batch, num_sentences, hidden_size = feature_maps.shape[:3]
    flat = feature_maps.reshape(batch, num_sentences, hidden_size, -1)  # (batch, M, hidden, K*K)
    index = top_cells[:, :, None, :].expand(-1, -1, hidden_size, -1)  # (batch, M, hidden, Q)
    candidates = flat.gather(3, index)  # (batch, M, hidden, Q)
    return candidates @ weights


class GlobalAlignmentBranch(nn.Module):
    """VTFA-GD (§III-F, Eq. 14-16): CMFF, E3 over the sentence visual features, Conv1x1 fusion with E1's token.

    E3 shares E1's layers (the ``video_encoder`` passed to `forward`, never a copy) and owns its class token
    ``f'_cls,v``. CMFF weights are ``config.candidate_fusion_weights``, a parameter when
    ``config.learnable_candidate_fusion_weights``.
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(config.hidden_size))
        self.class_token_fusion = nn.Conv1d(2 * config.hidden_size, config.hidden_size, kernel_size=1)
        weights = torch.tensor(config.candidate_fusion_weights, dtype=torch.float32)
        if config.learnable_candidate_fusion_weights:
            self.candidate_fusion_weights = nn.Parameter(weights)
        else:
            self.register_buffer("candidate_fusion_weights", weights)

    def forward(
        self,
        feature_maps: torch.Tensor,
        top_cells: torch.Tensor,
        sentence_mask: torch.Tensor,
        video_class_tokens: torch.Tensor,
        video_encoder: VideoClassTokenEncoder,
    ) -> torch.Tensor:
        """The fused visual class token ``f~_cls,f`` of each paragraph's video (Eq. 16).

        Args:
            feature_maps (torch.FloatTensor of shape (batch, num_sentences, hidden_size, num_clips, num_clips)).
            top_cells (torch.LongTensor of shape (batch, num_sentences, num_top_candidates)).
            sentence_mask (torch.BoolTensor of shape (batch, num_sentences)).
            video_class_tokens (torch.FloatTensor of shape (batch, hidden_size)): ``f~_cls,v`` from E1.
            video_encoder (VideoClassTokenEncoder): E1, whose layers E3 shares.

        Returns:
            torch.FloatTensor of shape (batch, hidden_size).
        """
        sentence_visual = fuse_top_candidates(feature_maps, top_cells, self.candidate_fusion_weights)
        global_token = video_encoder(sentence_visual, sentence_mask, class_token=self.class_token)  # (batch, hidden)
        stacked = torch.cat([video_class_tokens, global_token], dim=-1)[..., None]  # (batch, 2*hidden, 1)
        return self.class_token_fusion(stacked)[..., 0]
