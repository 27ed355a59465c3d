"""Timestamp-free baselines that never read the sentence: random retrieval, fixed windows, query-free saliency.

Every results table reports these next to the model (DESIGN §5-6): a grounding model is only worth its name when it
beats the best fixed window and the query-free saliency rule, and a retrieval model when it beats random scores.
Numpy only; moments follow the candidate-grid rule of `dmr_jrg_hf.geometry`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..feature_extraction_dmr_jrg import average_to_length
from ..geometry import cells_to_seconds

__all__ = [
    "FIXED_WINDOWS",
    "fixed_window_moments",
    "max_sum_stretches",
    "pool_clips",
    "query_free_saliency_moments",
    "random_retrieval_scores",
]

# Window name -> (start, end) as fractions of the video duration.
_WINDOW_FRACTIONS: dict[str, tuple[float, float]] = {
    "whole": (0.0, 1.0),
    "first_half": (0.0, 0.5),
    "middle_half": (0.25, 0.75),
    "last_half": (0.5, 1.0),
    "middle_third": (1.0 / 3.0, 2.0 / 3.0),
}
FIXED_WINDOWS: tuple[str, ...] = tuple(_WINDOW_FRACTIONS)


def random_retrieval_scores(num_paragraphs: int, num_videos: int, seed: int) -> np.ndarray:
    """Uniformly random paragraph-video similarities: the chance level of retrieval.

    Args:
        num_paragraphs (int): rows, one per paragraph query.
        num_videos (int): columns, one per corpus video.
        seed (int): seed of the numpy generator; the same seed gives the same scores.

    Returns:
        np.ndarray of float64, shape (num_paragraphs, num_videos): scores in ``[0, 1)``.

    Example:
        >>> random_retrieval_scores(2, 3, seed=0).shape
        (2, 3)
    """
    if num_paragraphs < 0 or num_videos < 1:
        raise InputError(f"need num_paragraphs >= 0 and num_videos >= 1, got {num_paragraphs} and {num_videos}")
    return np.random.default_rng(seed).random((num_paragraphs, num_videos))


def fixed_window_moments(durations: np.ndarray, window: str) -> np.ndarray:
    """The same fraction of every video, whatever the sentence says.

    Args:
        durations (np.ndarray of shape (N,)): video durations in seconds.
        window (str): one of `FIXED_WINDOWS`: ``whole``, ``first_half``, ``middle_half``, ``last_half``,
            ``middle_third``.

    Returns:
        np.ndarray of float64, shape (N, 2): ``[start, end]`` seconds per video.

    Raises:
        InputError: unknown window name.

    Example:
        >>> fixed_window_moments(np.array([40.0]), "middle_half").tolist()
        [[10.0, 30.0]]
    """
    if window not in _WINDOW_FRACTIONS:
        raise InputError(f"unknown fixed window '{window}'; choose one of {list(FIXED_WINDOWS)}")
    fractions = np.asarray(_WINDOW_FRACTIONS[window], dtype=np.float64)
    return np.asarray(durations, dtype=np.float64)[:, None] * fractions[None, :]  # (N, 2)


def pool_clips(features: np.ndarray, num_clips: int) -> np.ndarray:
    """Average-pool a ``(num_frames, feature_dim)`` sequence to ``num_clips`` clips on the processor's clip grid.

    The same windows as the model's clips (`feature_extraction_dmr_jrg.average_to_length`), without the per-frame
    normalisation that would erase the feature energy the saliency rule measures.

    Returns:
        np.ndarray of shape (num_clips, feature_dim).
    """
    return average_to_length(np.asarray(features), num_clips)


def max_sum_stretches(values: np.ndarray) -> np.ndarray:
    """Contiguous stretch ``i..j`` (inclusive) of largest sum per row (maximum-sum subarray; ties: first in row-major).

    Args:
        values (np.ndarray of shape (N, K)): per-row scores.

    Returns:
        np.ndarray of int64, shape (N, 2): ``(i, j)`` with ``i <= j``, a cell of the ``(K, K)`` candidate grid.
    """
    num_rows, length = values.shape
    prefix = np.concatenate([np.zeros((num_rows, 1)), np.cumsum(values, axis=1, dtype=np.float64)], axis=1)
    sums = prefix[:, None, 1:] - prefix[:, :-1, None]  # (N, K, K): sum of values[i..j] at [i, j]
    sums = np.where(np.triu(np.ones((length, length), dtype=bool))[None], sums, -np.inf)
    flat = np.argmax(sums.reshape(num_rows, -1), axis=1)
    return np.stack(np.divmod(flat, length), axis=1)


def query_free_saliency_moments(features: Sequence[np.ndarray], durations: np.ndarray, num_clips: int) -> np.ndarray:
    """Query-free saliency: per video, the contiguous stretch of clips with the highest feature norm.

    Each video is pooled to ``num_clips`` clips (`pool_clips`); the stretch maximising the sum of ``norm - mean norm``
    over its clips is returned in seconds by the grid rule (`geometry.cells_to_seconds`). The rule never reads a
    sentence: it scores what a benchmark leaks through feature energy alone.

    Args:
        features (Sequence[np.ndarray]): per video a ``(num_frames, feature_dim)`` array.
        durations (np.ndarray of shape (N,)): video durations in seconds.
        num_clips (int): K, clips per video (the model's grid).

    Returns:
        np.ndarray of float64, shape (N, 2): ``[start, end]`` seconds per video.

    Raises:
        InputError: mismatched lengths, an empty or non-finite feature array (names the video index).

    Note:
        The rule pools the raw features straight to ``num_clips`` clips, without the processor's per-frame L2
        normalisation and 256-frame resampling (DESIGN §2): normalising would erase the feature energy it measures.

    Example:
        >>> frames = np.ones((8, 4)); frames[2:4] *= 3.0
        >>> query_free_saliency_moments([frames], np.array([8.0]), num_clips=8).tolist()
        [[2.0, 4.0]]
    """
    durations = np.asarray(durations, dtype=np.float64)
    if len(features) != len(durations):
        raise InputError(f"got {len(features)} feature arrays but {len(durations)} durations")
    if num_clips < 1:
        raise InputError(f"num_clips must be >= 1, got {num_clips}")
    for index, video in enumerate(features):
        if video.ndim != 2 or video.shape[0] == 0 or not np.all(np.isfinite(video)):
            raise InputError(f"video {index}: expected a finite (num_frames, feature_dim) array, got {video.shape}")
    if len(features) == 0:
        return np.zeros((0, 2))
    norms = np.stack([np.linalg.norm(pool_clips(video, num_clips), axis=1) for video in features])  # (N, K)
    cells = max_sum_stretches(norms - norms.mean(axis=1, keepdims=True))  # (N, 2)
    return cells_to_seconds(cells[:, 0], cells[:, 1], durations, num_clips)
