"""Corpus-level moment retrieval metrics (protocol ``vcmr``, JSG's stricter video corpus moment retrieval protocol).

For every sentence, moments from different videos compete in **one** corpus-wide ranked list of ``(video, moment)``
pairs. ``R@K,IoU=m`` is the percentage of sentences for which some pair within the top ``K`` of that list is in the
sentence's ground-truth video and has IoU ``>= m`` with its ground-truth moment (IoU exactly ``m`` is a hit).

Building the list (:func:`merge_corpus_candidates`), given by the caller for every sentence:

1. the top-``N`` videos retrieved for its paragraph (:func:`~dmr_jrg_hf.metrics.top_videos`),
2. in each of them ``n`` moments with their grounding scores in ``[0, 1]``, per-video NMS already applied
   (``processor.post_process_grounding`` does both for a batch of score maps).

The pair score is ``exp(temperature * s_v) * p_m`` (XML / ReLoCLNet's video-corpus moment score; ``s_v`` the
paragraph->video similarity, ``p_m`` the moment score), kept as its logarithm ``temperature * s_v + log p_m`` so that
it cannot overflow. Pairs are sorted by it and the list is cut to ``max_candidates`` (100).

Ties: ranks in the list are pessimistic, as in :mod:`.retrieval`: a pair whose score equals a correct pair's ranks
above it, so ``R@1`` is a hit only when the correct pair scores strictly above every other pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..geometry import segment_iou
from ._checks import (
    as_cutoffs,
    as_gt_moments,
    as_gt_video,
    as_sentence_paragraph,
    as_similarity,
    as_thresholds,
    recall_key,
)
from .grounding import IOU_THRESHOLDS

__all__ = [
    "VCMR_CUTOFFS",
    "VCMR_LIST_LENGTH",
    "VIDEO_SCORE_TEMPERATURE",
    "CorpusCandidates",
    "merge_corpus_candidates",
    "vcmr_metrics",
]

VCMR_CUTOFFS = (1, 10, 100)
VCMR_LIST_LENGTH = 100
VIDEO_SCORE_TEMPERATURE = 20.0


@dataclass(frozen=True)
class CorpusCandidates:
    """The corpus-wide ranked list of every sentence, best first.

    Attributes:
        videos (np.ndarray of int64, shape (num_sentences, L)): video column of each pair, -1 at padding.
        moments (np.ndarray of float64, shape (num_sentences, L, 2)): seconds, NaN at padding.
        scores (np.ndarray of float64, shape (num_sentences, L)): higher is better, -inf at padding.
    """

    videos: np.ndarray
    moments: np.ndarray
    scores: np.ndarray


def _check_per_video_candidates(candidate_videos, candidate_moments, candidate_scores, num_sentences, num_videos):
    """Validate the per-video inputs of :func:`merge_corpus_candidates`; returns them as arrays."""
    videos = np.asarray(candidate_videos)
    moments = np.asarray(candidate_moments, dtype=np.float64)
    scores = np.asarray(candidate_scores, dtype=np.float64)
    if videos.ndim != 2 or videos.shape[0] != num_sentences or not np.issubdtype(videos.dtype, np.integer):
        raise InputError(
            f"candidate_videos: expected an int array ({num_sentences}, N), got {videos.dtype} {videos.shape}"
        )
    if scores.ndim != 3 or scores.shape[:2] != videos.shape or moments.shape != (*scores.shape, 2):
        raise InputError(
            f"candidate_scores / candidate_moments: expected shapes {(*videos.shape, 'n')} /"
            f" {(*videos.shape, 'n', 2)}, got {scores.shape} / {moments.shape}"
        )
    bad_video = (videos < -1) | (videos >= num_videos)
    if bad_video.any():
        sentence, slot = np.argwhere(bad_video)[0]
        raise InputError(f"candidate_videos: sentence {sentence}, slot {slot} is {videos[sentence, slot]}")
    ordered = np.sort(videos, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    if repeated.any():
        sentence = int(np.argwhere(repeated)[0, 0])
        raise InputError(f"candidate_videos: sentence {sentence} lists a video twice")
    real = (videos >= 0)[..., None] & ~np.isnan(scores)  # (num_sentences, N, n)
    broken = real & (~np.isfinite(moments).all(axis=-1) | (moments[..., 0] > moments[..., 1]) | (scores < 0))
    broken |= real & np.isinf(scores)
    if broken.any():
        sentence, slot, rank = np.argwhere(broken)[0]
        raise InputError(
            f"sentence {sentence}, video slot {slot}, moment {rank}: expected start <= end finite seconds and a score"
            f" in [0, inf), got {moments[sentence, slot, rank].tolist()} with score {scores[sentence, slot, rank]}"
        )
    return videos.astype(np.int64), moments, scores, real


def merge_corpus_candidates(
    similarity,
    sentence_paragraph,
    candidate_videos,
    candidate_moments,
    candidate_scores,
    temperature: float = VIDEO_SCORE_TEMPERATURE,
    max_candidates: int = VCMR_LIST_LENGTH,
) -> CorpusCandidates:
    """Merge per-video moment candidates into one corpus-wide ranked list per sentence.

    Args:
        similarity (np.ndarray of shape (num_paragraphs, num_videos)): paragraph->video scores.
        sentence_paragraph (np.ndarray of int, shape (num_sentences,)): paragraph index of each sentence.
        candidate_videos (np.ndarray of int, shape (num_sentences, N)): the top-N videos of the sentence's paragraph,
            -1 to pad; a video appears at most once per sentence.
        candidate_moments (np.ndarray of shape (num_sentences, N, n, 2)): moments in each of those videos, seconds,
            after per-video NMS.
        candidate_scores (np.ndarray of shape (num_sentences, N, n)): their grounding scores in ``[0, 1]``; NaN pads.
        temperature (float): weight of the video similarity in the pair score (see the module docstring).
        max_candidates (int): length of the list (100 in JSG's protocol).

    Returns:
        CorpusCandidates: lists of length ``min(max_candidates, N * n)``, best first (equal scores keep the order
        video slot, then moment rank).

    Example:
        >>> merged = merge_corpus_candidates([[0.5, 0.4]], [0], [[0, 1]], [[[[0, 1]], [[2, 3]]]], [[[0.1], [0.9]]])
        >>> merged.videos.tolist()  # 20 * 0.4 + log(0.9) > 20 * 0.5 + log(0.1)
        [[1, 0]]
    """
    sims = as_similarity(similarity)
    sentence_paragraph = as_sentence_paragraph(sentence_paragraph, len(sims))
    if max_candidates < 1:
        raise InputError(f"max_candidates: expected a positive int, got {max_candidates}")
    videos, moments, scores, real = _check_per_video_candidates(
        candidate_videos, candidate_moments, candidate_scores, len(sentence_paragraph), sims.shape[1]
    )
    num_sentences, num_slots, num_moments = scores.shape
    video_scores = sims[sentence_paragraph[:, None], np.maximum(videos, 0)]  # (num_sentences, N)
    with np.errstate(divide="ignore"):
        log_scores = np.log(np.where(real, scores, 1.0))
    pair_scores = np.where(real, temperature * video_scores[..., None] + log_scores, -np.inf)  # (num_sentences, N, n)
    pair_scores = pair_scores.reshape(num_sentences, num_slots * num_moments)  # (num_sentences, N * n)
    order = np.argsort(-pair_scores, axis=1, kind="stable")[:, :max_candidates]  # (num_sentences, L)
    pair_videos = np.broadcast_to(videos[..., None], scores.shape).reshape(num_sentences, -1)
    pair_real = real.reshape(num_sentences, -1)
    flat_moments = moments.reshape(num_sentences, -1, 2)  # (num_sentences, N * n, 2)
    kept_real = np.take_along_axis(pair_real, order, axis=1)
    return CorpusCandidates(
        videos=np.where(kept_real, np.take_along_axis(pair_videos, order, axis=1), -1),
        moments=np.where(kept_real[..., None], np.take_along_axis(flat_moments, order[..., None], axis=1), np.nan),
        scores=np.take_along_axis(pair_scores, order, axis=1),
    )


def _pessimistic_ranks(sorted_scores: np.ndarray) -> np.ndarray:
    """Rank (from 1) of each position of rows sorted best first, every tied position taking its group's last rank."""
    length = sorted_scores.shape[1]
    is_last = np.ones(sorted_scores.shape, dtype=bool)
    is_last[:, :-1] = sorted_scores[:, :-1] != sorted_scores[:, 1:]
    last_index = np.where(is_last, np.arange(length), length)
    return np.minimum.accumulate(last_index[:, ::-1], axis=1)[:, ::-1] + 1


def _check_corpus_candidates(candidates: CorpusCandidates, num_sentences: int):
    """Shapes and padding of a :class:`CorpusCandidates`; returns (videos, moments, scores) as arrays."""
    videos = np.asarray(candidates.videos)
    moments = np.asarray(candidates.moments, dtype=np.float64)
    scores = np.asarray(candidates.scores, dtype=np.float64)
    if videos.ndim != 2 or videos.shape[0] != num_sentences or videos.shape[1] == 0 or scores.shape != videos.shape:
        raise InputError(
            f"candidates: expected videos and scores of shape ({num_sentences}, L) with L >= 1,"
            f" got {videos.shape} and {scores.shape}"
        )
    if moments.shape != (*videos.shape, 2):
        raise InputError(f"candidates.moments: expected shape {(*videos.shape, 2)}, got {moments.shape}")
    real = videos >= 0
    broken = real & (np.isnan(scores) | np.isnan(moments).any(axis=-1))
    if broken.any():
        sentence, rank = np.argwhere(broken)[0]
        raise InputError(f"candidates: sentence {sentence}, list position {rank} has a NaN score or moment")
    return videos, moments, np.where(real, scores, -np.inf), real


def vcmr_metrics(
    candidates: CorpusCandidates,
    gt_video,
    sentence_paragraph,
    gt_moments,
    ks: Sequence[int] = VCMR_CUTOFFS,
    thresholds: Sequence[float] = IOU_THRESHOLDS,
) -> dict[str, float]:
    """Protocol ``vcmr``: a correct ``(video, moment)`` pair within the top ``K`` of the corpus-wide list.

    Args:
        candidates (CorpusCandidates): each sentence's list (from :func:`merge_corpus_candidates`, or built by the
            caller with any score; it is re-sorted here by score, pessimistic ties).
        gt_video (np.ndarray of int, shape (num_paragraphs,)): ground-truth video column per paragraph.
        sentence_paragraph (np.ndarray of int, shape (num_sentences,)): paragraph index of each sentence.
        gt_moments (np.ndarray of shape (num_sentences, 2)): ground-truth moments, seconds.
        ks (Sequence[int]): list cut-offs, default ``(1, 10, 100)``.
        thresholds (Sequence[float]): IoU thresholds, default ``(0.3, 0.5, 0.7)``.

    Returns:
        dict[str, float]: ``R@K,IoU=m`` in percent of sentences, for every ``K`` then every ``m``.
    """
    gt = as_gt_video(gt_video, np.size(gt_video), np.iinfo(np.int64).max)
    sentence_paragraph = as_sentence_paragraph(sentence_paragraph, len(gt))
    gt_moments = as_gt_moments(gt_moments, len(sentence_paragraph))
    videos, moments, scores, real = _check_corpus_candidates(candidates, len(sentence_paragraph))
    order = np.argsort(-scores, axis=1, kind="stable")  # (num_sentences, L)
    ranks = _pessimistic_ranks(np.take_along_axis(scores, order, axis=1))
    right_video = np.take_along_axis(real & (videos == gt[sentence_paragraph][:, None]), order, axis=1)
    filled = np.where(real[..., None], moments, 0.0)
    ious = np.take_along_axis(segment_iou(filled, gt_moments[:, None, :]), order, axis=1)  # (num_sentences, L)
    best = {
        m: np.where(right_video & (ious >= m), ranks, np.iinfo(np.int64).max).min(axis=1)  # (num_sentences,)
        for m in as_thresholds(thresholds)
    }
    return {recall_key(k, m): 100.0 * float(np.mean(best[m] <= k)) for k in as_cutoffs(ks, "ks") for m in best}
