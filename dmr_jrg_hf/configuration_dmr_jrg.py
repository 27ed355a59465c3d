"""DMR-JRG configuration: every hyper-parameter of the model, its losses, ablations and training schedule."""

from __future__ import annotations

import difflib
import logging
import os
from typing import Any, ClassVar

from transformers import PretrainedConfig

from .errors import ConfigError, DataFormatError
from .files import read_json_file
from .geometry import valid_cell_mask
from .tokenization_dmr_jrg import VECTOR_POSTPROCESSING

__all__ = [
    "DMRJRGConfig",
    "OBJECTIVES",
    "PRESETS",
    "ABLATION_PRESETS",
    "TEMPORAL_SYNC_DIRECTIONS",
    "SUPERVISION_MODES",
    "TRIPLET_NEGATIVES",
    "TAN_IMPLEMENTATIONS",
    "RECONSTRUCTOR_LAYOUTS",
]

logger = logging.getLogger(__name__)

TEMPORAL_SYNC_DIRECTIONS = ("both", "forward", "reverse", "none")
SUPERVISION_MODES = ("weak", "full", "semi")
TRIPLET_NEGATIVES = ("all", "hardest")
TAN_IMPLEMENTATIONS = ("auto", "winograd", "valid_cells", "dense")
RECONSTRUCTOR_LAYOUTS = ("auto", "packed", "padded")

# Presets are deltas over the defaults (the paper's values, §IV-B), one short dict per benchmark.
PRESETS: dict[str, dict[str, Any]] = {
    "activitynet": {
        "feature_dim": 500,  # C3D features of sub_activitynet_v1-3.c3d.hdf5
        "num_clips": 32,  # 32x32 score map (§IV-B, as 2D-TAN)
        "map_scale_layers": [16, 8, 8],  # 2D-TAN sparse scheme: 428 valid cells
        "tan_kernel_size": 9,
        "tan_padding": 4,
        "train_batch_size": 16,
    },
    "charades": {
        "feature_dim": 4096,  # VGG features of 2D-TAN's Charades-STA release
        "num_clips": 16,
        "map_scale_layers": [16],
        "tan_kernel_size": 5,
        "tan_padding": 2,
        "train_batch_size": 16,
    },
    "tacos": {
        "feature_dim": 4096,  # tall_c3d_features.hdf5
        "num_clips": 16,
        "map_scale_layers": [16],
        "tan_kernel_size": 5,
        "tan_padding": 2,
        "train_batch_size": 6,
        "min_iou": 0.3,  # 2D-TAN's TACoS soft-label range
        "max_iou": 0.7,
    },
    "tiny": {
        "feature_dim": 12,
        "hidden_size": 16,
        "word_embedding_dim": 8,
        "vocab_size": 40,
        "num_clips": 8,
        "map_scale_layers": [8],
        "num_encoder_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "num_reconstructor_layers": 1,
        "tan_kernel_size": 3,
        "tan_padding": 1,
        "train_batch_size": 4,
        "num_train_epochs": 2,
        "dropout": 0.0,
    },
    # The model `dmr-jrg demo` trains on the embedded synthetic benchmark (64-d features) in a few CPU minutes.
    "synthetic": {
        "feature_dim": 64,
        "hidden_size": 64,
        "word_embedding_dim": 32,
        "vocab_size": 40,
        "num_clips": 16,
        "map_scale_layers": [16],
        "num_encoder_layers": 1,
        "num_attention_heads": 4,
        "intermediate_size": 128,
        "num_reconstructor_layers": 1,
        "tan_kernel_size": 5,
        "tan_padding": 2,
        "dropout": 0.0,
        "learning_rate": 1e-3,
        "lr_decay_epochs": 7,
        "num_train_epochs": 15,
        "train_batch_size": 16,
        # the embedded Word2Vec gives the words of a templated corpus almost the same vector (every verb in the
        # same contexts); whitening keeps them apart for the frozen input of the Bi-LSTM
        "word_vector_postprocessing": "whiten",
    },
}

