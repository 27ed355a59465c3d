"""Bidirectional temporal synchronisation of events, BTSE-TD (paper §III-G, Eq. 18-22)."""

from __future__ import annotations

import torch
from torch import nn

from ..configuration_dmr_jrg import DMRJRGConfig
from .candidate_grid import CandidateGrid
from .local_branch import scatter_real_sentences
from .losses import masked_binary_cross_entropy
from .temporal_adjacent_network import MomentScoreHead

__all__ = ["soft_iou_labels", "span_iou_labels", "BidirectionalTemporalSync"]


def span_iou_labels(
    start: torch.Tensor,
    end: torch.Tensor,
    cell_start: torch.Tensor,
    cell_end: torch.Tensor,
    min_iou: float,
    max_iou: float,
) -> torch.Tensor:
    """2D-TAN soft labels of spans given as fractions of the video: IoU with every cell, rescaled to [0, 1].

    Args:
        start, end (torch.FloatTensor of shape (...)): the target span.
        cell_start, cell_end (torch.FloatTensor of shape (num_clips, num_clips)): every cell's span (`CandidateGrid`).
        min_iou, max_iou (float): IoU mapped to 0 and to 1 (`geometry.scaled_iou_labels`).

    Returns:
        torch.FloatTensor of shape (..., num_clips, num_clips).
    """
    start, end = start[..., None, None], end[..., None, None]
    intersection = (torch.minimum(end, cell_end) - torch.maximum(start, cell_start)).clamp(min=0)
    union = torch.maximum(end, cell_end) - torch.minimum(start, cell_start)
    iou = intersection / union.clamp(min=1e-12)
    return ((iou - min_iou) / (max_iou - min_iou)).clamp(0.0, 1.0)


def soft_iou_labels(
    cells: torch.Tensor, cell_start: torch.Tensor, cell_end: torch.Tensor, min_iou: float, max_iou: float
) -> torch.Tensor:
    """Soft labels of pseudo-label cells (Eq. 20-21): IoU of each cell's span with every cell, 2D-TAN scaled.

    Args:
        cells (torch.LongTensor of shape (...)): flat cell index ``i * K + j`` of each pseudo-label.

    Returns:
        torch.FloatTensor of shape (..., num_clips, num_clips).
    """
    flat_start, flat_end = cell_start.flatten(), cell_end.flatten()
    return span_iou_labels(flat_start[cells], flat_end[cells], cell_start, cell_end, min_iou, max_iou)


def _channel_sums(
    head: MomentScoreHead, feature_maps: torch.Tensor, sentence_index: torch.Tensor | None
) -> torch.Tensor:
    """``head.channel_sum`` of (batch, M, hidden, K, K) maps -> (batch, M, K, K), at ``sentence_index`` only if given
    (0 elsewhere)."""
    if sentence_index is None:
        return head.channel_sum(feature_maps)
    batch, num_sentences = feature_maps.shape[:2]
    sums = head.channel_sum(feature_maps.flatten(0, 1).index_select(0, sentence_index))  # (num_real, K, K)
    return scatter_real_sentences(sums, sentence_index, batch * num_sentences).view(
        batch, num_sentences, *sums.shape[1:]
    )


