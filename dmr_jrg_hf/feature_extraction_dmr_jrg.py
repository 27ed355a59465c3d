"""Video side of the DMR-JRG processor: clip features from per-frame features (paper §III-C-2, DESIGN §2).

Per video: L2-normalise every frame feature, average to a fixed number of frames (256), then average-pool to K clips.
The (K, K) map of candidate moments is `geometry.valid_cell_mask`.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = ["average_to_length", "extract_clip_features", "check_video_features"]


def average_to_length(frames: np.ndarray, length: int) -> np.ndarray:
    """Resample ``(T, D)`` to ``(length, D)``: output row ``i`` averages frames ``[floor(i*T/L), floor((i+1)*T/L))``.

    When ``T < length`` a row whose range is empty takes the frame at ``floor(i*T/L)`` (nearest-previous frame), as in
    2D-TAN's feature resampling.
    """
    num_frames = frames.shape[0]
    bounds = np.floor(np.arange(length + 1) * num_frames / length).astype(np.int64)
    starts = np.minimum(bounds[:-1], num_frames - 1)
    ends = np.maximum(bounds[1:], starts + 1)
    cumulative = np.concatenate(
        [np.zeros((1, frames.shape[1]), dtype=np.float64), np.cumsum(frames, axis=0, dtype=np.float64)]
    )
    sums = cumulative[ends] - cumulative[starts]  # (length, D)
    return (sums / (ends - starts)[:, None]).astype(np.float32)


def check_video_features(features: np.ndarray, feature_dim: int | None, name: str) -> np.ndarray:
    """Return ``features`` as float32 ``(T, D)`` or raise `InputError` naming the video.

    Raises:
        InputError: wrong rank or dtype, zero frames, wrong feature dimension, NaN or Inf, or values so large that
            a frame's L2 norm overflows float32 (the normalisation would turn the video into zeros).
    """
    array = np.asarray(features)
    if array.dtype.kind not in "fiu":
        raise InputError(f"{name}: expected numeric features (float or int), got dtype {array.dtype}")
    if array.ndim != 2:
        raise InputError(f"{name}: expected features of shape (num_frames, feature_dim), got shape {array.shape}")
    if array.shape[0] == 0:
        raise InputError(f"{name}: features have zero frames")
    if feature_dim is not None and array.shape[1] != feature_dim:
        raise InputError(f"{name}: expected feature_dim {feature_dim}, got features of shape {array.shape}")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        bad = int(np.argwhere(~np.isfinite(array))[0, 0])
        raise InputError(f"{name}: features contain NaN or Inf (first at frame {bad})")
    with np.errstate(over="ignore"):
        overflowing = ~np.isfinite(np.linalg.norm(array, axis=1))
    if overflowing.any():
        bad = int(np.flatnonzero(overflowing)[0])
        raise InputError(
            f"{name}: the L2 norm of frame {bad} overflows float32 (largest value {np.abs(array[bad]).max():.3g}); "
            "rescale the features"
        )
    return array


def extract_clip_features(features: np.ndarray, num_sampled_frames: int, num_clips: int) -> np.ndarray:
    """Per-frame L2 norm, average to ``num_sampled_frames``, average-pool to ``num_clips``.

    Args:
        features (np.ndarray of shape (num_frames, feature_dim)): checked with `check_video_features` first.

    Returns:
        np.ndarray of shape (num_clips, feature_dim), float32.
    """
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    normalised = features / np.maximum(norms, 1e-12)
    sampled = average_to_length(normalised, num_sampled_frames)
    return average_to_length(sampled, num_clips)
