"""DMR-JRG model: retrieval branch (VPCMR) and grounding branch (VTC-LD, VTFA-GD, BTSE-TD) with GRRM (paper §III)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_dmr_jrg import DMRJRGConfig
from .errors import ConfigError, InputError
from .modules.candidate_grid import CandidateGrid
from .modules.class_token_encoder import (
    ClassTokenEncoder,
    ParagraphClassTokenEncoder,
    ParagraphVideoRetrievalHead,
    VideoClassTokenEncoder,
)
from .modules.clip_alignment import SentenceClipAlignment, aligned_moment_cells, clip_alignment_loss
from .modules.global_branch import GlobalAlignmentBranch
from .modules.input_checks import check_clip_features, check_map_mask, check_sentence_index, check_word_inputs
from .modules.local_branch import (
    LocalConsistencyBranch,
    real_sentence_index,
    scatter_real_sentences,
    top_candidate_cells,
)
from .modules.losses import cross_modal_retrieval_loss, masked_binary_cross_entropy, score_distillation_loss
from .modules.temporal_adjacent_network import TemporalAdjacentNetwork
from .modules.temporal_map import TemporalFeatureMap
from .modules.temporal_sync import BidirectionalTemporalSync, soft_iou_labels, span_iou_labels
from .modules.text_encoder import SentenceEncoder
from .modules.transformer_text_encoder import TransformerSentenceEncoder

__all__ = ["DMRJRGModelOutput", "DMRJRGPreTrainedModel", "DMRJRGModel"]


@dataclass
class DMRJRGModelOutput(ModelOutput):
    r"""Output of [`DMRJRGModel.forward`]. Loss fields are set only when losses are computed (training mode or
    ``return_loss=True``) and only for the parts the config switches on.

    Args:
        loss (torch.FloatTensor scalar): Eq. 23, ``Σ weight · term`` with the ``*_loss_weight`` fields of the config.
        retrieval_loss (torch.FloatTensor scalar): ``L_cmr = L_trip + β1·L_nce`` (VPCMR, Eq. 2-7).
        local_loss (torch.FloatTensor scalar): ``L_local = L_rec + rank_loss_weight·L_rank`` (VTC-LD, Eq. 13).
        reconstruction_loss (torch.FloatTensor scalar): ``L_rec`` (Eq. 11).
        rank_loss (torch.FloatTensor scalar): ``L_rank`` (Eq. 12).
        clip_alignment_loss (torch.FloatTensor scalar): sentence-clip multiple-instance alignment
            (`clip_alignment_loss`; with ``clip_alignment_weight > 0`` only; not in the paper).
        alignment_pseudo_label_loss (torch.FloatTensor scalar): BCE of ``P_m`` against the soft IoU labels of the
            cell the alignment points at (with ``alignment_pseudo_label_weight > 0`` only; not in the paper).
        global_loss (torch.FloatTensor scalar): ``L_global = L_trip + β2·L_nce`` on ``S_g`` (VTFA-GD, §III-F).
        temporal_loss (torch.FloatTensor scalar): ``L_time = L^f + L^r`` (BTSE-TD, Eq. 20-22) plus the BTSE heads'
            term (`temporal_head_loss`).
        temporal_head_loss (torch.FloatTensor scalar): the BTSE heads' training term (0 when paper-literal; not in the
            paper, see `BidirectionalTemporalSync`).
        distillation_loss (torch.FloatTensor scalar): ``L_mse`` (GRRM, Eq. 17).
        supervised_loss (torch.FloatTensor scalar): 2D-TAN BCE on timestamp IoU maps (``supervision`` full/semi; not
            in the paper).
        score_maps (torch.FloatTensor of shape (batch, num_sentences, num_clips, num_clips)): ``P_m``, zero at invalid
            cells and padded sentences.
        retrieval_similarity (torch.FloatTensor of shape (batch, batch)): ``S_r``, paragraph rows x video columns
            (None with ``use_retrieval_branch=False``: use `DMRJRGModel.grounding_similarity`).
        grounding_similarity (torch.FloatTensor of shape (batch, batch)): ``S_g`` of VTFA-GD (with losses only).
        video_embeddings (torch.FloatTensor of shape (batch, hidden_size)): L2-normalised E1 class tokens.
        paragraph_embeddings (torch.FloatTensor of shape (batch, hidden_size)): L2-normalised E2 class tokens.
        fused_video_embeddings (torch.FloatTensor of shape (batch, hidden_size)): L2-normalised ``f~_cls,f`` (Eq. 16).
    """

    loss: torch.FloatTensor | None = None
    retrieval_loss: torch.FloatTensor | None = None
    local_loss: torch.FloatTensor | None = None
    reconstruction_loss: torch.FloatTensor | None = None
    rank_loss: torch.FloatTensor | None = None
    clip_alignment_loss: torch.FloatTensor | None = None
    alignment_pseudo_label_loss: torch.FloatTensor | None = None
    global_loss: torch.FloatTensor | None = None
    temporal_loss: torch.FloatTensor | None = None
    temporal_head_loss: torch.FloatTensor | None = None
    distillation_loss: torch.FloatTensor | None = None
    supervised_loss: torch.FloatTensor | None = None
    score_maps: torch.FloatTensor | None = None
    retrieval_similarity: torch.FloatTensor | None = None
    grounding_similarity: torch.FloatTensor | None = None
    video_embeddings: torch.FloatTensor | None = None
    paragraph_embeddings: torch.FloatTensor | None = None
    fused_video_embeddings: torch.FloatTensor | None = None


def _duplicate_pairs(video_group_ids: torch.Tensor | None, batch: int) -> torch.Tensor | None:
    """(batch, batch) bool, True at ``(i, j)``, ``i != j``, where samples i and j show the same video; None without
    group ids (every sample its own video)."""
    if video_group_ids is None:
        return None
    if tuple(video_group_ids.shape) != (batch,):
        raise InputError(f"video_group_ids: expected shape ({batch},), got {tuple(video_group_ids.shape)}")
    eye = torch.eye(batch, dtype=torch.bool, device=video_group_ids.device)
    return (video_group_ids[:, None] == video_group_ids[None, :]) & ~eye


class DMRJRGPreTrainedModel(PreTrainedModel):
    """Weight initialisation and `from_pretrained`/`save_pretrained` plumbing of DMR-JRG."""

    config_class = DMRJRGConfig
    base_model_prefix = "dmr_jrg"
    main_input_name = "clip_features"
    # `activation_checkpointing_enable()` recomputes each TAN layer in the backward pass instead of storing its
    # activations (the largest of the model: num_maps x valid cells x hidden_size per layer; useful for large K)
    supports_gradient_checkpointing = True

    def _initialize_weights(self, module, is_custom_code: bool = False):
        """Run `_init_weights` on ``module`` unless it is initialised already, also when it owns no tensor itself.

        For code outside the transformers package, transformers skips the modules that own no parameter or buffer
        themselves, a guard for remote code that writes weights without `transformers.initialization`. Every tensor
        here goes through `transformers.initialization` (which leaves loaded tensors alone), and `_init_weights`
        re-initialises the layers of `TemporalAdjacentNetwork`, which owns none itself, so the guard is off.
        """
        super()._initialize_weights(module, is_custom_code=False)

    def _init_weights(self, module):
        """Linear/conv/LSTM/LayerNorm/attention by transformers' defaults, then DMR-JRG's own tensors."""
        super()._init_weights(module)
        config = self.config
        if isinstance(module, ClassTokenEncoder):
            init.normal_(module.class_token, std=0.02)
        elif isinstance(module, GlobalAlignmentBranch):
            init.normal_(module.class_token, std=0.02)
            init.copy_(module.candidate_fusion_weights, torch.tensor(config.candidate_fusion_weights))
        elif isinstance(module, ParagraphVideoRetrievalHead):
            init.constant_(module.logit_scale, config.logit_scale_init_value)
        elif isinstance(module, TemporalAdjacentNetwork):
            for layer in module.layers:
                init.kaiming_normal_(layer.weight, nonlinearity="relu")
        elif isinstance(module, CandidateGrid):
            for name, tensor in module.compute_buffers().items():
                init.copy_(getattr(module, name), tensor)
        elif isinstance(module, DMRJRGModel) and module.word_vectors is not None:
            init.normal_(module.word_vectors, std=config.word_embedding_dim**-0.5)


class DMRJRGModel(DMRJRGPreTrainedModel):
    r"""DMR-JRG (paper §III): joint video paragraph retrieval and weakly supervised grounding.

    Parts (each built only when its config switch is on; a switched-off part has no parameters and costs nothing):
    ``sentence_encoder`` (Bi-LSTM, §III-C-1), ``temporal_map`` (clip projection + 2D max-pooled map, §III-C-2),
    ``local_branch`` (VTC-LD, Eq. 8-13), ``video_encoder``/``paragraph_encoder``/``retrieval_head`` (VPCMR, Eq. 1-7),
    ``global_branch`` (VTFA-GD, Eq. 14-16, E3 = ``video_encoder``), ``temporal_sync`` (BTSE-TD, Eq. 18-22); GRRM
    (Eq. 17) is a loss. ``clip_alignment`` (`SentenceClipAlignment`, not in the paper) is built only with
    ``clip_alignment_weight > 0``. Frozen word vectors live in the persistent buffer ``word_vectors``
    (`set_word_vectors`). With ``config.text_encoder`` other than "bilstm" (Table VI's BERT) ``sentence_encoder`` is a
    `TransformerSentenceEncoder` over subword ids and there is no ``word_vectors`` buffer (None). ``candidate_grid``
    (`CandidateGrid`) holds the candidate-moment grid every part reads.

    With ``use_retrieval_branch=False`` (Table IV "base") there are no class-token encoders: `encode_videos` and
    `encode_paragraphs` raise, and retrieval uses `grounding_similarity` (mean over a paragraph's sentences of the best
    cell score in the video).

    Example:
        >>> import torch
        >>> from dmr_jrg_hf import DMRJRGConfig
        >>> from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
        >>> model = DMRJRGModel(DMRJRGConfig.from_preset("tiny")).eval()
        >>> model.encode_videos(torch.randn(3, 8, 12)).shape
        torch.Size([3, 16])
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__(config)
        if config.use_global_branch and not config.use_retrieval_branch:
            raise ConfigError("use_global_branch (VTFA-GD, Eq. 15-16) needs use_retrieval_branch (E1, E2 of Eq. 1)")
        bilstm = config.text_encoder == "bilstm"
        if bilstm:
            self.register_buffer("word_vectors", torch.zeros(config.vocab_size, config.word_embedding_dim))
        else:
            self.word_vectors = None
        self.candidate_grid = CandidateGrid(config)
        self.sentence_encoder = SentenceEncoder(config) if bilstm else TransformerSentenceEncoder(config)
        self.temporal_map = TemporalFeatureMap(config)
        self.local_branch = LocalConsistencyBranch(config)
        retrieval = config.use_retrieval_branch
        self.video_encoder = VideoClassTokenEncoder(config) if retrieval else None
        self.paragraph_encoder = ParagraphClassTokenEncoder(config) if retrieval else None
        self.retrieval_head = ParagraphVideoRetrievalHead(config) if retrieval else None
        self.global_branch = GlobalAlignmentBranch(config) if config.use_global_branch else None
        use_sync = config.temporal_sync_directions != "none"
        self.temporal_sync = BidirectionalTemporalSync(config) if use_sync else None
        self.clip_alignment = SentenceClipAlignment(config) if config.clip_alignment_weight > 0 else None
        self.post_init()

    def set_word_vectors(self, vectors: np.ndarray | torch.Tensor) -> None:
        """Copy frozen word vectors (row i = word id i) into the ``word_vectors`` buffer.

        Raises:
            InputError: the shape is not (vocab_size, word_embedding_dim).
            ConfigError: the model encodes text with a transformer (``config.text_encoder``): no word vectors.
        """
        if self.word_vectors is None:
            raise ConfigError(f"text_encoder={self.config.text_encoder!r} uses no word vectors (only 'bilstm' does)")
        vectors = torch.as_tensor(np.asarray(vectors) if not torch.is_tensor(vectors) else vectors)
        expected = tuple(self.word_vectors.shape)
        if tuple(vectors.shape) != expected:
            raise InputError(
                f"word vectors: expected shape (vocab_size, word_embedding_dim) = {expected}, "
                f"got {tuple(vectors.shape)}"
            )
        with torch.no_grad():
            self.word_vectors.copy_(vectors.to(self.word_vectors.dtype))

    # Encoders --------------------------------------------------------------------------------------------------

    def _encode_sentences(
        self, word_ids: torch.Tensor, word_mask: torch.Tensor, sentence_index: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, M, J) ids -> word states (sentences, J, hidden_size) and features (sentences, hidden_size) of the
        sentences at ``sentence_index`` (flat ``b * M + m``, `real_sentence_index`), or of every (b, m) slot.

        The ids are words of the frozen vectors ("bilstm") or the transformer's subword ids
        (`TransformerSentenceEncoder`).
        """
        ids, mask = word_ids.flatten(0, 1), word_mask.flatten(0, 1)  # (batch*M, J)
        if sentence_index is not None:
            ids, mask = ids.index_select(0, sentence_index), mask.index_select(0, sentence_index)
        inputs = ids if self.word_vectors is None else F.embedding(ids, self.word_vectors)  # (sentences, J, dim)
        return self.sentence_encoder(inputs, mask)

    def _encode_words(
        self, word_ids: torch.Tensor, word_mask: torch.Tensor, sentence_index: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, M, J) ids -> word states (batch, M, J, hidden_size), sentence features (batch, M, hidden_size).

        With ``sentence_index``, only the real sentences are encoded (a batch of real paragraphs pads to its longest
        one, so most slots are padding) and both outputs are zero at the padded ones, which every consumer masks out;
        without it every (b, m) slot is encoded (`_encode_sentences`).
        """
        batch, num_sentences, num_words = word_ids.shape
        states, features = self._encode_sentences(word_ids, word_mask, sentence_index)
        if sentence_index is not None:
            slots = batch * num_sentences
            states = scatter_real_sentences(states, sentence_index, slots)
            features = scatter_real_sentences(features, sentence_index, slots)
        states = states.reshape(batch, num_sentences, num_words, -1)  # (batch, M, J, hidden_size)
        return states, features.reshape(batch, num_sentences, -1)  # (batch, M, hidden_size)

    def _require_retrieval(self, name: str) -> None:
        if self.video_encoder is None:
            raise ConfigError(
                f"{name}: this model was built with use_retrieval_branch=False (Table IV 'base' row) and has no "
                "retrieval embeddings; rank videos with model.grounding_similarity(...) instead"
            )

    def encode_videos(self, clip_features: torch.Tensor) -> torch.Tensor:
        """L2-normalised retrieval embeddings of videos (E1 class token, Eq. 1); cacheable for a corpus index.

        Args:
            clip_features (torch.FloatTensor of shape (num_videos, num_clips, feature_dim)).

        Returns:
            torch.FloatTensor of shape (num_videos, hidden_size).
        """
        self._require_retrieval("encode_videos")
        check_clip_features(self.config, clip_features)
        return F.normalize(self.video_encoder(self.temporal_map.project_clips(clip_features)), dim=-1)

    def encode_paragraphs(
        self, word_ids: torch.Tensor, word_mask: torch.Tensor, sentence_mask: torch.Tensor
    ) -> torch.Tensor:
        """L2-normalised retrieval embeddings of paragraphs (E2 class token, Eq. 1).

        Args:
            word_ids, word_mask (shape (batch, num_sentences, num_words)).
            sentence_mask (torch.BoolTensor of shape (batch, num_sentences)).

        Returns:
            torch.FloatTensor of shape (batch, hidden_size).
        """
        self._require_retrieval("encode_paragraphs")
        check_word_inputs(self.config, word_ids, word_mask, sentence_mask)
        _, sentence_features = self._encode_words(word_ids, word_mask)
        return F.normalize(self.paragraph_encoder(sentence_features, sentence_mask), dim=-1)

    def _score_maps(self, word_ids, word_mask, clips, sentence_index):
        """Shared path of forward/ground: sentence features ``h_m``, the map ``F``, VTC-LD -> (h_m, F-_m, logits).

        Only the real sentences (``sentence_index``) are encoded and scored: padded ones are masked out of every score
        and loss, and a batch of real paragraphs pads to its longest one, so this skips the sentence encoder's and the
        TAN's work on the padding. ``h_m``, ``F-_m`` and the logits are 0 at padded sentences.
        """
        _, sentence_features = self._encode_words(word_ids, word_mask, sentence_index)
        video_map = self.temporal_map(clips, self.candidate_grid)  # (batch, hidden_size, K, K), once per video
        feature_maps, logits = self.local_branch(sentence_features, video_map, self.candidate_grid, sentence_index)
        return sentence_features, feature_maps, logits

    def ground(
        self,
        word_ids: torch.Tensor,
        word_mask: torch.Tensor,
        sentence_mask: torch.Tensor,
        clip_features: torch.Tensor,
        map_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Score maps ``P_m`` of each paragraph in the video at the same batch index (VTC-LD; BTSE/VTFA-GD off).

        Sentence features are computed once per paragraph and the 2D map once per video.

        Args:
            word_ids, word_mask (shape (batch, num_sentences, num_words)): processor outputs.
            sentence_mask (torch.BoolTensor of shape (batch, num_sentences)).
            clip_features (torch.FloatTensor of shape (batch, num_clips, feature_dim)).
            map_mask (torch.BoolTensor of shape (num_clips, num_clips)): must be the config's valid-cell mask.

        Returns:
            torch.FloatTensor of shape (batch, num_sentences, num_clips, num_clips): zero at invalid cells and padded
            sentences. Cells to seconds and NMS: ``processor.post_process_grounding``.
        """
        check_word_inputs(self.config, word_ids, word_mask, sentence_mask)
        check_clip_features(self.config, clip_features, batch=word_ids.shape[0])
        valid_mask = self.candidate_grid.valid_mask
        check_map_mask(self.config, valid_mask, map_mask)
        clips = self.temporal_map.project_clips(clip_features)
        _, _, logits = self._score_maps(word_ids, word_mask, clips, real_sentence_index(sentence_mask))
        return torch.sigmoid(logits) * (valid_mask & sentence_mask[..., None, None])

    def grounding_similarity(
        self,
        word_ids: torch.Tensor,
        word_mask: torch.Tensor,
        sentence_mask: torch.Tensor,
        clip_features: torch.Tensor,
        map_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Grounding-based paragraph-video score for every pair: mean over real sentences of the best cell score.

        The retrieval score of the Table IV "base" row (no VPCMR); usable with any config. Cost grows with
        ``num_paragraphs x num_videos`` (one VTC-LD pass per pair): callers chunk the corpus.

        Args:
            word_ids, word_mask (shape (num_paragraphs, num_sentences, num_words)); sentence_mask (shape
                (num_paragraphs, num_sentences)); clip_features (shape (num_videos, num_clips, feature_dim)).

        Returns:
            torch.FloatTensor of shape (num_paragraphs, num_videos).
        """
        check_word_inputs(self.config, word_ids, word_mask, sentence_mask)
        check_clip_features(self.config, clip_features)
        grid = self.candidate_grid
        check_map_mask(self.config, grid.valid_mask, map_mask)
        num_paragraphs, num_videos = word_ids.shape[0], clip_features.shape[0]
        _, sentence_features = self._encode_words(word_ids, word_mask, real_sentence_index(sentence_mask))
        clips = self.temporal_map.project_clips(clip_features)  # (num_videos, K, hidden)
        video_map = self.temporal_map(clips, grid)  # (num_videos, hidden, K, K)
        pair_sentences = sentence_features.repeat_interleave(num_videos, 0)  # (P*N, M, hidden)
        pair_maps = video_map.repeat(num_paragraphs, 1, 1, 1)  # (P*N, hidden, K, K)
        pair_mask = sentence_mask.repeat_interleave(num_videos, 0)  # (P*N, M)
        _, logits = self.local_branch(pair_sentences, pair_maps, grid, real_sentence_index(pair_mask))
        best = logits.masked_fill(~grid.valid_mask, float("-inf")).flatten(-2).amax(-1).sigmoid()  # (P*N, M)
        score = (best * pair_mask).sum(-1) / pair_mask.sum(-1)
        return score.reshape(num_paragraphs, num_videos)

    # Forward -----------------------------------------------------------------------------------------------------

    def forward(
        self,
        word_ids: torch.LongTensor,
        word_mask: torch.BoolTensor,
        masked_word_ids: torch.LongTensor,
        masked_positions: torch.BoolTensor,
        sentence_mask: torch.BoolTensor,
        clip_features: torch.FloatTensor,
        map_mask: torch.BoolTensor,
        durations: torch.FloatTensor | None = None,
        timestamps: torch.FloatTensor | None = None,
        has_timestamps: torch.BoolTensor | None = None,
        video_group_ids: torch.LongTensor | None = None,
        sentence_index: torch.LongTensor | None = None,
        return_loss: bool | None = None,
        return_dict: bool = True,
    ) -> DMRJRGModelOutput | tuple:
        r"""Score maps, retrieval similarity and (in training or with ``return_loss=True``) every loss of Eq. 23.

        Args:
            word_ids, masked_word_ids (torch.LongTensor of shape (batch, num_sentences, num_words)): word ids, and the
                same with masked positions replaced by ``config.mask_token_id``.
            word_mask, masked_positions (torch.BoolTensor of shape (batch, num_sentences, num_words)): real words;
                masked words (reconstruction targets).
            sentence_mask (torch.BoolTensor of shape (batch, num_sentences)): real sentences.
            clip_features (torch.FloatTensor of shape (batch, num_clips, feature_dim)).
            map_mask (torch.BoolTensor of shape (num_clips, num_clips)): valid cells; must be the config's grid.
            durations (torch.FloatTensor of shape (batch,), optional): seconds (supervised loss only).
            timestamps (torch.FloatTensor of shape (batch, num_sentences, 2), optional): seconds; read only when
                ``config.supervision`` is ``"full"`` or ``"semi"`` (never in weak mode).
            has_timestamps (torch.BoolTensor of shape (batch,), optional): paragraphs whose timestamps the
                supervised loss may use (default: all of them).
            video_group_ids (torch.LongTensor of shape (batch,), optional): equal values mark samples of the same video
                (a video with several paragraphs, as in TACoS). Pairs of such samples are not negatives of the
                contrastive losses (VPCMR, VTFA-GD, the clip alignment). Default: every sample has its own video.
            sentence_index (torch.LongTensor of shape (num_real,), optional): flat positions ``b * M + m`` of the real
                sentences, row-major, i.e. `real_sentence_index(sentence_mask)` (the default, which reads the mask's
                values: a device sync on an accelerator). `DMRJRGCollator` computes it on the host.
            return_loss (bool, optional): compute losses; defaults to ``self.training``. Without losses BTSE-TD and
                VTFA-GD are not run.
            return_dict (bool): return a `DMRJRGModelOutput` (else a tuple of its set fields).

        Raises:
            InputError: a tensor's shape, dtype or content does not match the config (named in the message).
        """
        check_word_inputs(self.config, word_ids, word_mask, sentence_mask, masked_word_ids, masked_positions)
        check_clip_features(self.config, clip_features, batch=word_ids.shape[0])
        check_map_mask(self.config, self.candidate_grid.valid_mask, map_mask)
        check_sentence_index(sentence_index, sentence_mask)
        if sentence_index is None:
            sentence_index = real_sentence_index(sentence_mask)
        clips = self.temporal_map.project_clips(clip_features)  # (batch, K, hidden_size)
        sentence_features, feature_maps, logits = self._score_maps(word_ids, word_mask, clips, sentence_index)
        cell_mask = self.candidate_grid.valid_mask & sentence_mask[..., None, None]  # (batch, M, K, K)
        output = DMRJRGModelOutput(score_maps=torch.sigmoid(logits) * cell_mask)
        video_tokens = None
        if self.video_encoder is not None:
            video_tokens = self.video_encoder(clips)
            paragraph_tokens = self.paragraph_encoder(sentence_features, sentence_mask)
            output.video_embeddings = F.normalize(video_tokens, dim=-1)
            output.paragraph_embeddings = F.normalize(paragraph_tokens, dim=-1)
            output.retrieval_similarity = output.paragraph_embeddings @ output.video_embeddings.t()
        if not (self.training if return_loss is None else return_loss):
            return output if return_dict else output.to_tuple()
        masked_states, _ = self._encode_sentences(masked_word_ids, word_mask, sentence_index)  # ``ĥ_m`` (§III-C-1)
        duplicate_pairs = _duplicate_pairs(video_group_ids, word_ids.shape[0])
        top_cells = self._top_candidates(logits)  # (batch, M, Q)
        output.local_loss, output.reconstruction_loss, output.rank_loss = self._local_losses(
            output.score_maps, top_cells, clips, masked_states, word_ids, word_mask, masked_positions, sentence_index
        )
        if self.retrieval_head is not None:
            logit_scale = self.retrieval_head.scale()  # λ, shared by L_cmr and L_global
            output.retrieval_loss = self._retrieval_loss(output.retrieval_similarity, logit_scale, duplicate_pairs)
        if self.global_branch is not None:
            fused = self.global_branch(feature_maps, top_cells, sentence_mask, video_tokens, self.video_encoder)
            output.fused_video_embeddings = F.normalize(fused, dim=-1)  # f~_cls,f (Eq. 16)
            output.grounding_similarity = output.paragraph_embeddings @ output.fused_video_embeddings.t()  # S_g
            output.global_loss = self._global_loss(output.grounding_similarity, logit_scale, duplicate_pairs)
            if self.config.use_score_distillation:
                output.distillation_loss = score_distillation_loss(
                    output.retrieval_similarity, output.grounding_similarity
                )
        if self.temporal_sync is not None:
            output.temporal_loss, output.temporal_head_loss = self._temporal_losses(
                feature_maps, logits, cell_mask, sentence_index
            )
        if self.clip_alignment is not None:
            output.clip_alignment_loss, output.alignment_pseudo_label_loss = self._alignment_losses(
                sentence_features, clips, sentence_mask, logits, cell_mask, duplicate_pairs
            )
        if self.config.supervision != "weak":
            output.supervised_loss = self._supervised_loss(logits, cell_mask, durations, timestamps, has_timestamps)
        output.loss = self._total_loss(output)
        return output if return_dict else output.to_tuple()

    # Loss terms, one method per part (each returns its own terms; `forward` fills the output, `_total_loss` sums) --

    def _top_candidates(self, logits: torch.Tensor) -> torch.Tensor:
        """The top-Q cells of every score map (Eq. 9, 14), flat ``i * K + j``: (batch, M, K, K) -> (batch, M, Q)."""
        config, grid = self.config, self.candidate_grid
        return top_candidate_cells(
            logits,
            grid.valid_mask,
            config.num_top_candidates,
            grid.cell_start,
            grid.cell_end,
            config.proposal_suppression_iou,
        )

    def _local_losses(
        self,
        score_maps: torch.Tensor,
        top_cells: torch.Tensor,
        clips: torch.Tensor,
        masked_states: torch.Tensor,
        word_ids: torch.Tensor,
        word_mask: torch.Tensor,
        masked_positions: torch.Tensor,
        sentence_index: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """VTC-LD (§III-E): ``L_local = L_rec + rank_loss_weight·L_rank`` (Eq. 13), ``L_rec`` (Eq. 11), ``L_rank``
        (Eq. 12) over the real sentences and their top-Q proposals (`LocalConsistencyBranch.loss`)."""
        local = self.local_branch.loss(
            score_maps, top_cells, clips, masked_states, word_ids, word_mask, masked_positions, sentence_index
        )
        return local.reconstruction + self.config.rank_loss_weight * local.rank, local.reconstruction, local.rank

    def _cross_modal_loss(
        self,
        similarity: torch.Tensor,
        logit_scale: torch.Tensor,
        nce_weight: float,
        duplicate_pairs: torch.Tensor | None,
    ) -> torch.Tensor:
        """``L_trip + β·L_nce`` (Eq. 2-7) with the config's margin Δ and in-batch negatives."""
        config = self.config
        return cross_modal_retrieval_loss(
            similarity, logit_scale, config.triplet_margin, nce_weight, config.triplet_negatives, duplicate_pairs
        )

    def _retrieval_loss(
        self, similarity: torch.Tensor, logit_scale: torch.Tensor, duplicate_pairs: torch.Tensor | None
    ) -> torch.Tensor:
        """VPCMR (§III-D): ``L_cmr = L_trip + β1·L_nce`` (Eq. 2-7) on ``S_r``, (batch, batch)."""
        return self._cross_modal_loss(similarity, logit_scale, self.config.retrieval_nce_weight, duplicate_pairs)

    def _global_loss(
        self, similarity: torch.Tensor, logit_scale: torch.Tensor, duplicate_pairs: torch.Tensor | None
    ) -> torch.Tensor:
        """VTFA-GD (§III-F): ``L_global = L_trip + β2·L_nce`` on ``S_g`` (batch, batch) of the fused token (Eq. 16)."""
        return self._cross_modal_loss(similarity, logit_scale, self.config.global_nce_weight, duplicate_pairs)

    def _temporal_losses(
        self, feature_maps: torch.Tensor, logits: torch.Tensor, cell_mask: torch.Tensor, sentence_index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """BTSE-TD (§III-G): ``L_time = L^f + L^r`` (Eq. 20-22) plus the BTSE heads' own term, and that term alone
        (`BidirectionalTemporalSync`, its channel sums over the real sentences only)."""
        sync_loss, head_loss = self.temporal_sync(feature_maps, logits, cell_mask, self.candidate_grid, sentence_index)
        return sync_loss + head_loss, head_loss

    def _alignment_losses(
        self,
        sentence_features: torch.Tensor,
        clips: torch.Tensor,
        sentence_mask: torch.Tensor,
        logits: torch.Tensor,
        cell_mask: torch.Tensor,
        duplicate_pairs: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Not in the paper (`modules.clip_alignment`): the sentence-clip alignment loss and, with
        ``alignment_pseudo_label_weight > 0``, the BCE of ``P_m`` against the soft IoU labels (Eq. 20-21 style) of
        the cell the alignment points at (else None)."""
        config = self.config
        similarity = self.clip_alignment(sentence_features, clips)  # (batch, M, batch, K)
        alignment_loss = clip_alignment_loss(
            similarity, sentence_mask, config.clip_alignment_temperature, duplicate_pairs
        )
        if config.alignment_pseudo_label_weight == 0:
            return alignment_loss, None
        grid = self.candidate_grid
        batch_index = torch.arange(similarity.shape[0], device=similarity.device)
        own_similarity = similarity[batch_index, :, batch_index]  # (batch, M, K)
        cells = aligned_moment_cells(own_similarity, grid.valid_mask)  # (batch, M)
        labels = soft_iou_labels(cells, grid.cell_start, grid.cell_end, config.min_iou, config.max_iou)
        return alignment_loss, masked_binary_cross_entropy(logits, labels, cell_mask)

    def _supervised_loss(
        self,
        logits: torch.Tensor,
        cell_mask: torch.Tensor,
        durations: torch.Tensor | None,
        timestamps: torch.Tensor | None,
        has_timestamps: torch.Tensor | None,
    ) -> torch.Tensor:
        """Not in the paper: 2D-TAN BCE of ``P_m`` against IoU maps of the annotated moments (``supervision``
        "full"/"semi")."""
        if timestamps is None or durations is None:
            raise InputError(
                f"supervision={self.config.supervision!r} needs `timestamps` (batch, num_sentences, 2) and "
                "`durations` (batch,); pass them from the processor or use supervision='weak'"
            )
        batch, num_sentences = cell_mask.shape[:2]
        if tuple(timestamps.shape) != (batch, num_sentences, 2) or tuple(durations.shape) != (batch,):
            raise InputError(
                f"timestamps/durations: expected shapes {(batch, num_sentences, 2)} and {(batch,)}, "
                f"got {tuple(timestamps.shape)} and {tuple(durations.shape)}"
            )
        fractions = timestamps / durations.clamp(min=1e-6)[:, None, None]  # (batch, M, 2)
        labels = span_iou_labels(
            fractions[..., 0],
            fractions[..., 1],
            self.candidate_grid.cell_start,
            self.candidate_grid.cell_end,
            self.config.min_iou,
            self.config.max_iou,
        )
        rows = torch.ones_like(cell_mask[:, 0, 0, 0]) if has_timestamps is None else has_timestamps.bool()
        return masked_binary_cross_entropy(logits, labels, cell_mask & rows[:, None, None, None])

    def _total_loss(self, output: DMRJRGModelOutput) -> torch.Tensor:
        """Eq. 23, ``L_cmr + L_local + L_global + L_time + L_mse``, each term times its ``*_loss_weight``, plus the
        weighted terms that are not in the paper; absent terms (switched-off parts) count 0."""
        config = self.config
        weighted = [
            (output.retrieval_loss, config.retrieval_loss_weight),
            (output.local_loss, config.local_loss_weight),
            (output.global_loss, config.global_loss_weight),
            (output.temporal_loss, config.temporal_loss_weight),
            (output.distillation_loss, config.distillation_loss_weight),
            (output.supervised_loss, config.supervised_loss_weight),
            (output.clip_alignment_loss, config.clip_alignment_weight),
            (output.alignment_pseudo_label_loss, config.alignment_pseudo_label_weight),
        ]
        return sum(weight * term for term, weight in weighted if term is not None)
