"""Which decoded frames become feature rows: the sampling-time rule and its streaming implementation.

Rule (one place, used by the extractor and its tests): a video of ``duration`` seconds sampled at ``fps`` feature rows
per second has ``T = max(1, ceil(duration * fps - 0.5))`` rows, the rows whose centre ``(i + 0.5) / fps`` lies inside
the video (a video shorter than half a sample interval still gets one row). An encoder that reads ``N`` frames per
row (a clip encoder such as VideoMAE; ``N = 1`` for an image encoder such as CLIP) gets the frames nearest to the
times ``(i + (k + 0.5) / N) / fps`` for ``k = 0 .. N - 1``: ``N`` evenly spaced times inside ``[i / fps,
(i + 1) / fps)``, centred on the row's centre. For ``N = 1`` that is the frame nearest to ``(i + 0.5) / fps``.

"Nearest" compares presentation times measured from the first decoded frame; on a tie the earlier frame wins. A time
past the last frame takes the last frame. `FrameSampler` applies the rule while frames stream in, holding only the
previous frame and the frames of the row being filled, so memory does not grow with the video's length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["FrameSampler", "check_sampling_rate", "nearest_frame_indices", "num_feature_rows", "sample_times"]


def check_sampling_rate(fps: float, frames_per_row: int = 1) -> None:
    """Raise `InputError` unless ``fps`` is a finite number > 0 and ``frames_per_row`` an integer >= 1."""
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not math.isfinite(fps) or fps <= 0:
        raise InputError(f"fps must be a positive number of feature rows per second, got {fps!r}")
    if isinstance(frames_per_row, bool) or not isinstance(frames_per_row, int) or frames_per_row < 1:
        raise InputError(f"frames_per_row must be a positive integer, got {frames_per_row!r}")


def num_feature_rows(duration: float, fps: float) -> int:
    """``T``: the number of rows ``i`` whose centre ``(i + 0.5) / fps`` is before ``duration``, at least 1.

    Example:
        >>> [num_feature_rows(duration, fps=1.0) for duration in (10.0, 10.4, 10.6, 0.2)]
        [10, 10, 11, 1]
    """
    check_sampling_rate(fps, 1)
    return max(1, math.ceil(duration * fps - 0.5))


def sample_times(duration: float, fps: float, frames_per_row: int = 1) -> np.ndarray:
    """The times (seconds) whose nearest frames are sampled, row by row.

    Args:
        duration (float): seconds of video.
        fps (float): feature rows per second.
        frames_per_row (int): N, frames the encoder reads per row.

    Returns:
        np.ndarray of shape (num_frames, frames_per_row): ``(i + (k + 0.5) / N) / fps``.

    Example:
        >>> sample_times(2.2, 1.0).ravel().tolist()
        [0.5, 1.5]
        >>> sample_times(1.0, 1.0, frames_per_row=4).ravel().tolist()
        [0.125, 0.375, 0.625, 0.875]
    """
    check_sampling_rate(fps, frames_per_row)
    rows = np.arange(num_feature_rows(duration, fps), dtype=np.float64)[:, None]
    offsets = (np.arange(frames_per_row, dtype=np.float64) + 0.5) / frames_per_row
    return (rows + offsets[None, :]) / fps  # (num_frames, frames_per_row)


def nearest_frame_indices(frame_times: Sequence[float], times: np.ndarray) -> np.ndarray:
    """For each time, the index of the frame with the nearest time (the earlier one on a tie); the plain reference
    of what `FrameSampler` computes while streaming.

    Args:
        frame_times (sequence of float): presentation times of the decoded frames, ascending.
        times (np.ndarray): any shape.

    Returns:
        np.ndarray of int64, the shape of ``times``.
    """
    frame_times = np.asarray(frame_times, dtype=np.float64)
    distances = np.abs(np.asarray(times, dtype=np.float64)[..., None] - frame_times)  # (..., num_decoded_frames)
    return np.argmin(distances, axis=-1)  # argmin keeps the first (earlier) frame on a tie


class FrameSampler:
    """Streaming form of the sampling rule: push decoded frames in presentation order, get complete rows back.

    Args:
        fps (float): feature rows per second.
        frames_per_row (int): N, frames per row (1 for image encoders).

    Example:
        >>> sampler = FrameSampler(fps=1.0)
        >>> rows = [row for t in (0.0, 0.4, 0.8, 1.2, 1.6) for row in sampler.push(t, f"frame@{t}")]
        >>> rows + sampler.finish(duration=2.0)
        [['frame@0.4'], ['frame@1.6']]
    """

    def __init__(self, fps: float, frames_per_row: int = 1):
        check_sampling_rate(fps, frames_per_row)
        self.fps = float(fps)
        self.frames_per_row = int(frames_per_row)
        self._next_sample = 0  # index j of the next sample time, (j + 0.5) / (fps * N)
        self._previous: tuple[float, Any] | None = None
        self._row: list[Any] = []

    def _time(self, sample: int) -> float:
        return (sample + 0.5) / (self.fps * self.frames_per_row)

    def _take(self, frame: Any) -> list[list[Any]]:
        """Assign ``frame`` to the next sample time; returns the row it completes, if any."""
        self._row.append(frame)
        self._next_sample += 1
        if len(self._row) < self.frames_per_row:
            return []
        row, self._row = self._row, []
        return [row]

    def push(self, time: float, frame: Any) -> list[list[Any]]:
        """Add the next decoded frame (``time`` in seconds from the first frame); returns the rows it completes.

        A frame whose time goes backwards (broken timestamps) is treated as coming at the previous frame's time.
        """
        if self._previous is not None:
            time = max(time, self._previous[0])
        rows = []
        while self._time(self._next_sample) <= time:
            target = self._time(self._next_sample)
            earlier = self._previous is not None and target - self._previous[0] <= time - target
            rows += self._take(self._previous[1] if earlier else frame)
        self._previous = (time, frame)
        return rows

    def finish(self, duration: float) -> list[list[Any]]:
        """Rows still due once the video ended at ``duration`` seconds: the times past the last frame take the last
        frame; a partly filled row past the video's last row is dropped.

        Raises:
            InputError: no frame was pushed.
        """
        if self._previous is None:
            raise InputError("FrameSampler.finish: no frame was pushed")
        total = num_feature_rows(duration, self.fps) * self.frames_per_row
        rows = []
        while self._next_sample < total:
            rows += self._take(self._previous[1])
        self._row = []
        return rows
