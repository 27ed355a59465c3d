"""The windows of a corpus index's long videos: their E1 embeddings, pooled clips, offsets and lengths.

A video longer than the processor's ``long_video_threshold_seconds`` is grounded window by window
(`dmr_jrg_hf.inference.long_videos`); the index keeps every window's K pooled clips, so grounding needs no second
read of the corpus, and every window's E1 embedding (Eq. 1), so retrieval can score a long video by its best window.
Rows are grouped by video in index order; ``counts`` says how many each video has (0: grounded whole).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataFormatError
from ..validation import first_nonfinite_row

__all__ = ["IndexWindows", "WINDOW_TENSORS"]

# Tensor names in ``index.safetensors``; an index without them (written before chunked grounding, or of short videos
# only) has no windows.
WINDOW_TENSORS = {
    "counts": "window_counts",
    "offsets": "window_offsets",
    "durations": "window_durations",
    "embeddings": "window_embeddings",
    "clip_features": "window_clip_features",
}


@dataclass
class IndexWindows:
    """Per-window arrays of a corpus index, grouped by video.

    Attributes:
        counts (np.ndarray of int64, shape (num_videos,)): windows of each video, 0 for a video grounded whole.
        offsets (np.ndarray of float64, shape (num_windows,)): window starts, seconds into the video.
        durations (np.ndarray of float64, shape (num_windows,)): window lengths, seconds.
        embeddings (np.ndarray of float32, shape (num_windows, hidden_size)): L2-normalised E1 embeddings.
        clip_features (np.ndarray of float32, shape (num_windows, num_clips, feature_dim), optional): pooled clips
            (None when the index keeps no clip features).
    """

    counts: np.ndarray
    offsets: np.ndarray
    durations: np.ndarray
    embeddings: np.ndarray
    clip_features: np.ndarray | None

    @classmethod
    def empty(cls, num_videos: int, hidden_size: int, clip_shape: tuple[int, int] | None) -> IndexWindows:
        """No window for any of ``num_videos`` videos; ``clip_shape`` is (num_clips, feature_dim), None: no clips."""
        return cls(
            np.zeros(num_videos, np.int64),
            np.zeros(0),
            np.zeros(0),
            np.zeros((0, hidden_size), np.float32),
            None if clip_shape is None else np.zeros((0, *clip_shape), np.float32),
        )

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, dtype=np.int64)
        self.offsets = np.asarray(self.offsets, dtype=np.float64)
        self.durations = np.asarray(self.durations, dtype=np.float64)
        self.embeddings = np.ascontiguousarray(self.embeddings, dtype=np.float32)
        if self.clip_features is not None:
            self.clip_features = np.ascontiguousarray(self.clip_features, dtype=np.float32)

    @property
    def starts(self) -> np.ndarray:
        """First window row of each video, shape (num_videos,)."""
        return np.cumsum(self.counts) - self.counts

    def rows(self, position: int) -> slice:
        """The window rows of the video at ``position``."""
        start = int(self.starts[position])
        return slice(start, start + int(self.counts[position]))

    def check(self, video_ids: list[str]) -> None:
        """Raise `DataFormatError` when the arrays do not match the counts or hold NaN/Inf (naming the video)."""
        if len(self.counts) != len(video_ids) or (self.counts < 0).any():
            raise DataFormatError(f"index: window counts for {len(self.counts)} videos, expected {len(video_ids)}")
        arrays = {"offsets": self.offsets, "durations": self.durations, "embeddings": self.embeddings}
        if self.clip_features is not None:
            arrays["clip_features"] = self.clip_features
        total = int(self.counts.sum())
        wrong = {name: len(array) for name, array in arrays.items() if len(array) != total}
        if wrong:
            raise DataFormatError(f"index: {total} windows by the counts but rows {wrong}")
        window_video = np.repeat(np.arange(len(video_ids)), self.counts)
        for name, array in arrays.items():
            row = first_nonfinite_row(array)
            if row is not None:
                video_id = video_ids[int(window_video[row])]
                raise DataFormatError(f"index: video {video_id!r} has NaN or Inf in its window {name}; rebuild it")

    def append(self, other: IndexWindows) -> None:
        """Add the windows of videos appended to the index (``other`` covers exactly those videos)."""
        self.counts = np.concatenate([self.counts, other.counts])
        self.offsets = np.concatenate([self.offsets, other.offsets])
        self.durations = np.concatenate([self.durations, other.durations])
        self.embeddings = np.concatenate([self.embeddings, other.embeddings])
        if self.clip_features is not None:
            self.clip_features = np.concatenate([self.clip_features, other.clip_features])

    def keep(self, kept_videos: np.ndarray) -> None:
        """Keep the windows of the videos where ``kept_videos`` (bool, shape (num_videos,)) is True."""
        kept_rows = np.repeat(kept_videos, self.counts)
        self.counts = self.counts[kept_videos]
        self.offsets, self.durations = self.offsets[kept_rows], self.durations[kept_rows]
        self.embeddings = self.embeddings[kept_rows]
        if self.clip_features is not None:
            self.clip_features = self.clip_features[kept_rows]

    def search_rows(self, video_embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows best-window retrieval scores: a whole video's own embedding, a long video's window embeddings.

        Returns:
            tuple: embeddings (np.ndarray of shape (num_rows, hidden_size)) and the video position of each row.
        """
        whole = np.flatnonzero(self.counts == 0)
        windowed = np.repeat(np.arange(len(self.counts)), self.counts)
        return np.concatenate([video_embeddings[whole], self.embeddings]), np.concatenate([whole, windowed])

    @property
    def nbytes(self) -> int:
        """Bytes of the window arrays; 0 when no video has windows (nothing of them is saved then)."""
        if not self.counts.any():
            return 0
        arrays = [self.counts, self.offsets, self.durations, self.embeddings]
        return int(sum(a.nbytes for a in arrays) + (0 if self.clip_features is None else self.clip_features.nbytes))

    def to_tensors(self) -> dict[str, np.ndarray]:
        """The arrays under their `WINDOW_TENSORS` names; none when no video has windows (the file stays as before)."""
        if not self.counts.any():
            return {}
        arrays = {name: getattr(self, name) for name in WINDOW_TENSORS}
        return {WINDOW_TENSORS[name]: array for name, array in arrays.items() if array is not None}

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, np.ndarray], num_videos: int, hidden_size: int, clip_shape: tuple[int, int] | None
    ) -> IndexWindows:
        """Read the arrays written by `to_tensors`; an index without them has no windows."""
        if WINDOW_TENSORS["counts"] not in tensors:
            return cls.empty(num_videos, hidden_size, clip_shape)
        needed = [name for name in WINDOW_TENSORS if name != "clip_features" or clip_shape is not None]
        missing = [WINDOW_TENSORS[name] for name in needed if WINDOW_TENSORS[name] not in tensors]
        if missing:
            raise DataFormatError(f"index: window tensors {missing} are missing")
        return cls(
            *(tensors[WINDOW_TENSORS[name]] for name in ("counts", "offsets", "durations", "embeddings")),
            None if clip_shape is None else tensors[WINDOW_TENSORS["clip_features"]],
        )
