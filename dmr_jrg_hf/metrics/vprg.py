"""Video paragraph retrieval and grounding metrics (protocol ``vprg``, the paper's Tables II-IV, §IV-A).

A sentence is a hit at ``(K, m)`` when its paragraph's ground-truth video ranks ``<= K`` among all corpus videos
**and** its predicted moment in that video has IoU ``>= m`` with the ground truth (IoU exactly ``m`` is a hit).
``R@K,IoU=m`` is the percentage of hit sentences over all sentences of all paragraphs (the paper counts sentences,
like JSG, although the query is the paragraph).

Within-video criterion: the top-1 moment (``top_n=1``, default, the paper's setting) or any of the top-``n`` moments
after NMS (``top_n=n``). Either way only the ground-truth video is grounded, so the evaluator never grounds the
sentences in other videos for this protocol. Retrieval ranks follow :mod:`.retrieval` (videos, pessimistic ties).

Note:
    The paper defines R@K IoU=m as "the IoU between the predicted moments in the top K retrieved videos and the
    ground truth exceeds m"; this implementation uses ``>= m``, the convention of the 2D-TAN / JSG evaluation code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ._checks import as_cutoffs, as_pred_moments, as_sentence_paragraph, as_thresholds, recall_key
from .grounding import IOU_THRESHOLDS, prediction_ious, recall_hits
from .retrieval import gt_video_ranks

__all__ = ["VPRG_CUTOFFS", "vprg_metrics_from_parts", "vprg_metrics"]

VPRG_CUTOFFS = (1, 5, 10, 100)


def vprg_metrics_from_parts(
    paragraph_ranks: np.ndarray,
    sentence_paragraph: np.ndarray,
    ious: np.ndarray,
    top_n: int = 1,
    ks: Sequence[int] = VPRG_CUTOFFS,
    thresholds: Sequence[float] = IOU_THRESHOLDS,
) -> dict[str, float]:
    """Protocol ``vprg`` from ground-truth video ranks (num_paragraphs,) and moment IoUs (num_sentences, n).

    This is the shared core of :func:`vprg_metrics` and :func:`~dmr_jrg_hf.metrics.evaluate_all`, which compute
    ranks and IoUs once for every protocol that needs them.
    """
    if not isinstance(top_n, int | np.integer) or top_n < 1:
        raise InputError(f"top_n: expected a positive int, got {top_n!r}")
    retrieved = paragraph_ranks[sentence_paragraph]  # (num_sentences,)
    grounded = {m: recall_hits(ious, int(top_n), m) for m in as_thresholds(thresholds)}
    return {
        recall_key(k, m): 100.0 * float(np.mean((retrieved <= k) & grounded[m]))
        for k in as_cutoffs(ks, "ks")
        for m in grounded
    }


def vprg_metrics(
    similarity,
    gt_video,
    sentence_paragraph,
    gt_moments,
    pred_moments,
    top_n: int = 1,
    ks: Sequence[int] = VPRG_CUTOFFS,
    thresholds: Sequence[float] = IOU_THRESHOLDS,
) -> dict[str, float]:
    """Protocol ``vprg``: per sentence, GT video within the top ``K`` and a predicted moment at IoU ``>= m``.

    Args:
        similarity (np.ndarray of shape (num_paragraphs, num_videos)): paragraph->video scores (one column per unique
            video).
        gt_video (np.ndarray of int, shape (num_paragraphs,)): ground-truth column per paragraph.
        sentence_paragraph (np.ndarray of int, shape (num_sentences,)): paragraph index of each sentence.
        gt_moments (np.ndarray of shape (num_sentences, 2)): ground-truth moments, seconds.
        pred_moments (np.ndarray of shape (num_sentences, n, 2)): predicted moments in the ground-truth video,
            seconds, best first (top-n after NMS), NaN rows as padding.
        top_n (int): how many of the predicted moments may match (1: top-1 only, the paper's criterion).
        ks (Sequence[int]): retrieval cut-offs, default ``(1, 5, 10, 100)``.
        thresholds (Sequence[float]): IoU thresholds, default ``(0.3, 0.5, 0.7)``.

    Returns:
        dict[str, float]: ``R@K,IoU=m`` in percent of sentences, for every ``K`` then every ``m``.

    Example:
        >>> gt_moments, pred_moments = [[0, 10], [10, 20]], [[0, 10], [0, 10]]
        >>> vprg_metrics([[0.2, 0.9]], [1], [0, 0], gt_moments, pred_moments, ks=(1,), thresholds=(0.5,))
        {'R@1,IoU=0.5': 50.0}
    """
    ranks = gt_video_ranks(similarity, gt_video)
    sentence_paragraph = as_sentence_paragraph(sentence_paragraph, len(ranks))
    ious = prediction_ious(as_pred_moments(pred_moments, len(sentence_paragraph)), gt_moments)
    return vprg_metrics_from_parts(ranks, sentence_paragraph, ious, top_n, ks, thresholds)
