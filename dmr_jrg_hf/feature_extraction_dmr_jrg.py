"""Video side of the DMR-JRG processor: clip features from per-frame features (paper §III-C-2, DESIGN §2).

Per video: L2-normalise every frame feature, average to a fixed number of frames (256), then average-pool to K clips.
The (K, K) map of candidate moments is `geometry.valid_cell_mask`. A video longer than the processor's
``long_video_threshold_seconds`` is grounded in windows (`window_starts`, `dmr_jrg_hf.inference.long_videos`), each
pooled the same way; `long_video_defaults` chooses the window from the training durations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import ConfigError, InputError
from .validation import check_positive_seconds, first_nonfinite_row

__all__ = [
    "average_to_length",
    "extract_clip_features",
    "check_video_features",
    "check_long_video_settings",
    "long_video_defaults",
    "window_starts",
]

# Chunked grounding of long videos: the window is this percentile of the training durations (see long_video_defaults).
LONG_VIDEO_WINDOW_PERCENTILE = 95.0
LONG_VIDEO_OVERLAP = 0.5
# Temperature of the window weights exp((cos - best cos) / T) of chunked grounding (examples/long_video_grounding.py).
LONG_VIDEO_RELEVANCE_TEMPERATURE = 0.1


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
    bad = first_nonfinite_row(array)
    if bad is not None:
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


def window_starts(num_frames: int, duration: float, window_seconds: float, overlap: float) -> tuple[np.ndarray, int]:
    """First frames of the windows a long video is grounded in, and their common length in frames.

    The frames are spread evenly over the video (frame ``t`` covers ``[t * d / T, (t + 1) * d / T]`` seconds). A window
    is ``round(window_seconds * T / d)`` frames (at least one); windows start every ``round(window * (1 - overlap))``
    frames (at least one) from frame 0, and one more window ends on the last frame when the stride does not land
    there, so every window has the same length and together they cover the video. A video no longer than one window
    is one window, the whole video.

    Args:
        num_frames (int): T.
        duration (float): d, seconds.
        window_seconds (float): window length, seconds.
        overlap (float): share of a window that the next one overlaps, in [0, 1).

    Returns:
        tuple: starts (np.ndarray of int64, shape (num_windows,)) and the window length in frames (int).

    Example:
        >>> starts, length = window_starts(600, 600.0, 120.0, 0.5)
        >>> starts.tolist(), length
        ([0, 60, 120, 180, 240, 300, 360, 420, 480], 120)
    """
    window = max(1, int(np.floor(window_seconds * num_frames / duration + 0.5)))
    if window >= num_frames:
        return np.zeros(1, dtype=np.int64), num_frames
    stride = max(1, int(np.floor(window * (1.0 - overlap) + 0.5)))
    starts = np.arange(0, num_frames - window + 1, stride, dtype=np.int64)
    if starts[-1] + window < num_frames:
        starts = np.append(starts, num_frames - window)
    return starts, window


def long_video_defaults(training_durations: Sequence[float] | None) -> dict[str, float | None]:
    """Chunked-grounding settings chosen from the training videos' durations (seconds).

    The window is the 95th percentile of the training durations: a window then has the length of a typical long
    training video, so its K clips have the duration scale the model learnt (a window of the longest one would let a
    few outliers set it; the median would halve the context of most training paragraphs). Chunking applies above the
    longest training duration: every video at most as long as one the model was trained on is grounded whole, exactly
    as before. Consecutive windows overlap by half a window, so every moment up to half a window long (training moments
    are at most half their video in the synthetic benchmark, and mostly shorter in the real ones) lies wholly inside
    one window.

    Args:
        training_durations (Sequence[float], optional): seconds; None or empty turns chunking off.

    Returns:
        dict: ``long_video_window_seconds``, ``long_video_overlap`` and ``long_video_threshold_seconds`` (window and
        threshold None without durations), rounded to 0.01 s.

    Example:
        >>> long_video_defaults([20.0, 40.0, 60.0, 80.0, 100.0])
        {'long_video_window_seconds': 96.0, 'long_video_overlap': 0.5, 'long_video_threshold_seconds': 100.0}
    """
    durations = np.asarray([] if training_durations is None else training_durations, dtype=np.float64)
    if durations.size == 0:
        return {
            "long_video_window_seconds": None,
            "long_video_overlap": LONG_VIDEO_OVERLAP,
            "long_video_threshold_seconds": None,
        }
    window = round(float(np.percentile(durations, LONG_VIDEO_WINDOW_PERCENTILE)), 2)
    return {
        "long_video_window_seconds": window,
        "long_video_overlap": LONG_VIDEO_OVERLAP,
        "long_video_threshold_seconds": max(window, round(float(durations.max()), 2)),
    }


def check_long_video_settings(
    window: float | None, overlap: float, threshold: float | None, temperature: float | None
) -> tuple[float | None, float, float | None, float | None]:
    """Validated ``(window, overlap, threshold, temperature)`` of chunked grounding; the threshold defaults to the
    window.

    Raises:
        ConfigError: a window or threshold that is not a positive number of seconds, an overlap outside [0, 1), a
            threshold shorter than the window or a temperature that is not a positive number (naming the field).
    """
    if not _is_real(overlap) or not 0.0 <= overlap < 1.0:
        raise ConfigError(f"long_video_overlap must be a number in [0, 1), got {overlap!r}")
    if temperature is not None and (not _is_real(temperature) or not 0.0 < temperature < float("inf")):
        raise ConfigError(f"long_video_relevance_temperature must be a positive number or None, got {temperature!r}")
    temperature = None if temperature is None else float(temperature)
    if window is None:
        return None, float(overlap), None, temperature
    try:
        window = check_positive_seconds(window, "long_video_window_seconds")
        threshold = window if threshold is None else check_positive_seconds(threshold, "long_video_threshold_seconds")
    except InputError as error:
        raise ConfigError(str(error)) from None
    if threshold < window:
        raise ConfigError(
            f"long_video_threshold_seconds ({threshold}) must be at least long_video_window_seconds ({window}): a "
            "video grounded in windows must be longer than one window"
        )
    return window, float(overlap), threshold, temperature


def _is_real(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
