"""The extraction loop: video files -> sampled frames -> vision encoder -> L2-normalised feature rows -> feature file.

`extract_features` decodes each video once, streams its sampled frames in batches of ``batch_size`` rows through the
encoder and writes the video when its last row is encoded (see `writer` for how a video is written atomically). Videos
already complete in the output are skipped, so rerunning an interrupted command continues where it stopped. A video
that cannot be decoded is skipped with its reason (`decoding.DECODE_FAILURES`) in ``skipped.jsonl`` beside the output,
and the others go on.

Decoding and preprocessing (the image processor) run in the main process, or in ``num_workers`` DataLoader worker
processes that each take every ``num_workers``-th video; the encoder always runs in the main process, on the GPU when
there is one (``device="auto"``). Memory per worker: one batch of rows plus the frames the sampler holds.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..validation import check_positive_int
from .decoding import SampledVideo, VideoDecodeError, VideoInfo
from .encoders import VisionEncoder, encoder_name
from .sampling import check_sampling_rate, num_feature_rows
from .sources import list_videos
from .spec import DEFAULT_ENCODER, DEFAULT_FPS
from .writer import open_feature_writer

__all__ = ["SKIPPED_FILE", "ExtractionReport", "SkippedVideo", "extract_features"]

logger = logging.getLogger(__name__)

SKIPPED_FILE = "skipped.jsonl"


@dataclass(frozen=True)
class SkippedVideo:
    """A video left out of the output: its id, file, reason (one of `decoding.DECODE_FAILURES`) and detail."""

    video_id: str
    path: str
    reason: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class ExtractionReport:
    """What `extract_features` did.

    Args:
        output (Path or None): the feature file or folder (None when no video could be written and none was there).
        encoder (str): recorded encoder name.
        fps (float): feature rows per second.
        extracted (list[str]): ids written by this run.
        already_done (list[str]): ids found complete in the output and skipped.
        skipped (list[SkippedVideo]): videos that could not be decoded.
        num_rows (int): feature rows written by this run.
        num_sampled_frames (int): frames encoded by this run (rows x frames per row).
        video_seconds (float): seconds of video extracted by this run.
        seconds (float): wall-clock time of this run's decoding, encoding and writing (loading the encoder excluded).
    """

    output: Path | None
    encoder: str
    fps: float
    extracted: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    skipped: list[SkippedVideo] = field(default_factory=list)
    num_rows: int = 0
    num_sampled_frames: int = 0
    video_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def frames_per_second(self) -> float:
        """Sampled frames encoded per second of wall-clock time."""
        return self.num_sampled_frames / self.seconds if self.seconds else 0.0

    @property
    def video_seconds_per_second(self) -> float:
        """Seconds of video extracted per second of wall-clock time."""
        return self.video_seconds / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": None if self.output is None else str(self.output),
            "encoder": self.encoder,
            "fps": self.fps,
            "extracted": len(self.extracted),
            "already_done": len(self.already_done),
            "skipped": dict(Counter(item.reason for item in self.skipped)),
            "num_rows": self.num_rows,
            "num_sampled_frames": self.num_sampled_frames,
            "video_seconds": round(self.video_seconds, 3),
            "seconds": round(self.seconds, 3),
            "frames_per_second": round(self.frames_per_second, 2),
            "video_seconds_per_second": round(self.video_seconds_per_second, 2),
        }

    def summary(self) -> str:
        """One line per fact: what was extracted, how fast, what was skipped and why."""
        lines = [
            f"extracted {len(self.extracted)} video(s), {self.num_rows} feature rows, {self.video_seconds:.1f} s of "
            f"video in {self.seconds:.1f} s ({self.frames_per_second:.1f} frames/s, "
            f"{self.video_seconds_per_second:.1f} video-seconds/s) -> {self.output}",
        ]
        if self.already_done:
            lines.append(f"{len(self.already_done)} video(s) already complete in the output, skipped")
        for reason, count in sorted(Counter(item.reason for item in self.skipped).items()):
            lines.append(f"skipped {count} video(s): {reason}")
        return "\n".join(lines)


@dataclass
class _Chunk:
    """A batch of one video's preprocessed rows; the last chunk of a video carries its `VideoInfo` or its failure."""

    video_id: str
    pixel_values: torch.Tensor | None = None
    info: VideoInfo | None = None
    failure: tuple[str, str] | None = None  # (reason, detail): strings cross process boundaries, exceptions may not


