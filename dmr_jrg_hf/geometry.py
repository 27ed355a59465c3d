"""Candidate-moment grid of 2D-TAN: the one rule that maps map cells to seconds (paper §III-C, DESIGN §2).

Cell ``(i, j)`` with ``i <= j`` of a ``(num_clips, num_clips)`` map covers ``[i * d / K, (j + 1) * d / K]`` seconds
of a video of duration ``d`` split into ``K`` clips (shifted by the window's start when a long video is grounded in
windows). Every other part of the package (IoU maps, pseudo-labels, proposal features, inference) goes through the
functions here. Numpy only; this module imports nothing from the package.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "valid_cell_mask",
    "cell_spans",
    "cells_to_seconds",
    "seconds_to_cell",
    "segment_iou",
    "iou_map",
    "scaled_iou_labels",
    "nms_1d",
]


def valid_cell_mask(num_clips: int, scale_layers: Sequence[int]) -> np.ndarray:
    """Valid candidate cells of the 2D-TAN sparse scheme.

    The first scale keeps every span of ``1..scale_layers[0]`` clips starting at every clip. Each later scale ``s``
    doubles the start stride (``2**s``) and adds ``scale_layers[s]`` spans, each ``2**s`` clips longer than the last
    (2D-TAN's ``SparsePropMaxPool``). With ``scale_layers[0] >= num_clips`` the map is dense (every ``i <= j``).

    Args:
        num_clips (int): K, the side of the map.
        scale_layers (Sequence[int]): number of spans per scale, e.g. ``[16, 8, 8]``.

    Returns:
        np.ndarray of bool, shape (num_clips, num_clips): ``True`` where cell ``(i, j)`` is a candidate.

    Example:
        >>> int(valid_cell_mask(32, [16, 8, 8]).sum())
        428
    """
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    if len(scale_layers) == 0 or any(int(n) < 1 for n in scale_layers):
        raise ValueError(f"scale_layers must be a non-empty list of positive ints, got {list(scale_layers)}")
    mask = np.zeros((num_clips, num_clips), dtype=bool)
    span, stride = 0, 1
    for scale, num_spans in enumerate(scale_layers):
        if scale > 0:
            stride *= 2
        for _ in range(int(num_spans)):
            span += stride if scale > 0 else 1
            starts = np.arange(0, num_clips - span + 1, stride)
            mask[starts, starts + span - 1] = True
    return mask


def cell_spans(num_clips: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of every cell as a fraction of the video, shape (num_clips, num_clips) each.

    ``start[i, j] = i / K`` and ``end[i, j] = (j + 1) / K``; cells with ``i > j`` are not candidates but get the same
    formula (callers mask them).
    """
    index = np.arange(num_clips, dtype=np.float64)
    start = np.broadcast_to(index[:, None] / num_clips, (num_clips, num_clips))
    end = np.broadcast_to((index[None, :] + 1) / num_clips, (num_clips, num_clips))
    return start.copy(), end.copy()


def cells_to_seconds(
    rows: np.ndarray, cols: np.ndarray, durations: np.ndarray, num_clips: int, offsets: np.ndarray | float = 0.0
) -> np.ndarray:
    """Convert cells ``(rows, cols)`` to ``[start, end]`` seconds; all arguments broadcast together.

    ``offsets`` places the map of a window of a longer video (chunked grounding): a window of ``d`` seconds that
    starts ``o`` seconds into its video maps cell ``(i, j)`` to ``[o + i * d / K, o + (j + 1) * d / K]``. With the
    default 0 the result is bitwise that of a whole video.

    Returns:
        np.ndarray of shape (..., 2): ``[o + i * d / K, o + (j + 1) * d / K]``.
    """
    durations = np.asarray(durations, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.float64)
    start = offsets + np.asarray(rows, dtype=np.float64) * durations / num_clips
    end = offsets + (np.asarray(cols, dtype=np.float64) + 1.0) * durations / num_clips
    return np.stack(np.broadcast_arrays(start, end), axis=-1)


def seconds_to_cell(moment: Sequence[float], duration: float, num_clips: int, mask: np.ndarray | None = None):
    """The valid cell whose span has the highest IoU with ``moment`` (ties: the first in row-major order).

    Returns:
        tuple[int, int]: ``(i, j)``.
    """
    overlap = iou_map(moment, duration, num_clips)
    if mask is not None:
        overlap = np.where(mask, overlap, -1.0)
    flat = int(np.argmax(overlap))
    return divmod(flat, num_clips)


def segment_iou(segments_a: np.ndarray, segments_b: np.ndarray) -> np.ndarray:
    """Temporal IoU of ``[start, end]`` segments; shapes ``(..., 2)`` broadcast together.

    A zero-length segment has IoU 1 with an identical zero-length segment and 0 otherwise.
    """
    a = np.asarray(segments_a, dtype=np.float64)
    b = np.asarray(segments_b, dtype=np.float64)
    intersection = np.clip(np.minimum(a[..., 1], b[..., 1]) - np.maximum(a[..., 0], b[..., 0]), 0.0, None)
    union = np.maximum(a[..., 1], b[..., 1]) - np.minimum(a[..., 0], b[..., 0])
    identical = (a[..., 0] == b[..., 0]) & (a[..., 1] == b[..., 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, intersection / np.where(union > 0, union, 1.0), identical.astype(np.float64))
    return iou


def iou_map(moment: Sequence[float], duration: float, num_clips: int) -> np.ndarray:
    """IoU of every cell's span with a moment ``[start, end]`` in seconds, shape (num_clips, num_clips)."""
    start, end = cell_spans(num_clips)
    cells = np.stack([start * duration, end * duration], axis=-1)
    return segment_iou(cells, np.asarray(moment, dtype=np.float64))


def scaled_iou_labels(iou: np.ndarray, min_iou: float, max_iou: float) -> np.ndarray:
    """2D-TAN soft labels: IoU rescaled so that ``min_iou`` maps to 0 and ``max_iou`` to 1, clipped to [0, 1]."""
    return np.clip((np.asarray(iou) - min_iou) / (max_iou - min_iou), 0.0, 1.0)


def nms_1d(segments: np.ndarray, scores: np.ndarray, threshold: float, top_k: int | None = None) -> np.ndarray:
    """Greedy 1-D non-maximum suppression.

    Args:
        segments (np.ndarray of shape (N, 2)): ``[start, end]`` per candidate.
        scores (np.ndarray of shape (N,)): higher is better; ties keep the earlier candidate.
        threshold (float): a candidate is dropped when its IoU with a kept one is strictly above this.
        top_k (int, optional): stop after this many kept candidates.

    Returns:
        np.ndarray of int: indices of the kept candidates, best first.
    """
    segments = np.asarray(segments, dtype=np.float64)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    limit = len(order) if top_k is None else min(top_k, len(order))
    kept: list[int] = []
    suppressed = np.zeros(len(order), dtype=bool)
    for rank, index in enumerate(order):
        if suppressed[rank]:
            continue
        kept.append(int(index))
        if len(kept) == limit:
            break
        overlaps = segment_iou(segments[order], segments[index])
        suppressed |= overlaps > threshold
    return np.asarray(kept, dtype=np.int64)
