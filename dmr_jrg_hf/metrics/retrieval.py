"""Paragraph->video retrieval metrics (protocol ``retrieval``): R@K, median and mean rank of the ground-truth video.

Videos are ranked, not paragraphs: the similarity matrix has one column per unique video, and a video that carries
several paragraphs is the ground truth of each of them (:func:`video_indices` builds that mapping from ids).

Ties: ranks are pessimistic. A video whose similarity equals the ground-truth video's ranks above it, so the rank of
the ground truth is the number of videos scoring at least as high as it (itself included). A model that gives every
video the same score therefore ranks the ground truth last, never first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ._checks import as_cutoffs, as_gt_video, as_similarity

__all__ = [
    "RETRIEVAL_CUTOFFS",
    "video_indices",
    "gt_video_ranks",
    "top_videos",
    "retrieval_metrics_from_ranks",
    "retrieval_metrics",
]

RETRIEVAL_CUTOFFS = (1, 5, 10, 100)


def video_indices(paragraph_video_ids: Sequence[str], video_ids: Sequence[str]) -> np.ndarray:
    """Column of the similarity matrix that holds each paragraph's ground-truth video.

    Args:
        paragraph_video_ids (Sequence[str]): the ``video_id`` of every paragraph row (ids may repeat).
        video_ids (Sequence[str]): the corpus, one entry per similarity column (ids must be unique).

    Returns:
        np.ndarray of int64, shape (num_paragraphs,).

    Raises:
        InputError: a duplicate corpus id, or a paragraph whose video is not in the corpus.

    Example:
        >>> video_indices(["b", "a", "b"], ["a", "b"]).tolist()
        [1, 0, 1]
    """
    column: dict[str, int] = {}
    for index, video_id in enumerate(video_ids):
        if video_id in column:
            raise InputError(f"video_ids: video {video_id!r} appears twice (columns {column[video_id]} and {index})")
        column[video_id] = index
    missing = [(p, v) for p, v in enumerate(paragraph_video_ids) if v not in column]
    if missing:
        paragraph, video_id = missing[0]
        raise InputError(f"paragraph {paragraph}: video {video_id!r} is not in the corpus ({len(missing)} missing)")
    return np.asarray([column[v] for v in paragraph_video_ids], dtype=np.int64)


def gt_video_ranks(similarity, gt_video) -> np.ndarray:
    """Pessimistic rank (from 1) of each paragraph's ground-truth video.

    Args:
        similarity (np.ndarray of shape (num_paragraphs, num_videos)): paragraph->video scores, higher is better.
        gt_video (np.ndarray of int, shape (num_paragraphs,)): ground-truth column per paragraph.

    Returns:
        np.ndarray of int64, shape (num_paragraphs,): ``#{v : similarity[p, v] >= similarity[p, gt[p]]}``.

    Example:
        >>> gt_video_ranks([[0.9, 0.5, 0.9], [0.1, 0.2, 0.3]], [0, 2]).tolist()
        [2, 1]
    """
    scores = as_similarity(similarity)
    gt = as_gt_video(gt_video, *scores.shape)
    gt_scores = scores[np.arange(len(gt)), gt]  # (num_paragraphs,)
    return (scores >= gt_scores[:, None]).sum(axis=1).astype(np.int64)


def top_videos(similarity, num_videos: int) -> np.ndarray:
    """The ``num_videos`` best videos per paragraph, best first (ties: lower column first).

    This is the list an evaluator grounds the sentences in for the ``vcmr`` protocol.

    Returns:
        np.ndarray of int64, shape (num_paragraphs, min(num_videos, corpus size)).
    """
    scores = as_similarity(similarity)
    if num_videos < 1:
        raise InputError(f"num_videos: expected a positive int, got {num_videos}")
    num_videos = min(num_videos, scores.shape[1])
    selected = np.argpartition(-scores, num_videos - 1, axis=1)[:, :num_videos]  # (num_paragraphs, N), unordered
    selected_scores = np.take_along_axis(scores, selected, axis=1)
    order = np.lexsort((selected, -selected_scores), axis=1)  # by score, then by column
    top = np.take_along_axis(selected, order, axis=1)
    # a tie at the N-th score may have let argpartition pick a higher column over a lower one: redo those rows
    boundary_ties = (scores >= selected_scores.min(axis=1, keepdims=True)).sum(axis=1) > num_videos
    if boundary_ties.any():
        top[boundary_ties] = np.argsort(-scores[boundary_ties], axis=1, kind="stable")[:, :num_videos]
    return top.astype(np.int64)


def retrieval_metrics_from_ranks(ranks: np.ndarray, ks: Sequence[int] = RETRIEVAL_CUTOFFS) -> dict[str, float]:
    """``R@K`` in percent, ``MedR`` and ``MeanR`` from ground-truth ranks (num_paragraphs,)."""
    metrics = {f"R@{k}": 100.0 * float(np.mean(ranks <= k)) for k in as_cutoffs(ks, "ks")}
    metrics["MedR"] = float(np.median(ranks))
    metrics["MeanR"] = float(np.mean(ranks))
    return metrics


def retrieval_metrics(similarity, gt_video, ks: Sequence[int] = RETRIEVAL_CUTOFFS) -> dict[str, float]:
    """Protocol ``retrieval``: paragraph->video R@K (percent of paragraphs), median and mean rank.

    Args:
        similarity (np.ndarray of shape (num_paragraphs, num_videos)): paragraph->video scores.
        gt_video (np.ndarray of int, shape (num_paragraphs,)): ground-truth column per paragraph.
        ks (Sequence[int]): cut-offs, default ``(1, 5, 10, 100)``.

    Returns:
        dict[str, float]: ``R@1``, ``R@5``, ``R@10``, ``R@100`` (percent), ``MedR``, ``MeanR`` (ranks from 1).

    Example:
        >>> retrieval_metrics([[0.9, 0.1], [0.8, 0.3]], [0, 0], ks=(1,))
        {'R@1': 100.0, 'MedR': 1.0, 'MeanR': 1.0}
    """
    return retrieval_metrics_from_ranks(gt_video_ranks(similarity, gt_video), ks)