class _VideoChunks(torch.utils.data.IterableDataset):
    """Decodes and preprocesses videos into chunks; DataLoader worker ``w`` of ``n`` takes videos ``w, w + n, ...``."""

    def __init__(
        self,
        videos: Sequence[tuple[str, Path]],
        encoder: VisionEncoder,
        fps: float,
        batch_size: int,
        max_duration: float | None,
    ):
        self.videos, self.encoder, self.fps = list(videos), encoder, fps
        self.batch_size, self.max_duration = batch_size, max_duration

    def __iter__(self) -> Iterator[_Chunk]:
        worker = torch.utils.data.get_worker_info()
        videos = self.videos if worker is None else self.videos[worker.id :: worker.num_workers]
        for video_id, path in videos:
            yield from self._chunks(video_id, path)

    def _chunks(self, video_id: str, path: Path) -> Iterator[_Chunk]:
        video = SampledVideo(path, self.fps, self.encoder.frames_per_row, self.max_duration)
        rows = []
        try:
            for row in video:
                rows.append(row)
                if len(rows) == self.batch_size:
                    yield _Chunk(video_id, self.encoder.preprocess(rows))
                    rows = []
        except VideoDecodeError as error:
            yield _Chunk(video_id, failure=(error.reason, error.detail))
            return
        yield _Chunk(video_id, self.encoder.preprocess(rows) if rows else None, info=video.info)


def _chunk_stream(dataset: _VideoChunks, num_workers: int) -> Iterator[_Chunk]:
    if num_workers == 0:
        return iter(dataset)
    return iter(torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=num_workers))


def _video_metadata(encoder: VisionEncoder, fps: float, info: VideoInfo, num_rows: int) -> dict[str, Any]:
    return {
        "duration": info.duration,
        "fps": fps,
        "encoder": encoder.name,
        "num_frames": num_rows,
        "frames_per_row": encoder.frames_per_row,
        "num_decoded_frames": info.num_decoded_frames,
        "source_fps": info.source_fps,
        "codec": info.codec,
    }


def _run(chunks: Iterator[_Chunk], paths: dict[str, Path], encoder: VisionEncoder, writer, report, progress) -> None:
    """Encode every chunk and write each video once its last chunk is in; failures go to ``report.skipped``."""
    pending: dict[str, list[np.ndarray]] = {}
    start = time.perf_counter()
    for chunk in chunks:
        parts = pending.setdefault(chunk.video_id, [])
        if chunk.pixel_values is not None:
            parts.append(encoder.encode(chunk.pixel_values))  # (rows, feature_dim)
            report.num_sampled_frames += len(chunk.pixel_values) * encoder.frames_per_row
        if chunk.failure is not None:
            pending.pop(chunk.video_id)
            reason, detail = chunk.failure
            report.skipped.append(SkippedVideo(chunk.video_id, str(paths[chunk.video_id]), reason, detail))
            logger.warning("skipped video %r (%s): %s", chunk.video_id, reason, detail)
        elif chunk.info is not None:
            features = np.concatenate(pending.pop(chunk.video_id))  # (num_frames, feature_dim)
            assert len(features) == num_feature_rows(chunk.info.duration, report.fps), "sampling rule broken"
            writer.write(chunk.video_id, features, _video_metadata(encoder, report.fps, chunk.info, len(features)))
            report.extracted.append(chunk.video_id)
            report.num_rows += len(features)
            report.video_seconds += chunk.info.duration
        if chunk.failure is not None or chunk.info is not None:
            progress.update(1)
        rate = report.num_sampled_frames / max(time.perf_counter() - start, 1e-9)
        progress.set_postfix({"frames/s": f"{rate:.1f}", "skipped": len(report.skipped)}, refresh=False)


