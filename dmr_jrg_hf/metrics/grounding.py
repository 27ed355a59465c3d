"""Grounding metrics in the ground-truth video (protocol ``grounding``, video paragraph grounding / VPG).

Every sentence is grounded in its own paragraph's ground-truth video; retrieval plays no part. Reported:

- ``R@K,IoU=m``: percent of sentences with at least one of their top-``K`` predicted moments at IoU >= ``m`` with the
  ground truth (IoU exactly ``m`` is a hit). A sentence with fewer than ``K`` predictions (NaN padding) uses those it
  has.
- ``mIoU``: mean IoU of the top-1 moment over sentences.
- ``paragraph@IoU=m``: percent of paragraphs whose every sentence has a top-1 IoU >= ``m``.
- ``order_consistency``: mean over paragraphs of the fraction of sentence pairs whose top-1 moments are in the same
  temporal order (by centre) as their ground-truth moments. A pair whose ground-truth centres coincide has no order
  and is left out; a pair whose predicted centres coincide while the ground truth orders them counts as inconsistent.
  A paragraph of one sentence has no pair and is left out of the mean; when no paragraph has a comparable pair the
  metric is undefined and the key is absent from the result (never NaN).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..geometry import segment_iou
from ._checks import (
    as_cutoffs,
    as_gt_moments,
    as_pred_moments,
    as_sentence_paragraph,
    as_thresholds,
    recall_key,
)

__all__ = [
    "IOU_THRESHOLDS",
    "GROUNDING_CUTOFFS",
    "prediction_ious",
    "recall_hits",
    "paragraph_recall",
    "order_consistency",
    "grounding_metrics_from_ious",
    "grounding_metrics",
]

IOU_THRESHOLDS = (0.3, 0.5, 0.7)
GROUNDING_CUTOFFS = (1, 5)


def prediction_ious(pred_moments, gt_moments) -> np.ndarray:
    """IoU of every predicted moment with its sentence's ground truth.

    Args:
        pred_moments (np.ndarray of shape (num_sentences, n, 2) or (num_sentences, 2)): seconds, best first, NaN rows
            pad sentences with fewer predictions.
        gt_moments (np.ndarray of shape (num_sentences, 2)): seconds.

    Returns:
        np.ndarray of float64, shape (num_sentences, n): IoU, NaN at padded predictions.

    Example:
        >>> prediction_ious([[[0.0, 10.0], [5.0, 10.0]]], [[0.0, 5.0]]).tolist()
        [[0.5, 0.0]]
    """
    gt = np.asarray(gt_moments, dtype=np.float64)
    predictions = as_pred_moments(pred_moments, len(gt))
    gt = as_gt_moments(gt, len(predictions))
    padded = np.isnan(predictions[..., 0])  # (num_sentences, n)
    filled = np.where(padded[..., None], 0.0, predictions)
    return np.where(padded, np.nan, segment_iou(filled, gt[:, None, :]))


def recall_hits(ious: np.ndarray, k: int, threshold: float) -> np.ndarray:
    """Whether any of the top-``k`` predictions has IoU >= ``threshold`` (NaN padding never hits), (num_sentences,)."""
    return np.any(ious[:, :k] >= threshold, axis=1)


def paragraph_recall(
    top1_ious: np.ndarray, sentence_paragraph: np.ndarray, thresholds: Sequence[float] = IOU_THRESHOLDS
) -> dict[str, float]:
    """``paragraph@IoU=m``: percent of paragraphs (those with sentences) whose every top-1 IoU is >= ``m``."""
    paragraphs, group = np.unique(sentence_paragraph, return_inverse=True)
    worst = np.full(len(paragraphs), np.inf)
    np.minimum.at(worst, group, top1_ious)
    return {f"paragraph@IoU={m:g}": 100.0 * float(np.mean(worst >= m)) for m in as_thresholds(thresholds)}


def _pad_by_paragraph(values: np.ndarray, sentence_paragraph: np.ndarray) -> np.ndarray:
    """Scatter per-sentence ``values`` into (num_paragraphs_present, max_sentences), NaN-padded, in sentence order."""
    order = np.argsort(sentence_paragraph, kind="stable")
    paragraphs, first, counts = np.unique(sentence_paragraph[order], return_index=True, return_counts=True)
    group = np.repeat(np.arange(len(paragraphs)), counts)
    position = np.arange(len(order)) - first[group]
    padded = np.full((len(paragraphs), int(counts.max())), np.nan)
    padded[group, position] = values[order]
    return padded


def order_consistency(pred_top1, gt_moments, sentence_paragraph) -> float | None:
    """Percent of sentence pairs, averaged over paragraphs, whose predicted order matches the ground-truth order.

    Args:
        pred_top1 (np.ndarray of shape (num_sentences, 2)): top-1 predicted moment per sentence, seconds.
        gt_moments (np.ndarray of shape (num_sentences, 2)): seconds.
        sentence_paragraph (np.ndarray of int, shape (num_sentences,)): paragraph of each sentence.

    Returns:
        float | None: the percentage, or ``None`` when no paragraph has a pair with distinct ground-truth centres.

    Example:
        >>> round(order_consistency([[0, 2], [4, 6], [1, 3]], [[0, 2], [4, 6], [8, 9]], [0, 0, 0]), 2)  # 2 of 3 pairs
        66.67
    """
    sentence_paragraph = as_sentence_paragraph(sentence_paragraph)
    pred_top1 = as_pred_moments(pred_top1, len(sentence_paragraph))[:, 0]
    gt_moments = as_gt_moments(gt_moments, len(sentence_paragraph))
    pred_centre = _pad_by_paragraph(pred_top1.mean(axis=-1), sentence_paragraph)
    gt_centre = _pad_by_paragraph(gt_moments.mean(axis=-1), sentence_paragraph)
    # [g, i, j] = centre_j - centre_i: (num_paragraphs, max_sentences, max_sentences)
    gt_diff = gt_centre[:, None, :] - gt_centre[:, :, None]
    pred_diff = pred_centre[:, None, :] - pred_centre[:, :, None]
    upper = np.triu(np.ones(gt_diff.shape[1:], dtype=bool), k=1)
    comparable = upper & ~np.isnan(gt_diff) & (np.nan_to_num(gt_diff) != 0)
    concordant = comparable & (np.sign(np.nan_to_num(pred_diff)) == np.sign(np.nan_to_num(gt_diff)))
    num_pairs = comparable.sum(axis=(1, 2))
    if not num_pairs.any():
        return None
    has_pairs = num_pairs > 0
    per_paragraph = concordant.sum(axis=(1, 2))[has_pairs] / num_pairs[has_pairs]
    return 100.0 * float(per_paragraph.mean())


def grounding_metrics_from_ious(
    ious: np.ndarray,
    pred_top1: np.ndarray,
    gt_moments: np.ndarray,
    sentence_paragraph: np.ndarray,
    ks: Sequence[int] = GROUNDING_CUTOFFS,
    thresholds: Sequence[float] = IOU_THRESHOLDS,
) -> dict[str, float]:
    """Protocol ``grounding`` from precomputed, validated IoUs (num_sentences, n) (see :func:`grounding_metrics`)."""
    ks, thresholds = as_cutoffs(ks, "ks"), as_thresholds(thresholds)
    metrics = {recall_key(k, m): 100.0 * float(np.mean(recall_hits(ious, k, m))) for k in ks for m in thresholds}
    metrics["mIoU"] = 100.0 * float(np.mean(ious[:, 0]))
    metrics.update(paragraph_recall(ious[:, 0], sentence_paragraph, thresholds))
    consistency = order_consistency(pred_top1, gt_moments, sentence_paragraph)
    if consistency is not None:
        metrics["order_consistency"] = consistency
    return metrics


def grounding_metrics(
    pred_moments,
    gt_moments,
    sentence_paragraph,
    ks: Sequence[int] = GROUNDING_CUTOFFS,
    thresholds: Sequence[float] = IOU_THRESHOLDS,
) -> dict[str, float]:
    """Protocol ``grounding``: moment recall, mIoU and paragraph-level scores in the ground-truth video.

    Args:
        pred_moments (np.ndarray of shape (num_sentences, n, 2)): predicted moments in the sentence's ground-truth
            video, seconds, best first (top-n after NMS), NaN rows as padding.
        gt_moments (np.ndarray of shape (num_sentences, 2)): ground-truth moments, seconds.
        sentence_paragraph (np.ndarray of int, shape (num_sentences,)): paragraph index of each sentence.
        ks (Sequence[int]): cut-offs over the predicted moments, default ``(1, 5)``.
        thresholds (Sequence[float]): IoU thresholds, default ``(0.3, 0.5, 0.7)``.

    Returns:
        dict[str, float]: ``R@K,IoU=m``, ``mIoU``, ``paragraph@IoU=m`` (percent) and ``order_consistency`` (percent,
        absent when undefined; see the module docstring).

    Example:
        >>> grounding_metrics([[[0, 5]], [[5, 10]]], [[0, 5], [0, 10]], [0, 0], ks=(1,), thresholds=(0.5,))
        {'R@1,IoU=0.5': 100.0, 'mIoU': 75.0, 'paragraph@IoU=0.5': 100.0, 'order_consistency': 100.0}
    """
    sentence_paragraph = as_sentence_paragraph(sentence_paragraph)
    gt = as_gt_moments(gt_moments, len(sentence_paragraph))
    predictions = as_pred_moments(pred_moments, len(sentence_paragraph))
    ious = prediction_ious(predictions, gt)
    return grounding_metrics_from_ious(ious, predictions[:, 0], gt, sentence_paragraph, ks, thresholds)