# Training objectives, as deltas over the defaults per supervision mode. "paper" is Eq. 23 term for term (the
# defaults). "grounding", the default of the benchmark presets, adds two terms that are not in the paper
# (`modules.clip_alignment`) and lowers BTSE-TD to 0.1: with Eq. 23 alone a weakly trained score map grounds no better
# than the middle of the video on realistic data, and BTSE-TD's pseudo-labels (the map's own gated argmax) pull against
# the alignment's. With timestamps ("full", "semi") BTSE-TD is off, since its self-made labels pull a supervised map
# down; "semi" keeps the alignment terms for its unannotated paragraphs. README, "Weak grounding", has the numbers.
_GROUNDING_WEAK = {"clip_alignment_weight": 1.0, "alignment_pseudo_label_weight": 10.0, "temporal_loss_weight": 0.1}
OBJECTIVES: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {"weak": {}, "full": {}, "semi": {}},
    "grounding": {
        "weak": _GROUNDING_WEAK,
        "full": {"temporal_sync_directions": "none"},
        "semi": {**_GROUNDING_WEAK, "temporal_loss_weight": 1.0, "temporal_sync_directions": "none"},
    },
}
_PRESET_OBJECTIVES = {
    "activitynet": "grounding",
    "charades": "grounding",
    "tacos": "grounding",
    "tiny": "paper",
    "synthetic": "grounding",
}

# Rows of the paper's Table IV (ablation on ActivityNet Captions) as switch settings. "base" is SCN-style proposal
# scoring over paragraphs: the fused map goes to the score head without the Temporal Adjacent Network, trained with the
# reconstruction and rank losses; VTC-LD adds the TAN context (2D-TAN) on top.
_ALL_OFF = {
    "use_retrieval_branch": False,
    "use_temporal_adjacent_network": False,
    "temporal_sync_directions": "none",
    "use_global_branch": False,
    "use_score_distillation": False,
}
ABLATION_PRESETS: dict[str, dict[str, Any]] = {
    "base": dict(_ALL_OFF),
    "base+vpcmr": {**_ALL_OFF, "use_retrieval_branch": True},
    "base+vpcmr+vtc-ld": {**_ALL_OFF, "use_retrieval_branch": True, "use_temporal_adjacent_network": True},
    "base+vpcmr+vtc-ld+btse-forward": {
        **_ALL_OFF,
        "use_retrieval_branch": True,
        "use_temporal_adjacent_network": True,
        "temporal_sync_directions": "forward",
    },
    "base+vpcmr+vtc-ld+btse-reverse": {
        **_ALL_OFF,
        "use_retrieval_branch": True,
        "use_temporal_adjacent_network": True,
        "temporal_sync_directions": "reverse",
    },
    "base+vpcmr+vtc-ld+btse": {
        **_ALL_OFF,
        "use_retrieval_branch": True,
        "use_temporal_adjacent_network": True,
        "temporal_sync_directions": "both",
    },
    "base+vpcmr+vtc-ld+btse+vtfa-gd": {
        "use_retrieval_branch": True,
        "use_temporal_adjacent_network": True,
        "temporal_sync_directions": "both",
        "use_global_branch": True,
        "use_score_distillation": False,
    },
    "full": {
        "use_retrieval_branch": True,
        "use_temporal_adjacent_network": True,
        "temporal_sync_directions": "both",
        "use_global_branch": True,
        "use_score_distillation": True,
    },
}

# Keys that transformers itself passes through `**kwargs` (saved configs, from_pretrained); anything else is a typo.
_TRANSFORMERS_KEYS = frozenset(
    {
        "auto_map",
        "model_type",
        "name_or_path",
        "_name_or_path",
        "_commit_hash",
        "torch_dtype",
        "num_labels",
        "output_attentions",
        "attn_implementation",
        "experts_implementation",
        "per_layer_config",
        "_attn_implementation_internal",
        "_experts_implementation_internal",
    }
)


# Fields of earlier versions whose experiments were removed from the model (training-only loss terms, no weights). A
# saved config that lists them still loads (`DMRJRGConfig.from_dict` drops them); passed to the constructor, they are
# unknown fields.
_RETIRED_FIELDS = frozenset(
    {
        "intra_video_contrast_weight",
        "contrast_whole_video_margin",
        "contrast_complement_margin",
        "reconstruction_pseudo_label_weight",
    }
)