def _write_skipped(output: Path, skipped: list[SkippedVideo]) -> Path:
    path = output.parent / SKIPPED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(item.to_dict()) + "\n" for item in skipped), encoding="utf-8")
    return path


def extract_features(
    videos: str | Path | Sequence[str | Path],
    output: str | Path,
    encoder: str | Path | VisionEncoder = DEFAULT_ENCODER,
    fps: float = DEFAULT_FPS,
    batch_size: int = 32,
    device: str = "auto",
    dtype: str = "fp32",
    num_workers: int = 0,
    max_duration: float | None = None,
    show_progress: bool = True,
) -> ExtractionReport:
    """Extract L2-normalised frame features of video files into an HDF5 file or an npy folder (resumable).

    Args:
        videos: a folder, a video file, a text file listing video paths, or a list of paths (`sources.list_videos`).
        output (str or Path): ``*.hdf5`` / ``*.h5`` (one dataset per video id at the root) or a folder
            (``{video_id}.npy``). Videos already complete in it are skipped. ``skipped.jsonl`` is written beside it.
        encoder (str, Path or VisionEncoder): Hub id or local folder of a vision model with its image processor
            (default ``openai/clip-vit-base-patch32``), or an encoder already loaded.
        fps (float): feature rows per second (`sampling` gives the rule).
        batch_size (int): rows per encoder batch.
        device (str): ``auto``, ``cpu``, ``cuda``, ... (ignored for a loaded encoder).
        dtype (str): ``fp32``, ``bf16`` or ``fp16`` (ignored for a loaded encoder); features are stored as float32.
        num_workers (int): DataLoader worker processes that decode and preprocess; 0 decodes in this process.
        max_duration (float, optional): seconds; longer videos are skipped as ``too_long``.
        show_progress (bool): tqdm bar (videos, sampled frames per second).

    Returns:
        ExtractionReport: also summarised in the log; the skipped videos are in ``skipped.jsonl``.

    Raises:
        ConfigError: bad settings, no video found, an encoder that cannot be loaded.
        DataFormatError: the output holds features of another encoder or rate (named), or two videos share an id.

    Example:
        >>> report = extract_features("videos/", "features.hdf5", fps=1.0)  # doctest: +SKIP
        >>> print(report.summary())  # doctest: +SKIP
    """
    check_positive_int(batch_size, "batch_size", ConfigError)
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ConfigError(f"num_workers must be an integer >= 0, got {num_workers!r}")
    check_sampling_rate(fps)
    paths = list_videos(videos)
    name = encoder.name if isinstance(encoder, VisionEncoder) else encoder_name(encoder)
    writer = open_feature_writer(output, name, float(fps))
    report = ExtractionReport(output=None, encoder=name, fps=float(fps))
    done = writer.completed()
    report.already_done = [video_id for video_id in paths if video_id in done]
    todo = [(video_id, path) for video_id, path in paths.items() if video_id not in done]
    logger.info(
        "%d video(s): %d already in %s, %d to extract", len(paths), len(report.already_done), output, len(todo)
    )
    if todo and not isinstance(encoder, VisionEncoder):
        encoder = VisionEncoder.from_pretrained(encoder, device=device, dtype=dtype)
    start = time.perf_counter()
    if todo:
        chunks = _chunk_stream(_VideoChunks(todo, encoder, float(fps), batch_size, max_duration), num_workers)
        with tqdm(total=len(todo), desc="Extracting features", unit="video", disable=not show_progress) as progress:
            _run(chunks, paths, encoder, writer, report, progress)
    report.output = writer.finish()
    report.seconds = time.perf_counter() - start
    _write_skipped(Path(output), report.skipped)
    logger.info("%s", report.summary())
    return report
