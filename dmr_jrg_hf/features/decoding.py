"""Video files to sampled RGB frames with PyAV (the ``video`` extra; no ffmpeg binary needed), streamed.

`SampledVideo` decodes one file frame by frame and hands each decoded frame to a `FrameSampler`: only the previous
frame and the row being filled are alive at any time, so an hour-long video needs no more memory than a short one.
Times are presentation timestamps measured from the first decoded frame; the video's duration is the last frame's
time plus one frame interval (``1 / average_rate``, else the last gap between frames, else one sample interval).

A file that cannot be turned into frames raises `VideoDecodeError` with a machine-readable ``reason`` (one of
``DECODE_FAILURES``) and a one-line detail; the extraction loop writes both to ``skipped.jsonl``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataFormatError
from .sampling import FrameSampler

__all__ = ["DECODE_FAILURES", "SampledVideo", "VideoDecodeError", "VideoInfo", "import_av"]

logger = logging.getLogger(__name__)

DECODE_FAILURES = {
    "not_found": "the file does not exist",
    "empty_file": "the file has zero bytes",
    "unreadable": "not a media file PyAV can open (corrupt or truncated container)",
    "no_video_stream": "the file has no video stream (audio-only or data)",
    "too_long": "the video is longer than max_duration",
    "decode_error": "the video stream fails to decode part-way",
    "no_frames": "the video stream holds no decodable frame",
}


def import_av():
    """The ``av`` module (PyAV), or a `ConfigError` that says how to install it."""
    try:
        import av
    except ImportError as error:
        raise ConfigError("decoding videos needs PyAV: pip install 'dmr_jrg_hf[video]' (or pip install av)") from error
    return av


class VideoDecodeError(DataFormatError):
    """A video file could not be turned into frames.

    Args:
        path (Path): the file.
        reason (str): one of ``DECODE_FAILURES``.
        detail (str): what PyAV said, or the numbers involved.
    """

    def __init__(self, path: Path, reason: str, detail: str):
        if reason not in DECODE_FAILURES:
            raise ValueError(f"unknown decode failure {reason!r}; expected one of {sorted(DECODE_FAILURES)}")
        self.path, self.reason, self.detail = Path(path), reason, detail
        super().__init__(f"{path}: {DECODE_FAILURES[reason]} ({detail})")


@dataclass(frozen=True)
class VideoInfo:
    """What decoding measured about one video.

    Args:
        duration (float): seconds, from the first frame to the end of the last one.
        num_decoded_frames (int): frames decoded from the video stream.
        source_fps (float): the stream's average frame rate (frames per second); decoded frames / duration when the
            container does not say.
        codec (str): the video codec's name.
    """

    duration: float
    num_decoded_frames: int
    source_fps: float
    codec: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _message(error: Exception) -> str:
    """PyAV's error text without its errno prefix and the file name (the report names the file already)."""
    return getattr(error, "strerror", None) or str(error)


def _frame_interval(stream, last_gap: float | None, fps: float) -> float:
    rate = stream.average_rate or stream.guessed_rate
    if rate:
        return float(1 / Fraction(rate))
    return last_gap if last_gap else 1.0 / fps


class SampledVideo:
    """The rows of sampled RGB frames of one video file, streamed (see `dmr_jrg_hf.features.sampling` for the rule).

    Iterating decodes the file once and yields lists of ``frames_per_row`` ``(height, width, 3)`` uint8 arrays; after
    the iteration `info` holds the measured duration and frame counts.

    Args:
        path (str or Path): the video file.
        fps (float): feature rows per second.
        frames_per_row (int): frames per row (1 for image encoders, ``num_frames`` for clip encoders).
        max_duration (float, optional): a video longer than this many seconds raises ``too_long`` (checked on the
            container's header before decoding, and again while decoding).

    Raises:
        VideoDecodeError: while iterating, with the reason of the failure.

    Example:
        >>> import tempfile, av, numpy as np
        >>> path = tempfile.mkdtemp() + "/grey.mp4"
        >>> with av.open(path, "w") as container:
        ...     stream = container.add_stream("mpeg4", rate=4)
        ...     stream.width, stream.height, stream.pix_fmt = 32, 16, "yuv420p"
        ...     for i in range(10):
        ...         frame = av.VideoFrame.from_ndarray(np.full((16, 32, 3), 20 * i, np.uint8), format="rgb24")
        ...         container.mux(stream.encode(frame))
        ...     container.mux(stream.encode())
        >>> video = SampledVideo(path, fps=1.0)
        >>> [row[0].shape for row in video], video.info.duration
        ([(16, 32, 3), (16, 32, 3)], 2.5)
    """

    def __init__(self, path: str | Path, fps: float, frames_per_row: int = 1, max_duration: float | None = None):
        self.path = Path(path)
        self.fps = float(fps)
        self.frames_per_row = int(frames_per_row)
        self.max_duration = max_duration
        self.info: VideoInfo | None = None

    def _fail(self, reason: str, detail: str) -> VideoDecodeError:
        return VideoDecodeError(self.path, reason, detail)

    def _open(self, av):
        if not self.path.is_file():
            raise self._fail("not_found", "no such file")
        if self.path.stat().st_size == 0:
            raise self._fail("empty_file", "0 bytes")
        try:
            container = av.open(str(self.path))
        except av.error.FFmpegError as error:
            raise self._fail("unreadable", _message(error)) from error
        kinds = sorted({stream.type for stream in container.streams})
        if not container.streams.video:
            container.close()
            if not kinds:  # what a truncated MP4 without its index looks like
                raise self._fail("unreadable", "no stream found: truncated, or not a media file")
            raise self._fail("no_video_stream", f"streams: {', '.join(kinds)}")
        return container

    def _check_length(self, seconds: float, where: str) -> None:
        if self.max_duration is not None and seconds > self.max_duration:
            raise self._fail("too_long", f"{where} {seconds:.1f} s > max_duration {self.max_duration:g} s")

    def __iter__(self) -> Iterator[list[np.ndarray]]:
        av = import_av()
        container = self._open(av)
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame and slice threads inside libavcodec
            if container.duration:
                self._check_length(container.duration / 1e6, "header says")
            yield from self._decode(av, container, stream)
        finally:
            container.close()

    def _decode(self, av, container, stream) -> Iterator[list[np.ndarray]]:
        sampler = FrameSampler(self.fps, self.frames_per_row)
        first = last = None
        count, last_gap = 0, None
        try:
            for frame in container.decode(stream):
                time = float(frame.time) if frame.time is not None else (last or 0.0) + (last_gap or 1.0 / self.fps)
                first = time if first is None else first
                if last is not None and time > last:
                    last_gap = time - last
                last, count = time, count + 1
                self._check_length(time - first, "decoded up to")
                for row in sampler.push(time - first, frame):
                    yield [image.to_ndarray(format="rgb24") for image in row]
        except av.error.FFmpegError as error:
            reached = "" if last is None else f" after {last - first:.1f} s"
            raise self._fail("decode_error", f"{_message(error)}{reached}") from error
        if count == 0:
            raise self._fail("no_frames", f"{stream.codec_context.name} stream with 0 decodable frames")
        duration = last - first + _frame_interval(stream, last_gap, self.fps)
        for row in sampler.finish(duration):
            yield [image.to_ndarray(format="rgb24") for image in row]
        rate = stream.average_rate
        self.info = VideoInfo(
            duration=duration,
            num_decoded_frames=count,
            source_fps=float(rate) if rate else count / duration,
            codec=stream.codec_context.name,
        )
