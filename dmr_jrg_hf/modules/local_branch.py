"""Local branch VTC-LD (paper §III-E, Eq. 8-13): fusion, TAN, score map, top-Q proposals, word reconstruction."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from .candidate_grid import CandidateGrid
from .fusion import SentenceMomentFusion
from .losses import packed_reconstruction_loss, reconstruction_loss, reconstruction_rank_loss
from .reconstructor import MaskedWordReconstructor
from .temporal_adjacent_network import PACKED_MIN_HIDDEN_SIZE, MomentScoreHead, TemporalAdjacentNetwork
from .transformer_layers import TokenLayout

__all__ = [
    "real_sentence_index",
    "scatter_real_sentences",
    "top_candidate_cells",
    "LocalLosses",
    "LocalConsistencyBranch",
]


def real_sentence_index(sentence_mask: torch.Tensor) -> torch.Tensor:
    """Flat positions ``b * M + m`` of the real sentences, row-major.

    This reads the mask's values (``nonzero``): on an accelerator it waits for the device, so a training loop should
    compute it on the host with the batch (`DMRJRGCollator` does) and pass it to the model as ``sentence_index``.

    Args:
        sentence_mask (torch.BoolTensor of shape (batch, num_sentences)).

    Returns:
        torch.LongTensor of shape (num_real,).
    """
    return sentence_mask.flatten().nonzero()[:, 0]


def scatter_real_sentences(rows: torch.Tensor, sentence_index: torch.Tensor, num_slots: int) -> torch.Tensor:
    """Per-sentence rows of the real sentences back into the flat (batch * M) slot layout, zero at padded slots.

    Args:
        rows (torch.Tensor of shape (num_real, ...)): one row per real sentence, in ``sentence_index`` order.
        sentence_index (torch.LongTensor of shape (num_real,)): `real_sentence_index` of the batch.
        num_slots (int): ``batch * num_sentences``.

    Returns:
        torch.Tensor of shape (num_slots, ...).
    """
    return rows.new_zeros(num_slots, *rows.shape[1:]).index_copy(0, sentence_index, rows)


class LocalLosses(NamedTuple):
    """What `LocalConsistencyBranch.loss` computes over the real sentences of a batch."""

    reconstruction: torch.Tensor  # L_rec (Eq. 11), scalar
    rank: torch.Tensor  # L_rank (Eq. 12), scalar


def top_candidate_cells(
    logits: torch.Tensor,
    valid_mask: torch.Tensor,
    num_candidates: int,
    cell_start: torch.Tensor | None = None,
    cell_end: torch.Tensor | None = None,
    suppression_iou: float = 1.0,
) -> torch.Tensor:
    """Flat indices ``i * K + j`` of the ``num_candidates`` best valid cells of each map, best first.

    With ``suppression_iou < 1`` the choice is greedy with suppression: after each pick, cells whose span overlaps it
    with IoU above ``suppression_iou`` are not taken, so the Q proposals are distinct moments rather than neighbouring
    cells of one peak (the loop runs over the Q picks only; everything else is vectorised). When fewer than Q distinct
    moments remain, the best pick is repeated.

    Args:
        logits (torch.FloatTensor of shape (..., num_clips, num_clips)).
        valid_mask (torch.BoolTensor of shape (num_clips, num_clips)).
        num_candidates (int): Q.
        cell_start, cell_end (torch.FloatTensor of shape (num_clips, num_clips), optional): spans of the cells as
            fractions of the video (`CandidateGrid`); needed when ``suppression_iou < 1``.
        suppression_iou (float): 1.0 keeps the plain top-Q.

    Returns:
        torch.LongTensor of shape (..., num_candidates).
    """
    scores = logits.detach().masked_fill(~valid_mask, float("-inf")).flatten(-2)  # (..., K*K)
    if suppression_iou >= 1.0:
        return scores.topk(num_candidates, dim=-1).indices
    starts, ends = cell_start.flatten(), cell_end.flatten()  # (K*K,)
    picks = []
    for _ in range(num_candidates):
        best = scores.argmax(dim=-1)  # (...)
        exhausted = torch.isinf(scores.gather(-1, best[..., None])[..., 0])
        picks.append(torch.where(exhausted, picks[0], best) if picks else best)
        intersection = torch.minimum(ends, ends[best][..., None]) - torch.maximum(starts, starts[best][..., None])
        union = torch.maximum(ends, ends[best][..., None]) - torch.minimum(starts, starts[best][..., None])
        overlap = intersection.clamp(min=0) / union  # (..., K*K) IoU with the pick
        scores = scores.masked_fill(overlap > suppression_iou, float("-inf"))
        scores = scores.scatter(-1, best[..., None], float("-inf"))
    return torch.stack(picks, dim=-1)


class LocalConsistencyBranch(nn.Module):
    """VTC-LD (§III-E): ``P_m = sigmoid(PL(TAN((W_s h_m) ⊙ (W_v F))))`` and ``L_local = L_rec + L_rank`` (Eq. 13).

    With ``config.use_temporal_adjacent_network=False`` (the Table IV "base" row) the fused map goes straight to the
    prediction layer and no TAN is built.
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        self.label_smoothing = config.reconstruction_label_smoothing
        self.rank_temperature = config.rank_loss_temperature
        self.reconstructor_layout = config.reconstructor_layout
        self.fusion = SentenceMomentFusion(config)
        self.temporal_adjacent_network = (
            TemporalAdjacentNetwork(config) if config.use_temporal_adjacent_network else None
        )
        self.score_head = MomentScoreHead(config)
        self.reconstructor = MaskedWordReconstructor(config)

    def forward(
        self,
        sentence_features: torch.Tensor,
        video_map: torch.Tensor,
        grid: CandidateGrid,
        sentence_index: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Score every candidate moment for every sentence against the video at the same batch index.

        Args:
            sentence_features (torch.FloatTensor of shape (batch, num_sentences, hidden_size)): ``h_m``.
            video_map (torch.FloatTensor of shape (batch, hidden_size, num_clips, num_clips)): ``F``.
            grid (CandidateGrid): the model's candidate grid.
            sentence_index (torch.LongTensor of shape (num_real,), optional): flat positions ``b * M + m`` of the
                real sentences (`real_sentence_index`). Given, only those sentences are fused and run through the
                TAN (the padded ones are most of a batch of real paragraphs) and the outputs are zero at the padded
                sentences, which every loss masks out; without it every (b, m) slot is computed.

        Returns:
            tuple: TAN output ``F-_m`` (torch.FloatTensor of shape (batch, num_sentences, hidden_size, num_clips,
            num_clips)) and score-map logits (torch.FloatTensor of shape (batch, num_sentences, num_clips, num_clips)).
        """
        if sentence_index is None:
            return self._score(sentence_features, video_map, grid)
        batch, num_sentences, hidden_size = sentence_features.shape
        real = sentence_features.reshape(-1, hidden_size).index_select(0, sentence_index)  # (num_real, hidden)
        fused, logits = self._score(real[:, None], video_map, grid, sentence_index // num_sentences)
        slots = batch * num_sentences
        fused = scatter_real_sentences(fused[:, 0], sentence_index, slots)
        logits = scatter_real_sentences(logits[:, 0], sentence_index, slots)
        return fused.view(batch, num_sentences, *fused.shape[1:]), logits.view(batch, num_sentences, *logits.shape[1:])

    def _score(
        self,
        sentence_features: torch.Tensor,
        video_map: torch.Tensor,
        grid: CandidateGrid,
        video_index: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fusion (Eq. 8), TAN and prediction layer over a (rows, sentences) layout: ``F-_m`` and the logits.

        When the TAN runs a packed convolution, the fusion computes the valid cells only, in the TAN's packed layout
        (`SentenceMomentFusion.fuse_cells`), and the maps are unpacked once, after the TAN.
        """
        tan = self.temporal_adjacent_network
        rows, num_sentences = sentence_features.shape[:2]
        if tan is not None and tan.packed_implementation(video_map.device) is not None:
            cells = self.fusion.fuse_cells(sentence_features, video_map, grid.cell_index, video_index)
            flat = grid.unpack_cells(tan.forward_cells(cells, grid))  # (rows*M, hidden, K, K)
            fused = flat.view(rows, num_sentences, *flat.shape[1:])
        else:
            fused = self.fusion(sentence_features, video_map, grid.valid_mask, video_index)  # (rows, M, hidden, K, K)
            if tan is not None:
                flat = tan(fused.flatten(0, 1), grid)  # (rows*M, hidden, K, K)
                fused = flat.reshape(rows, num_sentences, *flat.shape[1:])  # (rows, M, hidden, K, K)
        return fused, self.score_head(fused)

    def loss(
        self,
        probs: torch.Tensor,
        top_cells: torch.Tensor,
        clips: torch.Tensor,
        masked_word_states: torch.Tensor,
        word_ids: torch.Tensor,
        word_mask: torch.Tensor,
        masked_positions: torch.Tensor,
        sentence_index: torch.Tensor,
    ) -> LocalLosses:
        """``L_rec`` (Eq. 11) and ``L_rank`` (Eq. 12) over the real sentences and their top-Q proposals.

        Args:
            probs (torch.FloatTensor of shape (batch, num_sentences, num_clips, num_clips)): ``P_m``.
            top_cells (torch.LongTensor of shape (batch, num_sentences, num_top_candidates)).
            clips (torch.FloatTensor of shape (batch, num_clips, hidden_size)): projected clip features ``f_k``.
            masked_word_states (torch.FloatTensor of shape (num_real, num_words, hidden_size)): the masked sentences'
                word states at ``sentence_index``.
            word_ids, word_mask, masked_positions (shape (batch, num_sentences, num_words)): processor outputs.
            sentence_index (torch.LongTensor of shape (num_real,)): `real_sentence_index` of the batch (gathers
                with it read no device values, unlike boolean indexing).

        Returns:
            LocalLosses
        """
        num_clips, num_sentences = clips.shape[1], top_cells.shape[1]

        def real(tensor: torch.Tensor) -> torch.Tensor:  # (batch, M, ...) -> (num_real, ...)
            return tensor.flatten(0, 1).index_select(0, sentence_index)

        batch_index = sentence_index // num_sentences  # (num_real,): padded sentences are dropped here
        cells = real(top_cells)  # (num_real, Q)
        num_real, num_candidates = cells.shape
        clip_index = torch.arange(num_clips, device=clips.device)
        starts, ends = (cells // num_clips)[..., None], (cells % num_clips)[..., None]
        span_masks = (clip_index >= starts) & (clip_index <= ends)  # (num_real, Q, K)
        reconstruction_losses = (
            self._packed_reconstruction_losses if self._packs_reconstruction(clips) else self._reconstruction_losses
        )
        proposal_losses = reconstruction_losses(
            clips[batch_index],
            span_masks,
            masked_word_states,
            real(word_ids),
            real(word_mask),
            real(masked_positions),
        ).reshape(num_real, num_candidates)
        proposal_scores = real(probs.flatten(-2)).gather(1, cells)  # (num_real, Q)
        rank_loss = reconstruction_rank_loss(proposal_scores, proposal_losses, self.rank_temperature)
        return LocalLosses(proposal_losses.mean(), rank_loss)

    def _reconstruction_losses(
        self,
        clips: torch.Tensor,
        span_masks: torch.Tensor,
        masked_word_states: torch.Tensor,
        word_ids: torch.Tensor,
        word_mask: torch.Tensor,
        masked_positions: torch.Tensor,
    ) -> torch.Tensor:
        """Mean masked-word loss of every (sentence, span) pair, in one reconstructor call.

        Args:
            clips (torch.FloatTensor of shape (num_real, num_clips, hidden_size)): each sentence's video clips.
            span_masks (torch.BoolTensor of shape (num_real, num_spans, num_clips)): clips each span reads.
            masked_word_states (torch.FloatTensor of shape (num_real, num_words, hidden_size)).
            word_ids, word_mask, masked_positions (shape (num_real, num_words)).

        Returns:
            torch.FloatTensor of shape (num_real * num_spans,): sentence-major.
        """
        num_real, num_spans, num_clips = span_masks.shape
        pairs = num_real * num_spans
        states = self.reconstructor(
            clips.repeat_interleave(num_spans, 0),  # (pairs, K, hidden)
            span_masks.reshape(pairs, num_clips),
            masked_word_states.repeat_interleave(num_spans, 0),  # (pairs, J, hidden)
            word_mask.repeat_interleave(num_spans, 0),
        )
        token_mask = masked_positions.repeat_interleave(num_spans, 0)  # (pairs, J)
        targets = word_ids.repeat_interleave(num_spans, 0)  # (pairs, J)
        logits = self.reconstructor.word_logits(states)  # (pairs, J, vocab_size)
        return reconstruction_loss(logits, targets, token_mask, self.label_smoothing)

    def _packs_reconstruction(self, clips: torch.Tensor) -> bool:
        """Whether `_packed_reconstruction_losses` runs (``config.reconstructor_layout``)."""
        if self.reconstructor_layout == "auto":
            wide = clips.shape[-1] >= PACKED_MIN_HIDDEN_SIZE
            return wide and clips.device.type == "cpu" and not torch.compiler.is_compiling()
        return self.reconstructor_layout == "packed"

    def _packed_reconstruction_losses(
        self,
        clips: torch.Tensor,
        span_masks: torch.Tensor,
        masked_word_states: torch.Tensor,
        word_ids: torch.Tensor,
        word_mask: torch.Tensor,
        masked_positions: torch.Tensor,
    ) -> torch.Tensor:
        """`_reconstruction_losses` on packed tokens: the same losses, a fraction of the work.

        The encoder runs over the clips inside each span only (15-19 % of a K=16 video's clips at the start of training
        on Charades-STA), the decoder over the real words only, its last layer, the classifier and the loss at the
        masked words only (`MaskedWordReconstructor.forward_packed`). Finding those tokens reads the masks' values,
        which costs nothing on a CPU but would wait for an accelerator and give shapes that change with every batch.
        """
        num_real, num_spans, num_clips = span_masks.shape
        num_words = word_mask.shape[1]
        pairs = num_real * num_spans
        clip_layout = TokenLayout.from_mask(span_masks.reshape(pairs, num_clips))
        pair_words = word_mask.repeat_interleave(num_spans, 0)  # (pairs, J)
        word_layout = TokenLayout.from_mask(pair_words)
        pair_masked = (masked_positions & word_mask).repeat_interleave(num_spans, 0)  # (pairs, J)
        masked_slots = pair_masked.flatten().nonzero()[:, 0]
        query_rows = (pair_words.flatten().cumsum(0) - 1).index_select(0, masked_slots)  # among the word tokens

        def source_rows(slots: torch.Tensor, length: int) -> torch.Tensor:  # pair slot -> row of its sentence's input
            return slots // (num_spans * length) * length + slots % length

        states = self.reconstructor.forward_packed(
            clips,
            source_rows(clip_layout.slots, num_clips),
            clip_layout,
            masked_word_states,
            source_rows(word_layout.slots, num_words),
            word_layout,
            query_rows,
        )  # (num_masked, hidden)
        targets = word_ids.flatten().index_select(0, source_rows(masked_slots, num_words))
        logits = self.reconstructor.word_logits(states)  # (num_masked, vocab_size)
        token_pairs = masked_slots // num_words
        return packed_reconstruction_loss(logits, targets, token_pairs, pair_masked.sum(-1), self.label_smoothing)