class BidirectionalTemporalSync(nn.Module):
    """BTSE-TD (§III-G): forward (Eq. 18) and reverse (Eq. 19) recurrences with independent prediction layers.

    In direction ``f`` the m-th sentence's map is ``P^f_m = PL^f(F-_m ⊙ expand(1 - Σ_{j<m} P^f_j))``; the reverse
    direction runs from the last real sentence back. The argmax cell of each ``P^f_m``/``P^r_m`` becomes a
    pseudo-label, turned into 2D-TAN soft IoU labels that supervise the main map ``P_m`` with a BCE averaged over valid
    cells and real sentences (Eq. 20-22). Padded sentences and invalid cells have probability 0, so they never enter
    a gate, an argmax or a loss. Only the enabled heads are built (``config.temporal_sync_directions``).

    Note:
        As written, Eq. 18-22 give the heads PL^f, PL^r no gradient (the argmax cuts it), so they would stay at their
        random initialisation. By default each head is also trained to reproduce the main map with the gate applied,
        ``BCE(P^d_m, stopgrad(P_m ⊙ clamp(gate, 0, 1)))``: the head learns where the main branch grounds the sentence,
        minus what the earlier sentences (in its direction) already claimed, which is the role Eq. 18-19 give the gate.
        Its inputs and targets are detached, so this term trains only the two heads and every other parameter gets
        exactly the paper's gradients. ``config.use_paper_literal_temporal_sync=True`` restores Eq. 18-22 literally
        (no head term; the heads receive no gradient and are frozen: ``requires_grad=False``).
    """

    def __init__(self, config: DMRJRGConfig):
        super().__init__()
        directions = config.temporal_sync_directions
        self.directions = ("forward", "reverse") if directions == "both" else (directions,)
        self.paper_literal = config.use_paper_literal_temporal_sync
        self.min_iou, self.max_iou = config.min_iou, config.max_iou
        if "forward" in self.directions:
            self.forward_head = MomentScoreHead(config)
        if "reverse" in self.directions:
            self.reverse_head = MomentScoreHead(config)
        if self.paper_literal:
            self.requires_grad_(False)  # the heads get no gradient (frozen, so DDP does not wait for their gradients)

    def recurrence(
        self,
        feature_maps: torch.Tensor,
        cell_mask: torch.Tensor,
        direction: str,
        sentence_index: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run one direction of Eq. 18/19 (a loop over the sentences, the only loop of the model).

        The prediction layer is a 1x1 convolution, linear in the features, and the gate is one number per cell, so
        ``PL^d(F-_m ⊙ gate_m) = gate_m · Σ_c w_c F-_m[c] + bias``: the channel sums of every sentence are computed
        once, before the loop. The gates depend on the earlier sentences' probabilities only through ``Σ P^d_prev``,
        which carries no gradient, so the loop runs without autograd on (batch, K, K) maps and the differentiable
        logits are one batched product afterwards (equal to gating the features, up to float summation order).

        Args:
            feature_maps (torch.FloatTensor of shape (batch, num_sentences, hidden_size, num_clips, num_clips)):
                ``F-_m``.
            cell_mask (torch.BoolTensor of shape (batch, num_sentences, num_clips, num_clips)): valid cells of real
                sentences.
            direction (str): ``"forward"`` or ``"reverse"``.
            sentence_index (torch.LongTensor of shape (num_real,), optional): flat positions ``b * M + m`` of the real
                sentences (`local_branch.real_sentence_index`). Given, the channel sums are computed for those
                sentences only and are 0 at the others (whose cells ``cell_mask`` excludes anyway): a batch of real
                paragraphs is mostly padded sentences.

        Returns:
            tuple of (batch, num_sentences, num_clips, num_clips) tensors: logits, probabilities ``P^d_m`` (0 outside
            ``cell_mask``) and the gates ``1 - Σ P^d_prev`` each sentence was multiplied by.
        """
        head = self.forward_head if direction == "forward" else self.reverse_head
        num_sentences = feature_maps.shape[1]
        order = range(num_sentences) if direction == "forward" else range(num_sentences - 1, -1, -1)
        channel_sums = _channel_sums(head, feature_maps, sentence_index)  # (batch, M, K, K)
        bias = head.projection.bias
        with torch.no_grad():
            sentence_sums, sentence_masks = channel_sums.detach().unbind(1), cell_mask.unbind(1)
            claimed = torch.zeros_like(sentence_sums[0])  # (batch, K, K): Σ of the previous P^d
            gates = [None] * num_sentences
            for m in order:
                gates[m] = 1.0 - claimed
                claimed = claimed + torch.sigmoid(torch.addcmul(bias, gates[m], sentence_sums[m])) * sentence_masks[m]
            gates = torch.stack(gates, 1)
        logits = torch.addcmul(bias, gates, channel_sums)  # PL^d(F-_m ⊙ gate_m) for every m
        return logits, torch.sigmoid(logits) * cell_mask, gates

    def forward(
        self,
        feature_maps: torch.Tensor,
        main_logits: torch.Tensor,
        cell_mask: torch.Tensor,
        grid: CandidateGrid,
        sentence_index: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``L_time = L^f + L^r`` (Eq. 22) on the main map, and the heads' own training term (see Note).

        Args:
            feature_maps (torch.FloatTensor of shape (batch, num_sentences, hidden_size, num_clips, num_clips)): TAN
                output ``F-_m``; detached here (BTSE reaches the trunk only through the main map's BCE).
            main_logits (torch.FloatTensor of shape (batch, num_sentences, num_clips, num_clips)): logits of ``P_m``.
            cell_mask (torch.BoolTensor of shape (batch, num_sentences, num_clips, num_clips)).
            grid (CandidateGrid): the model's grid; its cell spans turn pseudo-label cells into soft labels.
            sentence_index (torch.LongTensor of shape (num_real,), optional): the real sentences (`recurrence`).

        Returns:
            tuple of scalars: the temporal loss ``L_time`` and the heads' loss (0 when paper-literal).
        """
        features = feature_maps.detach()
        main_probs = torch.sigmoid(main_logits).detach() * cell_mask
        temporal_loss = main_logits.new_zeros(())
        head_loss = main_logits.new_zeros(())
        for direction in self.directions:
            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.paper_literal):
                logits, probs, gates = self.recurrence(features, cell_mask, direction, sentence_index)
            pseudo_cells = probs.detach().masked_fill(~cell_mask, -1.0).flatten(2).argmax(dim=-1)  # (batch, M)
            labels = soft_iou_labels(pseudo_cells, grid.cell_start, grid.cell_end, self.min_iou, self.max_iou)
            temporal_loss = temporal_loss + masked_binary_cross_entropy(main_logits, labels, cell_mask)
            if not self.paper_literal:
                target = main_probs * gates.clamp(0.0, 1.0)
                head_loss = head_loss + masked_binary_cross_entropy(logits, target, cell_mask)
        return temporal_loss, head_loss