def _closest(name: str, choices) -> str:
    match = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


class DMRJRGConfig(PretrainedConfig):
    r"""Configuration of [`DMRJRGModel`]: architecture, losses (paper Eq. 1-23), ablation switches and schedule.

    Defaults are the paper's values (§IV-B) where it gives them; [`DMRJRGConfig.from_preset`] gives the per-benchmark
    settings. The fields of the paper come first, by part; every field the paper does not have is under "Not in the
    paper".

    Architecture (§III-C to §III-G):
        feature_dim (int, default 500): D, the dimension of the input clip features (C3D on ActivityNet).
        hidden_size (int, default 512): d, the model width (d_model) shared by every branch.
        word_embedding_dim (int, default 300): d_s of the frozen word2vec vectors (input of the Bi-LSTM, §III-C-1).
        vocab_size (int, default 10000): V, set from the processor's vocabulary before the model is built.
        pad_token_id (int, default 0), unk_token_id (int, default 1), mask_token_id (int, default 2): special words.
        num_clips (int, default 16): K, clips per video and side of the 2D temporal map.
        num_sampled_frames (int, default 256): frames every video is resampled to before pooling to K clips (2D-TAN's
            feature pipeline, which §IV-B follows).
        map_scale_layers (list[int], default [16]): 2D-TAN sparse scheme (spans per scale); dense when the first
            entry is >= K. ActivityNet uses [16, 8, 8] (428 valid cells at K=32).
        num_encoder_layers (int, default 2): layers of the class-token encoders E1/E2 (Eq. 1) and E3 (Eq. 15).
        num_attention_heads (int, default 8), intermediate_size (int, default 1024): heads and feed-forward width of
            every Transformer layer (E1-E3 and the reconstructor of Eq. 9); the paper gives none of these sizes.
        tan_num_layers (int, default 4): conv layers of the Temporal Adjacent Network (§III-E).
        tan_kernel_size (int, default 5), tan_padding (int, default 2): TAN conv kernel and padding (2D-TAN's).
        num_top_candidates (int, default 3): Q, proposals per sentence for reconstruction and CMFF (Eq. 9, 14).
        candidate_fusion_weights (list[float], default [0.4, 0.3, 0.3]): w_1..w_Q of CMFF (Eq. 14).
        num_reconstructor_layers (int, default 2): encoder and decoder layers of the masked-word reconstructor (Eq. 9).
        word_mask_ratio (float, default 1/3): share of words masked per sentence (at least one), §III-C.

    Losses (Eq. 2-23):
        triplet_margin (float, default 0.2): Δ of the triplet losses (Eq. 6-7).
        retrieval_nce_weight (float, default 0.04): β1 in L_cmr = L_trip + β1·L_nce (§III-D).
        global_nce_weight (float, default 0.04): β2 in L_global = L_trip + β2·L_nce (§III-F).
        logit_scale_init_value (float, default 2.6592): initial log of λ, the InfoNCE scale (Eq. 3-4; CLIP's initial
            value, the paper gives none).
        learnable_logit_scale (bool, default True): learn λ (the paper's best setting, Fig. 8).
        min_iou (float, default 0.5), max_iou (float, default 1.0): IoU range mapped to the soft labels 0..1 of
            BTSE-TD (Eq. 20-21, as 2D-TAN).
        retrieval_loss_weight, local_loss_weight, global_loss_weight, temporal_loss_weight, distillation_loss_weight
            (float, default 1.0): weights of L_cmr, L_local, L_global, L_time and L_mse in Eq. 23.

    Ablation switches (Table IV):
        use_retrieval_branch (bool, default True): VPCMR (Eq. 1-7).
        use_temporal_adjacent_network (bool, default True): the TAN of VTC-LD; off gives the SCN-style "base" row.
        temporal_sync_directions (str, default "both"): BTSE-TD directions, one of "both", "forward", "reverse",
            "none" (Eq. 18-22).
        use_global_branch (bool, default True): VTFA-GD (Eq. 14-16).
        use_score_distillation (bool, default True): GRRM (Eq. 17); needs both the retrieval and global branches.

    Training schedule (§IV-B):
        learning_rate (float, default 1e-4), lr_decay_factor (float, default 0.8), lr_decay_epochs (int, default 20),
        num_train_epochs (int, default 100), train_batch_size (int, default 16): Adam, its step decay, epochs and batch
            size.

    Not in the paper:
        dropout (float, default 0.1): dropout in encoders, reconstructor and clip projection.
        tan_implementation (str, default "auto"): how the TAN convolutions run: "winograd" (Winograd's minimal
            filtering at the map's valid cells, kernels up to 7, computed in float32 even under autocast),
            "valid_cells" (a direct convolution at the valid cells only), "dense" (``nn.Conv2d`` over the whole map)
            or "auto" (on a CPU from hidden_size 32 up "winograd", or from 128 up "valid_cells" for larger kernels;
            else "dense"). All compute the same convolution; "winograd" rounds about thirty times more in float32
            (8e-6 of the largest output at hidden 128), the others differ in summation order only.
        reconstructor_layout (str, default "auto"): how the masked-word reconstructor runs in training: "packed"
            (its encoder over the clips inside each proposal, its decoder over the real words, the last decoder
            layer and the classifier at the masked words only: a Charades-STA step at hidden_size 128 falls from
            27.9 to 19.5 GFLOP; finding those tokens reads the masks' values, a host sync on an accelerator),
            "padded" (every clip and word position, masked in attention; static shapes) or "auto" (on a CPU,
            outside ``torch.compile``, from hidden_size 32 up "packed"; else "padded"). Both compute the same
            losses; in training the packed layout draws dropout for fewer elements, so a seeded run differs.
        learnable_candidate_fusion_weights (bool, default False): train w_1..w_Q of Eq. 14 instead of keeping them
            fixed.
        proposal_suppression_iou (float, default 1.0): during training, a cell overlapping an already chosen proposal
            with IoU above this is not taken as another of the Q proposals (reconstruction, rank loss, CMFF); 1.0 is
            the paper's plain top-Q, lower values make the Q proposals distinct moments.
        reconstruction_label_smoothing (float, default 0.1): label smoothing of L_rec (Eq. 11); 0.0 is the paper.
        triplet_negatives (str, default "all"): in-batch negatives of the triplet losses, "all" (hinge averaged over
            every negative) or "hardest" (VSE++); the paper only says they are sampled from the batch.
        max_logit_scale (float, default 100.0): λ is clamped to this value (as CLIP).
        rank_loss_weight (float, default 1.0): weight of L_rank inside L_local = L_rec + L_rank (Eq. 13); 1.0 is the
            paper.
        rank_loss_temperature (float, optional): divide the proposals' probabilities by this before Eq. 12's softmax
            (a softmax over values in [0, 1] is nearly uniform, so the term barely moves); None is the paper.
        clip_alignment_weight (float, default 0.0): weight of the sentence-clip multiple-instance alignment
            (`clip_alignment_loss`): each sentence must match its own video's best clip better than the other videos
            of the batch. 0.0 is the paper (and builds no alignment module).
        clip_alignment_temperature (float, default 0.1): softmax temperature of that alignment's cosine scores.
        alignment_pseudo_label_weight (float, default 0.0): weight of a BCE that pulls ``P_m`` towards the 2D-TAN soft
            IoU labels of the cell the alignment points at (`aligned_moment_cells`). Needs
            ``clip_alignment_weight > 0``. 0.0 is the paper.
        objective (str, default "paper"): the training objective `from_preset` applied (`OBJECTIVES`): "paper" (Eq. 23
            term for term) or "grounding" (the benchmark presets' default; adds the alignment terms and changes
            BTSE-TD's weight). Recorded for the model card and the training log; the weights themselves are the
            fields above, so an override after the preset shows there.
        use_paper_literal_temporal_sync (bool, default False): give the BTSE prediction layers no gradient, exactly as
            Eq. 18-22 are written; the default trains them (see `BidirectionalTemporalSync`).
        supervision (str, default "weak"): "weak" (paragraph-video pairs only, the paper), "full" (2D-TAN BCE on
            timestamps) or "semi" (a fraction of paragraphs with timestamps).
        word_vector_postprocessing (str, default "none"): not in the paper; how the processor post-processes the
            frozen word vectors it builds (`tokenization_dmr_jrg.VECTOR_POSTPROCESSING`): "none" (the paper),
            "center" or "whiten".
        text_encoder (str, default "bilstm"): the sentence encoder. "bilstm" is the paper's Word2Vec + Bi-LSTM
            (§III-C-1); anything else is the Hub id or local folder of a transformers text encoder (e.g. BERT, the
            alternative of Table VI), run over its own subword tokens (`TransformerSentenceEncoder`). With a
            transformer the processor tokenises with its tokenizer, and ``vocab_size`` and the pad/unk/mask ids are
            that tokenizer's (`build_model_and_processor` sets them).
        freeze_text_encoder (bool, default False): keep the transformer's pretrained weights fixed (and its dropout
            off); only its output projection trains. Ignored with "bilstm", whose word vectors are always frozen.
        text_encoder_config (dict, optional): the transformer's own config (``to_dict()``), so a saved model rebuilds
            its text encoder without downloading anything; filled from ``text_encoder`` when the model is built.
        semi_supervised_fraction (float, default 0.1): share of training paragraphs whose timestamps "semi" uses.
        supervised_loss_weight (float, default 1.0): weight of the 2D-TAN BCE on timestamps ("full"/"semi" only).
        nms_threshold (float, default 0.5): IoU above which a lower-scored moment is suppressed at inference.
        max_grad_norm (float, default 10.0): gradient-norm clipping of the training step.
        eval_batch_size (int, default 64): batch size of evaluation.

    Example:
        >>> config = DMRJRGConfig.from_preset("activitynet")
        >>> config.num_clips, config.train_batch_size
        (32, 16)
    """

    model_type = "dmr_jrg"
    preset_names: ClassVar[tuple[str, ...]] = tuple(PRESETS)

    feature_dim: int = 500
    hidden_size: int = 512
    word_embedding_dim: int = 300
    vocab_size: int = 10000
    pad_token_id: int = 0
    unk_token_id: int = 1
    mask_token_id: int = 2
    num_clips: int = 16
    num_sampled_frames: int = 256
    map_scale_layers: list[int] | None = None
    num_encoder_layers: int = 2
    num_attention_heads: int = 8
    intermediate_size: int = 1024
    dropout: float = 0.1
    tan_num_layers: int = 4
    tan_kernel_size: int = 5
    tan_padding: int = 2
    tan_implementation: str = "auto"
    num_top_candidates: int = 3
    candidate_fusion_weights: list[float] | None = None
    learnable_candidate_fusion_weights: bool = False
    proposal_suppression_iou: float = 1.0
    num_reconstructor_layers: int = 2
    reconstructor_layout: str = "auto"
    word_mask_ratio: float = 1.0 / 3.0
    reconstruction_label_smoothing: float = 0.1
    triplet_margin: float = 0.2
    triplet_negatives: str = "all"
    retrieval_nce_weight: float = 0.04
    global_nce_weight: float = 0.04
    logit_scale_init_value: float = 2.6592
    learnable_logit_scale: bool = True
    max_logit_scale: float = 100.0
    min_iou: float = 0.5
    max_iou: float = 1.0
    nms_threshold: float = 0.5
    retrieval_loss_weight: float = 1.0
    local_loss_weight: float = 1.0
    rank_loss_weight: float = 1.0
    rank_loss_temperature: float | None = None
    clip_alignment_weight: float = 0.0
    clip_alignment_temperature: float = 0.1
    alignment_pseudo_label_weight: float = 0.0
    global_loss_weight: float = 1.0
    temporal_loss_weight: float = 1.0
    distillation_loss_weight: float = 1.0
    supervised_loss_weight: float = 1.0
    objective: str = "paper"
    use_retrieval_branch: bool = True
    use_temporal_adjacent_network: bool = True
    temporal_sync_directions: str = "both"
    use_global_branch: bool = True
    use_score_distillation: bool = True
    use_paper_literal_temporal_sync: bool = False
    supervision: str = "weak"
    word_vector_postprocessing: str = "none"
    text_encoder: str = "bilstm"
    freeze_text_encoder: bool = False
    text_encoder_config: dict[str, Any] | None = None
    semi_supervised_fraction: float = 0.1
    learning_rate: float = 1e-4
    lr_decay_factor: float = 0.8
    lr_decay_epochs: int = 20
    num_train_epochs: int = 100
    max_grad_norm: float = 10.0
    train_batch_size: int = 16
    eval_batch_size: int = 64

    def __post_init__(self, **kwargs):
        unknown = sorted(set(kwargs) - _TRANSFORMERS_KEYS)
        if unknown:
            fields = self.__dataclass_fields__
            hints = "; ".join(
                f"'{name}' (retired: its experiment was removed)"
                if name in _RETIRED_FIELDS
                else f"'{name}'{_closest(name, fields)}"
                for name in unknown
            )
            raise ConfigError(f"DMRJRGConfig got unknown field(s): {hints}")
        if self.map_scale_layers is None:
            self.map_scale_layers = [16]
        if self.candidate_fusion_weights is None:
            self.candidate_fusion_weights = [0.4, 0.3, 0.3]
        self.map_scale_layers = [int(n) for n in self.map_scale_layers]
        self.candidate_fusion_weights = [float(w) for w in self.candidate_fusion_weights]
        super().__post_init__(**kwargs)
        self._check_values()

    # Validation ------------------------------------------------------------------------------------------------

    def _check_values(self) -> None:
        """Check every field once, at construction; raise `ConfigError` naming the field and its allowed values."""
        for name in (
            "feature_dim hidden_size word_embedding_dim vocab_size num_clips num_sampled_frames num_encoder_layers "
            "num_attention_heads intermediate_size tan_num_layers tan_kernel_size num_top_candidates "
            "num_reconstructor_layers lr_decay_epochs num_train_epochs train_batch_size eval_batch_size"
        ).split():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        for name in ("dropout", "reconstruction_label_smoothing"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        for name in ("word_mask_ratio", "semi_supervised_fraction", "lr_decay_factor"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        for name in (
            "triplet_margin retrieval_nce_weight global_nce_weight retrieval_loss_weight local_loss_weight "
            "rank_loss_weight global_loss_weight temporal_loss_weight distillation_loss_weight supervised_loss_weight "
            "clip_alignment_weight alignment_pseudo_label_weight max_grad_norm learning_rate"
        ).split():
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.rank_loss_temperature is not None and not self.rank_loss_temperature > 0:
            raise ConfigError(f"rank_loss_temperature must be > 0 or None, got {self.rank_loss_temperature!r}")
        if self.clip_alignment_temperature <= 0:
            raise ConfigError(f"clip_alignment_temperature must be > 0, got {self.clip_alignment_temperature!r}")
        if self.alignment_pseudo_label_weight > 0 and self.clip_alignment_weight == 0:
            raise ConfigError(
                "alignment_pseudo_label_weight > 0 needs clip_alignment_weight > 0: without the alignment loss its "
                "pseudo-labels come from an untrained similarity"
            )
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        if self.hidden_size % 2:
            raise ConfigError(f"hidden_size must be even (Bi-LSTM halves), got {self.hidden_size}")
        if self.tan_kernel_size % 2 == 0 or 2 * self.tan_padding != self.tan_kernel_size - 1:
            raise ConfigError(
                f"tan_kernel_size must be odd and tan_padding == (tan_kernel_size - 1) // 2 so the map keeps its "
                f"size, "
                f"got kernel {self.tan_kernel_size} and padding {self.tan_padding}"
            )
        if (
            len({self.pad_token_id, self.unk_token_id, self.mask_token_id}) != 3
            or min(self.pad_token_id, self.unk_token_id, self.mask_token_id) < 0
            or max(self.pad_token_id, self.unk_token_id, self.mask_token_id) >= self.vocab_size
        ):
            raise ConfigError("pad/unk/mask token ids must be distinct ids inside [0, vocab_size)")
        self._check_choices()
        self._check_candidates()

    def _check_choices(self) -> None:
        from .modules.winograd_convolution import WINOGRAD_MAX_KERNEL_SIZE  # the modules import this one

        if self.temporal_sync_directions not in TEMPORAL_SYNC_DIRECTIONS:
            raise ConfigError(
                f"temporal_sync_directions must be one of {TEMPORAL_SYNC_DIRECTIONS}, "
                f"got {self.temporal_sync_directions!r}"
            )
        if self.tan_implementation not in TAN_IMPLEMENTATIONS:
            raise ConfigError(
                f"tan_implementation must be one of {TAN_IMPLEMENTATIONS}, got {self.tan_implementation!r}"
            )
        if self.tan_implementation == "winograd" and self.tan_kernel_size > WINOGRAD_MAX_KERNEL_SIZE:
            raise ConfigError(
                f"tan_implementation='winograd' takes kernels up to {WINOGRAD_MAX_KERNEL_SIZE}, got tan_kernel_size "
                f"{self.tan_kernel_size}: use 'valid_cells'"
            )
        if self.reconstructor_layout not in RECONSTRUCTOR_LAYOUTS:
            raise ConfigError(
                f"reconstructor_layout must be one of {RECONSTRUCTOR_LAYOUTS}, got {self.reconstructor_layout!r}"
            )
        if self.triplet_negatives not in TRIPLET_NEGATIVES:
            raise ConfigError(f"triplet_negatives must be one of {TRIPLET_NEGATIVES}, got {self.triplet_negatives!r}")
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {tuple(OBJECTIVES)}, got {self.objective!r}")
        if self.supervision not in SUPERVISION_MODES:
            raise ConfigError(f"supervision must be one of {SUPERVISION_MODES}, got {self.supervision!r}")
        if self.word_vector_postprocessing not in VECTOR_POSTPROCESSING:
            raise ConfigError(
                f"word_vector_postprocessing must be one of {VECTOR_POSTPROCESSING}, "
                f"got {self.word_vector_postprocessing!r}"
            )
        if not isinstance(self.text_encoder, str) or not self.text_encoder:
            raise ConfigError(
                f"text_encoder must be 'bilstm' or the Hub id / folder of a transformers text encoder, "
                f"got {self.text_encoder!r}"
            )
        if self.text_encoder_config is not None and self.text_encoder == "bilstm":
            raise ConfigError("text_encoder_config is the config of a transformer text encoder; text_encoder='bilstm'")
        if not 0.0 <= self.min_iou < self.max_iou <= 1.0:
            raise ConfigError(f"need 0 <= min_iou < max_iou <= 1, got min_iou={self.min_iou}, max_iou={self.max_iou}")
        if not 0.0 <= self.proposal_suppression_iou <= 1.0:
            raise ConfigError(f"proposal_suppression_iou must be in [0, 1], got {self.proposal_suppression_iou}")
        if not 0.0 <= self.nms_threshold <= 1.0:
            raise ConfigError(f"nms_threshold must be in [0, 1], got {self.nms_threshold}")
        if self.use_score_distillation and not (self.use_retrieval_branch and self.use_global_branch):
            raise ConfigError("use_score_distillation (GRRM, Eq. 17) needs use_retrieval_branch and use_global_branch")

    def _check_candidates(self) -> None:
        if len(self.candidate_fusion_weights) != self.num_top_candidates:
            raise ConfigError(
                f"candidate_fusion_weights must have num_top_candidates={self.num_top_candidates} entries, "
                f"got {len(self.candidate_fusion_weights)}: {self.candidate_fusion_weights}"
            )
        try:
            num_valid = int(valid_cell_mask(self.num_clips, self.map_scale_layers).sum())
        except ValueError as error:
            raise ConfigError(f"map_scale_layers: {error}") from error
        if self.num_top_candidates > num_valid:
            raise ConfigError(
                f"num_top_candidates ({self.num_top_candidates}) exceeds the {num_valid} valid cells of a "
                f"{self.num_clips}x{self.num_clips} map with map_scale_layers={self.map_scale_layers}"
            )

    # Presets ---------------------------------------------------------------------------------------------------

    @classmethod
    def from_preset(
        cls, name: str, ablation: str | None = None, objective: str | None = None, **overrides: Any
    ) -> DMRJRGConfig:
        """Build the config of a benchmark preset, its training objective and optionally a Table IV ablation row, then
        apply overrides (in that order: a later step wins).

        Args:
            name (str): one of ``activitynet``, ``charades``, ``tacos``, ``tiny`` (tests) or ``synthetic`` (the demo's
                model for the embedded synthetic benchmark).
            ablation (str, optional): a key of `ABLATION_PRESETS`, e.g. ``"base+vpcmr"``.
            objective (str, optional): a key of `OBJECTIVES`: ``"paper"`` (Eq. 23 exactly) or ``"grounding"``; default
                ``"grounding"`` for the three benchmarks and ``synthetic``, ``"paper"`` for ``tiny``. Its weights
                depend on the ``supervision`` override (default ``"weak"``).
            **overrides: any config field.

        Raises:
            ConfigError: unknown preset, objective, ablation or field (the message lists the choices or the closest
                match).

        Example:
            >>> DMRJRGConfig.from_preset("charades").clip_alignment_weight
            1.0
            >>> DMRJRGConfig.from_preset("charades", objective="paper").clip_alignment_weight
            0.0
        """
        if name not in PRESETS:
            raise ConfigError(f"unknown preset '{name}'{_closest(name, PRESETS)}; choose one of {sorted(PRESETS)}")
        objective = objective or overrides.pop("objective", None) or _PRESET_OBJECTIVES[name]
        if objective not in OBJECTIVES:
            raise ConfigError(f"unknown objective '{objective}'; choose one of {list(OBJECTIVES)}")
        supervision = overrides.get("supervision", cls.supervision)
        if supervision not in SUPERVISION_MODES:
            raise ConfigError(f"supervision must be one of {SUPERVISION_MODES}, got {supervision!r}")
        values = {**PRESETS[name], **OBJECTIVES[objective][supervision], "objective": objective}
        if ablation is not None:
            if ablation not in ABLATION_PRESETS:
                raise ConfigError(
                    f"unknown ablation '{ablation}'{_closest(ablation, ABLATION_PRESETS)}; "
                    f"choose one of {list(ABLATION_PRESETS)}"
                )
            values.update(ABLATION_PRESETS[ablation])
        values.update(overrides)
        return cls(**values)

    @classmethod
    def _dict_from_json_file(cls, json_file: str | os.PathLike) -> dict[str, Any]:
        """Read a saved config; a missing, non-UTF-8 or garbled file is a `DataFormatError` naming it."""
        config_dict = read_json_file(json_file)
        if not isinstance(config_dict, dict):
            raise DataFormatError(f"{json_file}: expected a JSON object of config fields")
        return cls._decode_special_floats(config_dict)

    @classmethod
    def from_json_file(cls, json_file: str | os.PathLike) -> DMRJRGConfig:
        """A config from a ``config.json`` file (same checks as `from_dict`)."""
        return cls.from_dict(cls._dict_from_json_file(json_file))

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any) -> DMRJRGConfig:
        """`PretrainedConfig.from_dict`, but a saved config of another ``model_type`` is an error, not a warning, and
        the fields of removed experiments that older saved configs list are dropped (logged once, at info level).

        Raises:
            ConfigError: ``config_dict["model_type"]`` is not ``"dmr_jrg"``.
        """
        model_type = config_dict.get("model_type", cls.model_type)
        if model_type != cls.model_type:
            raise ConfigError(
                f"config has model_type {model_type!r}, expected {cls.model_type!r}: not a DMR-JRG model config"
            )
        retired = sorted(_RETIRED_FIELDS.intersection(config_dict))
        if retired:
            logger.info(
                "config: dropped field(s) of removed experiments (training-only loss terms): %s",
                ", ".join(f"{name}={config_dict[name]!r}" for name in retired),
            )
            config_dict = {name: value for name, value in config_dict.items() if name not in _RETIRED_FIELDS}
        return super().from_dict(config_dict, **kwargs)

    def with_overrides(self, **overrides: Any) -> DMRJRGConfig:
        """A validated copy of this config with some fields changed (unknown fields raise)."""
        values = self.to_dict()
        values.update(overrides)
        return type(self)(**values)

    @property
    def num_valid_cells(self) -> int:
        """Number of candidate moments in the (num_clips, num_clips) map."""
        return int(valid_cell_mask(self.num_clips, self.map_scale_layers).sum())
