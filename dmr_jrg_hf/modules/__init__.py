"""Building blocks of the DMR-JRG model (paper §III); `DMRJRGModel` in `modeling_dmr_jrg` assembles them."""

from .candidate_grid import CandidateGrid, masked_conv_weights
from .class_token_encoder import (
    ClassTokenEncoder,
    ParagraphClassTokenEncoder,
    ParagraphVideoRetrievalHead,
    VideoClassTokenEncoder,
)
from .clip_alignment import SentenceClipAlignment, aligned_moment_cells, clip_alignment_loss
from .fusion import SentenceMomentFusion
from .global_branch import GlobalAlignmentBranch, fuse_top_candidates
from .local_branch import LocalConsistencyBranch, top_candidate_cells
from .losses import (
    cross_modal_retrieval_loss,
    info_nce_loss,
    masked_binary_cross_entropy,
    reconstruction_loss,
    reconstruction_rank_loss,
    reconstruction_rewards,
    score_distillation_loss,
    triplet_ranking_loss,
)
from .reconstructor import MaskedWordReconstructor
from .temporal_adjacent_network import MomentScoreHead, TemporalAdjacentNetwork
from .temporal_map import TemporalFeatureMap, range_max_pool
from .temporal_sync import BidirectionalTemporalSync, soft_iou_labels, span_iou_labels
from .text_encoder import SentenceEncoder
from .valid_cell_convolution import valid_cell_conv2d, valid_cell_pairs

__all__ = [
    "BidirectionalTemporalSync",
    "CandidateGrid",
    "ClassTokenEncoder",
    "GlobalAlignmentBranch",
    "LocalConsistencyBranch",
    "MaskedWordReconstructor",
    "MomentScoreHead",
    "ParagraphClassTokenEncoder",
    "ParagraphVideoRetrievalHead",
    "SentenceClipAlignment",
    "SentenceEncoder",
    "SentenceMomentFusion",
    "TemporalAdjacentNetwork",
    "TemporalFeatureMap",
    "VideoClassTokenEncoder",
    "aligned_moment_cells",
    "clip_alignment_loss",
    "cross_modal_retrieval_loss",
    "fuse_top_candidates",
    "info_nce_loss",
    "masked_binary_cross_entropy",
    "masked_conv_weights",
    "range_max_pool",
    "reconstruction_loss",
    "reconstruction_rank_loss",
    "reconstruction_rewards",
    "score_distillation_loss",
    "soft_iou_labels",
    "span_iou_labels",
    "top_candidate_cells",
    "triplet_ranking_loss",
    "valid_cell_conv2d",
    "valid_cell_pairs",
]
