"""Input checks shared by the metric protocols: arrays in, validated arrays out, errors that name the item at fault."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError

__all__ = [
    "as_similarity",
    "as_gt_video",
    "as_sentence_paragraph",
    "as_gt_moments",
    "as_pred_moments",
    "as_cutoffs",
    "as_thresholds",
    "recall_key",
]


def _first_index(mask: np.ndarray) -> tuple[int, ...]:
    """Index of the first ``True`` entry of ``mask`` in row-major order."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _as_index_array(values, name: str, item: str) -> np.ndarray:
    """A non-empty 1-D integer array, or an :class:`InputError` naming ``name``."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputError(f"{name}: expected a 1-D array with one entry per {item}, got shape {array.shape}")
    if array.size == 0:
        raise InputError(f"{name}: expected at least one {item}, got an empty array")
    if not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"{name}: expected integer indices, got dtype {array.dtype}")
    return array.astype(np.int64)


def as_similarity(similarity) -> np.ndarray:
    """Paragraph->video similarity as float64 (num_paragraphs, num_videos), non-empty and finite."""
    array = np.asarray(similarity, dtype=np.float64)
    if array.ndim != 2:
        raise InputError(f"similarity: expected shape (num_paragraphs, num_videos), got {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"similarity: expected at least one paragraph and one video, got shape {array.shape}")
    if not np.isfinite(array).all():
        paragraph, video = _first_index(~np.isfinite(array))
        raise InputError(f"similarity: paragraph {paragraph}, video {video} is {array[paragraph, video]}")
    return array


def as_gt_video(gt_video, num_paragraphs: int, num_videos: int) -> np.ndarray:
    """Ground-truth video index per paragraph, int64 (num_paragraphs,), each in ``[0, num_videos)``."""
    array = _as_index_array(gt_video, "gt_video", "paragraph")
    if len(array) != num_paragraphs:
        raise InputError(f"gt_video: expected {num_paragraphs} entries (one per paragraph), got {len(array)}")
    bad = (array < 0) | (array >= num_videos)
    if bad.any():
        paragraph = int(np.argmax(bad))
        raise InputError(
            f"gt_video: paragraph {paragraph} has video index {array[paragraph]}, expected 0..{num_videos - 1}"
        )
    return array


def as_sentence_paragraph(sentence_paragraph, num_paragraphs: int | None = None) -> np.ndarray:
    """Paragraph index of every sentence, int64 (num_sentences,), each in ``[0, num_paragraphs)`` when given."""
    array = _as_index_array(sentence_paragraph, "sentence_paragraph", "sentence")
    upper = np.iinfo(np.int64).max if num_paragraphs is None else num_paragraphs
    bad = (array < 0) | (array >= upper)
    if bad.any():
        sentence = int(np.argmax(bad))
        expected = "a non-negative index" if num_paragraphs is None else f"0..{num_paragraphs - 1}"
        raise InputError(
            f"sentence_paragraph: sentence {sentence} has paragraph {array[sentence]}, expected {expected}"
        )
    return array


def _check_segments(segments: np.ndarray, name: str) -> None:
    """Finite entries with ``start <= end``; ``segments`` has shape (num_sentences, ..., 2)."""
    present = ~np.isnan(segments)
    if np.isinf(segments).any():
        raise InputError(f"{name}: sentence {_first_index(np.isinf(segments))[0]} has an infinite time")
    reversed_ = present.all(axis=-1) & (segments[..., 0] > segments[..., 1])
    if reversed_.any():
        index = _first_index(reversed_)
        raise InputError(f"{name}: sentence {index[0]} has start > end: {segments[index].tolist()}")


def as_gt_moments(gt_moments, num_sentences: int) -> np.ndarray:
    """Ground-truth ``[start, end]`` seconds per sentence, float64 (num_sentences, 2), finite, start <= end."""
    array = np.asarray(gt_moments, dtype=np.float64)
    if array.shape != (num_sentences, 2):
        raise InputError(f"gt_moments: expected shape ({num_sentences}, 2) (one per sentence), got {array.shape}")
    if np.isnan(array).any():
        raise InputError(f"gt_moments: sentence {_first_index(np.isnan(array))[0]} has a NaN time")
    _check_segments(array, "gt_moments")
    return array


def as_pred_moments(pred_moments, num_sentences: int) -> np.ndarray:
    """Predicted moments per sentence, best first, float64 (num_sentences, n, 2); a (num_sentences, 2) input is top-1.

    Rows of NaN pad sentences with fewer than ``n`` predictions; they must come after the real ones and every
    sentence needs at least its top-1 moment.
    """
    array = np.asarray(pred_moments, dtype=np.float64)
    if array.ndim == 2:
        array = array[:, None, :]  # (num_sentences, 1, 2)
    if array.ndim != 3 or array.shape[0] != num_sentences or array.shape[2] != 2 or array.shape[1] == 0:
        raise InputError(f"pred_moments: expected shape ({num_sentences}, n, 2) with n >= 1, got {array.shape}")
    nan = np.isnan(array)
    half = nan.any(axis=-1) & ~nan.all(axis=-1)
    if half.any():
        sentence, rank = _first_index(half)
        raise InputError(f"pred_moments: sentence {sentence}, prediction {rank} has only one of start/end as NaN")
    padded = nan[..., 0]  # (num_sentences, n)
    if padded[:, 0].any():
        raise InputError(f"pred_moments: sentence {_first_index(padded[:, 0])[0]} has no top-1 prediction (NaN)")
    gap = ~padded[:, 1:] & padded[:, :-1]
    if gap.any():
        sentence, rank = _first_index(gap)
        raise InputError(f"pred_moments: sentence {sentence} has a prediction after NaN padding (rank {rank + 1})")
    _check_segments(array, "pred_moments")
    return array


def as_cutoffs(ks: Sequence[int], name: str) -> tuple[int, ...]:
    """Rank cut-offs ``K``: a non-empty sequence of positive ints."""
    values = tuple(ks)
    if not values or any(not isinstance(k, int | np.integer) or k < 1 for k in values):
        raise InputError(f"{name}: expected a non-empty sequence of positive ints, got {list(values)}")
    return tuple(int(k) for k in values)


def as_thresholds(thresholds: Sequence[float]) -> tuple[float, ...]:
    """IoU thresholds ``m``: a non-empty sequence of floats in ``(0, 1]``."""
    values = tuple(float(m) for m in thresholds)
    if not values or any(not 0.0 < m <= 1.0 for m in values):
        raise InputError(f"thresholds: expected a non-empty sequence of IoU values in (0, 1], got {list(values)}")
    return values


def recall_key(k: int, threshold: float) -> str:
    """Metric name of recall at rank ``k`` and IoU ``threshold``, e.g. ``R@1,IoU=0.5``."""
    return f"R@{k},IoU={threshold:g}"
