"""Corpus index for paragraph -> video retrieval (VPCMR, paper §III-D): cached E1 video embeddings + clip features.

Videos are encoded once (`VideoCorpusIndex.build`, batched, with a progress bar); a query then costs one paragraph
encoding and one matrix product. The index also keeps every video's pooled clip features ``(num_clips, feature_dim)``
and duration, so `retrieve_and_ground` can ground the paragraph in the retrieved videos without the original feature
files. A video longer than the processor's ``long_video_threshold_seconds`` also gets the pooled clips and E1 embedding
of each of its windows (`IndexWindows`): grounding reads them window by window (`long_videos`), and retrieval scores
it by its best window or by its whole-video embedding (``long_video_retrieval``). Saved as ``index.safetensors`` +
``index.json`` (no pickle); an index saved before windows existed loads with none. An index built from video files
(``dmr-jrg index --videos``) also records each video's file, which the app plays.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import ConfigError, DataFormatError, InputError
from ..validation import check_positive_int, first_nonfinite_row
from .embedding_scan import EmbeddingScan
from .feature_sources import check_feature_spec, recorded_metadata, resolve_feature_source, video_duration
from .fingerprint import model_fingerprint
from .index_files import read_index_folder, write_index_folder
from .index_windows import IndexWindows
from .long_videos import (
    LONG_VIDEO_RETRIEVAL,
    VideoWindows,
    best_per_video,
    check_long_video_retrieval,
    is_long_video,
    video_windows,
)

if TYPE_CHECKING:
    from ..modeling_dmr_jrg import DMRJRGModel
    from ..processing_dmr_jrg import DMRJRGProcessor

__all__ = ["BACKENDS", "VideoCorpusIndex"]

logger = logging.getLogger(__name__)

BACKENDS = ("exact", "int8", "faiss")
_MODEL_FIELDS = ("num_clips", "feature_dim", "hidden_size", "num_sampled_frames", "map_scale_layers")


class VideoCorpusIndex:
    """Searchable corpus of videos: L2-normalised E1 embeddings, pooled clip features and durations.

    Args:
        video_ids (Sequence[str]): unique ids, row order of the arrays.
        embeddings (np.ndarray of shape (num_videos, hidden_size)): L2-normalised video embeddings (Eq. 1).
        clip_features (np.ndarray of shape (num_videos, num_clips, feature_dim), optional): the processor's pooled
            clips, kept for grounding.
        durations (np.ndarray of shape (num_videos,)): seconds.
        model_info (dict, optional): the model fields the arrays depend on (K, D, d, ...), checked at query time.
        model_fingerprint (str, optional): `model_fingerprint` of the model that built the index; a query with another
            model raises unless ``allow_model_mismatch`` is set. None: not checked.
        backend (str): ``"exact"`` (fp32 scan, default), ``"int8"`` (scan of an int8 copy built at the first query,
            then an exact fp32 re-rank of a provably sufficient pool: the exact results, about 3x faster on large
            corpora; `Int8EmbeddingScan`) or ``"faiss"`` (``faiss.index_factory`` with inner product;
            ``faiss_factory="Flat"`` is exact too).
        faiss_factory (str): FAISS factory string, e.g. ``"Flat"`` or ``"HNSW32"`` (approximate).
        allow_model_mismatch (bool): search with a model whose fingerprint differs from the one that built the index.
        windows (IndexWindows, optional): the windows of the long videos; None: no video has windows.
        long_video_retrieval (str): how `search` scores a video that has windows: ``"best_window"`` (the default:
            its best window's embedding) or ``"pooled"`` (its whole-video embedding, as a short video).

    Raises:
        InputError: duplicate video ids.
        DataFormatError: arrays whose rows do not match the ids, or NaN/Inf in them (names the first video).

    Example:
        >>> import numpy as np
        >>> from dmr_jrg_hf import DMRJRGConfig
        >>> from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
        >>> from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor
        >>> config = DMRJRGConfig.from_preset("tiny")
        >>> processor = DMRJRGProcessor.from_corpus(["a man opens the door"], config=config)
        >>> model = DMRJRGModel(config).eval()
        >>> rng = np.random.default_rng(0)
        >>> features = {f"v{i}": rng.random((30, 12), dtype=np.float32) for i in range(5)}
        >>> index = VideoCorpusIndex.build(model, processor, features, feature_rate=1.0, show_progress=False)
        >>> len(index), index.embeddings.shape
        (5, (5, 16))
    """

    def __init__(
        self,
        video_ids: Sequence[str],
        embeddings: np.ndarray,
        clip_features: np.ndarray | None,
        durations: np.ndarray,
        model_info: dict[str, Any] | None = None,
        backend: str = "exact",
        faiss_factory: str = "Flat",
        model_fingerprint: str | None = None,
        allow_model_mismatch: bool = False,
        windows: IndexWindows | None = None,
        long_video_retrieval: str = LONG_VIDEO_RETRIEVAL[0],
        video_files: Mapping[str, str | Path] | None = None,
    ):
        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.video_ids = [str(video_id) for video_id in video_ids]
        self.embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self.clip_features = None if clip_features is None else np.ascontiguousarray(clip_features, np.float32)
        self.durations = np.asarray(durations, dtype=np.float64)
        self.model_info = dict(model_info or {})
        self.backend = backend
        self.faiss_factory = faiss_factory
        self.model_fingerprint = model_fingerprint
        self.allow_model_mismatch = allow_model_mismatch
        clip_shape = None if self.clip_features is None else self.clip_features.shape[1:]
        self.windows = windows or IndexWindows.empty(len(self.video_ids), self.embeddings.shape[1], clip_shape)
        self.long_video_retrieval = check_long_video_retrieval(long_video_retrieval)
        self.video_files = {str(video_id): str(path) for video_id, path in (video_files or {}).items()}
        self._check_consistent()
        self._positions = {video_id: row for row, video_id in enumerate(self.video_ids)}
        self._scans: dict[tuple[str, str], Any] = {}

    def _check_consistent(self) -> None:
        if len(set(self.video_ids)) != len(self.video_ids):
            duplicates = sorted(video_id for video_id, count in Counter(self.video_ids).items() if count > 1)
            raise InputError(f"index: duplicate video ids {duplicates[:5]}")
        rows = {"embeddings": len(self.embeddings), "durations": len(self.durations)}
        if self.clip_features is not None:
            rows["clip_features"] = len(self.clip_features)
        if any(count != len(self.video_ids) for count in rows.values()) or self.embeddings.ndim != 2:
            raise DataFormatError(f"index: {len(self.video_ids)} video ids but rows {rows}")
        strangers = sorted(set(self.video_files) - set(self.video_ids)) if self.video_files else []
        if strangers:
            raise DataFormatError(f"index: video files of videos that are not indexed: {strangers[:5]}")
        arrays = {"embeddings": self.embeddings, "durations": self.durations, "clip_features": self.clip_features}
        for name, array in arrays.items():
            if array is None:
                continue
            row = first_nonfinite_row(array)
            if row is not None:
                video_id = self.video_ids[row]
                raise DataFormatError(f"index: video {video_id!r} has NaN or Inf in its {name}; rebuild the index")
        if (self.clip_features is None) != (self.windows.clip_features is None):
            raise DataFormatError("index: clip features kept for the videos but not their windows, or the reverse")
        self.windows.check(self.video_ids)

    # Construction ---------------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        model: DMRJRGModel,
        processor: DMRJRGProcessor,
        features,
        durations: Mapping[str, float] | None = None,
        feature_rate: float | None = None,
        batch_size: int = 64,
        backend: str = "exact",
        store_clip_features: bool = True,
        show_progress: bool = True,
        video_files: Mapping[str, str | Path] | None = None,
    ) -> VideoCorpusIndex:
        """Encode a corpus: ``features`` is a ``{video_id: (T, D)}`` mapping, an HDF5 file / npy folder path, or a
        benchmark's ``videos`` Dataset (``video_id``, ``duration``, ``video_features``).

        Args:
            model (DMRJRGModel): with the retrieval branch (``use_retrieval_branch=True``).
            processor (DMRJRGProcessor): its processor.
            durations (Mapping[str, float], optional): seconds per video; else the durations the feature file records
                (``extract-features`` writes them) or the dataset's column, else ``T / feature_rate``.
            feature_rate (float, optional): frames per second of the features (default: the rate recorded in the
                feature file, else the processor's ``video_feature_spec['rate_per_second']``); checked against the
                spec, as is the encoder recorded in the feature file.
            batch_size (int): videos per encoder batch.
            store_clip_features (bool): keep the pooled clips for grounding (``num_clips * feature_dim`` floats per
                video); without them only retrieval works.
            video_files (Mapping[str, str or Path], optional): the video file of each indexed video that has one
                (saved with the index, resolved to an absolute path; the app plays them).

        Raises:
            InputError: a video's features do not match the model's extractor (dimension, rate), NaN/Inf, no duration.

        Videos longer than ``processor.long_video_threshold_seconds`` also get their windows' pooled clips and
        embeddings (`IndexWindows`, ``window_seconds / long_video_window_seconds`` embeddings and clip sets per
        video, about twice that with the default half-window overlap).
        """
        index = cls(
            [],
            np.zeros((0, model.config.hidden_size), np.float32),
            np.zeros((0, model.config.num_clips, model.config.feature_dim), np.float32)
            if store_clip_features
            else None,
            np.zeros(0),
            model_info=_model_info(model.config),
            backend=backend,
            model_fingerprint=model_fingerprint(model),
        )
        index.add(model, processor, features, durations, feature_rate, batch_size, show_progress, video_files)
        return index

    def add(
        self,
        model: DMRJRGModel,
        processor: DMRJRGProcessor,
        features,
        durations: Mapping[str, float] | None = None,
        feature_rate: float | None = None,
        batch_size: int = 64,
        show_progress: bool = True,
        video_files: Mapping[str, str | Path] | None = None,
    ) -> list[str]:
        """Encode and append videos (same sources and ``video_files`` as `build`); returns the ids added.

        Raises:
            InputError: an id already in the index, a source with no video, a video file of an id the source does
                not hold, or bad features (see `build`).
        """
        self.check_model(model)
        source, known_durations = resolve_feature_source(features)
        known_durations.update(durations or {})
        video_ids = [str(video_id) for video_id in source]
        if not video_ids:
            raise InputError(f"features {_describe(features)}: no video to index (0 videos)")
        clashes = [video_id for video_id in video_ids if video_id in self._positions]
        if clashes:
            raise InputError(f"index: video ids already present: {clashes[:5]}; remove them first")
        strangers = sorted(set(map(str, video_files or {})) - set(video_ids))
        if strangers:
            raise InputError(f"video files of videos that the features do not hold: {strangers[:5]}")
        rate = (
            feature_rate if feature_rate is not None else (processor.video_feature_spec or {}).get("rate_per_second")
        )
        batches = range(0, len(video_ids), check_positive_int(batch_size, "batch_size"))
        encoded = [
            self._encode_batch(
                model, processor, source, video_ids[i : i + batch_size], known_durations, rate, feature_rate
            )
            for i in tqdm(batches, desc="Encoding videos", unit="batch", disable=not show_progress)
        ]
        embeddings, clip_features, video_durations, windows = zip(*encoded, strict=True)
        all_windows = windows[0]
        for batch_windows in windows[1:]:
            all_windows.append(batch_windows)
        self._append(
            video_ids,
            np.concatenate(embeddings),
            np.concatenate(clip_features),
            np.concatenate(video_durations),
            all_windows,
        )
        self.video_files.update(
            {str(video_id): str(Path(path).resolve()) for video_id, path in (video_files or {}).items()}
        )
        return video_ids

    def _encode_batch(
        self, model: DMRJRGModel, processor: DMRJRGProcessor, source, video_ids, known_durations, rate, feature_rate
    ):
        arrays = [np.asarray(source[video_id]) for video_id in video_ids]
        for video_id, array in zip(video_ids, arrays, strict=True):
            recorded = recorded_metadata(source, video_id)
            rate_of_video = feature_rate if feature_rate is not None else recorded.get("fps")
            check_feature_spec(processor, array.shape[-1], video_id, rate_of_video, recorded.get("encoder"))
        durations = [video_duration(v, len(a), known_durations, rate) for v, a in zip(video_ids, arrays, strict=True)]
        inputs = processor(video_features=arrays, durations=durations, video_ids=video_ids, return_tensors="np")
        windows = [
            video_windows(processor, array, duration, video_id) if is_long_video(processor, duration) else None
            for video_id, array, duration in zip(video_ids, arrays, durations, strict=True)
        ]
        return (
            _encode_clips(model, inputs["clip_features"], len(video_ids)),
            inputs["clip_features"],
            inputs["durations"].astype(np.float64),
            self._encode_windows(model, windows, len(video_ids)),
        )

    def _encode_windows(self, model: DMRJRGModel, windows: list[VideoWindows | None], batch_size: int) -> IndexWindows:
        """`IndexWindows` of a batch of videos, None for a video grounded whole (its window embeddings encoded
        ``batch_size`` windows at a time)."""
        chunked = [video for video in windows if video is not None]
        if not chunked:
            clip_shape = None if self.clip_features is None else self.clip_features.shape[1:]
            return IndexWindows.empty(len(windows), self.embeddings.shape[1], clip_shape)
        clips = np.concatenate([video.clip_features for video in chunked])  # (num_windows, K, D)
        return IndexWindows(
            [0 if video is None else len(video) for video in windows],
            np.concatenate([video.offsets for video in chunked]),
            np.concatenate([video.durations for video in chunked]),
            _encode_clips(model, clips, batch_size),
            None if self.clip_features is None else clips,
        )

    def _append(self, video_ids, embeddings, clip_features, durations, windows: IndexWindows | None = None) -> None:
        offset = len(self.video_ids)
        self.video_ids.extend(video_ids)
        self._positions.update({video_id: offset + row for row, video_id in enumerate(video_ids)})
        self.embeddings = np.concatenate([self.embeddings, embeddings.astype(np.float32)])
        if self.clip_features is not None:
            self.clip_features = np.concatenate([self.clip_features, clip_features.astype(np.float32)])
        self.durations = np.concatenate([self.durations, durations])
        clip_shape = None if self.clip_features is None else self.clip_features.shape[1:]
        self.windows.append(windows or IndexWindows.empty(len(video_ids), self.embeddings.shape[1], clip_shape))
        self._scans.clear()

    def remove(self, video_ids: Iterable[str]) -> None:
        """Drop videos from the index.

        Raises:
            InputError: an id that is not in the index (nothing is removed then).
        """
        drop = [str(video_id) for video_id in video_ids]
        unknown = [video_id for video_id in drop if video_id not in self._positions]
        if unknown:
            raise InputError(f"index: unknown video ids {unknown[:5]} (index has {len(self)} videos)")
        keep = np.ones(len(self.video_ids), bool)
        keep[[self._positions[video_id] for video_id in drop]] = False
        self.video_ids = [video_id for video_id, kept in zip(self.video_ids, keep, strict=True) if kept]
        self.embeddings = self.embeddings[keep]
        self.clip_features = None if self.clip_features is None else self.clip_features[keep]
        self.durations = self.durations[keep]
        self.windows.keep(keep)
        self._positions = {video_id: row for row, video_id in enumerate(self.video_ids)}
        self.video_files = {
            video_id: path for video_id, path in self.video_files.items() if video_id in self._positions
        }
        self._scans.clear()

    # Queries ----------------------------------------------------------------------------------------------------

    def check_model(self, model: DMRJRGModel) -> None:
        """Raise `InputError` when ``model``'s K, D or d differ from those the index was built with, or when it is
        another model than the one that built the index (fingerprint; skipped with ``allow_model_mismatch``)."""
        info = _model_info(model.config)
        different = {
            k: (self.model_info[k], info[k]) for k in info if k in self.model_info and info[k] != self.model_info[k]
        }
        if different:
            details = ", ".join(f"{k}: index {a} vs model {b}" for k, (a, b) in different.items())
            raise InputError(f"index was built with another model configuration ({details}); rebuild the index")
        if self.model_fingerprint is None or self.allow_model_mismatch:
            return
        fingerprint = model_fingerprint(model)
        if fingerprint != self.model_fingerprint:
            raise InputError(
                f"index was built by another model (fingerprint {self.model_fingerprint}, this model "
                f"{fingerprint}): its video embeddings do not match this model's paragraph embeddings; rebuild the "
                "index with this model, or pass allow_model_mismatch=True (--allow-model-mismatch) to search anyway"
            )

    def search(
        self, query_embeddings: np.ndarray | torch.Tensor, top_k: int = 10, long_video_retrieval: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cosine top-k of each query (best first; ties keep index order with the exact and int8 backends).

        A video with windows (a long one) scores its best window's cosine with ``"best_window"`` and its whole-video
        embedding's with ``"pooled"``; the others always score their own embedding.

        Args:
            query_embeddings (array of shape (num_queries, hidden_size)): L2-normalised paragraph embeddings.
            top_k (int): videos per query (capped at the index size).
            long_video_retrieval (str, optional): ``"best_window"`` or ``"pooled"``; defaults to the index's.

        Returns:
            tuple: scores (np.ndarray of shape (num_queries, k)) and row positions (np.ndarray of shape
            (num_queries, k)); ``index.video_ids[position]`` is the video.
        """
        queries = np.ascontiguousarray(torch.as_tensor(query_embeddings).detach().float().cpu().numpy())
        if queries.ndim != 2 or queries.shape[1] != self.embeddings.shape[1]:
            raise InputError(f"queries: expected (num_queries, {self.embeddings.shape[1]}), got {queries.shape}")
        if len(self) == 0:
            raise InputError("index is empty")
        k = min(check_positive_int(top_k, "top_k"), len(self))
        mode = check_long_video_retrieval(long_video_retrieval or self.long_video_retrieval)
        if mode == "pooled" or not self.windows.counts.any():
            return self._scan("videos").search(queries, k)
        # a video's best window is among the top (k * its most windows) rows: each better video has at most that many
        rows = min(len(self._scan("windows").matrix), k * int(self.windows.counts.max()))
        scores, found = self._scan("windows").search(queries, rows)
        return best_per_video(scores, self._window_row_videos[found], k)

    def _scan(self, kind: str) -> EmbeddingScan:
        """The scan of the video embeddings (``"videos"``) or of the best-window rows (``"windows"``: a whole video's
        embedding, a long video's window embeddings), built once per content."""
        if kind not in self._scans:
            matrix = self.embeddings
            if kind == "windows":
                matrix, self._window_row_videos = self.windows.search_rows(self.embeddings)
            self._scans[kind] = EmbeddingScan(matrix, self.backend, self.faiss_factory)
        return self._scans[kind]

    def video_windows(self, position: int) -> VideoWindows:
        """What the video at ``position`` is grounded in: its windows when it has some, else its pooled clips.

        Raises:
            InputError: the index keeps no clip features (``store_clip_features=False``).
        """
        if self.clip_features is None:
            raise InputError("index has no clip features (built with store_clip_features=False): cannot ground")
        duration = float(self.durations[position])
        if not self.windows.counts[position]:
            return VideoWindows.whole(self.clip_features[position], duration)
        rows = self.windows.rows(position)
        windows = self.windows
        return VideoWindows(
            windows.clip_features[rows],
            windows.offsets[rows],
            windows.durations[rows],
            duration,
            True,
            windows.embeddings[rows],
        )

    def positions(self, video_ids: Iterable[str]) -> np.ndarray:
        """Row positions of video ids (raises `InputError` for an unknown id)."""
        video_ids = list(video_ids)
        unknown = [video_id for video_id in video_ids if video_id not in self._positions]
        if unknown:
            raise InputError(f"index: unknown video ids {unknown[:5]}")
        return np.array([self._positions[video_id] for video_id in video_ids], dtype=np.int64)

    def video_file(self, video_id: str) -> Path | None:
        """The video file an indexed video was extracted from; None when the index records none (built from features).

        Raises:
            InputError: ``video_id`` is not in the index.
        """
        if video_id not in self._positions:
            raise InputError(f"index: unknown video id {video_id!r}")
        path = self.video_files.get(video_id)
        return None if path is None else Path(path)

    def __len__(self) -> int:
        return len(self.video_ids)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._positions

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the arrays (embeddings, clip features, durations, windows)."""
        arrays = [self.embeddings, self.durations] + ([self.clip_features] if self.clip_features is not None else [])
        return int(sum(array.nbytes for array in arrays)) + self.windows.nbytes

    # Serialisation ----------------------------------------------------------------------------------------------

    def save(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write ``index.safetensors`` (arrays) and ``index.json`` (ids, model fields and fingerprint, backend, video
        files).

        The folder is written next to ``directory`` and renamed at the end: a failure leaves ``directory`` as it was.

        Args:
            directory (str or Path): the index folder.
            overwrite (bool): replace an index folder that is already there.

        Raises:
            DataFormatError: ``directory`` holds an index and ``overwrite`` is False, or holds other files.
        """
        tensors = {"embeddings": self.embeddings, "durations": self.durations, **self.windows.to_tensors()}
        if self.clip_features is not None:
            tensors["clip_features"] = self.clip_features
        metadata = {
            "video_ids": self.video_ids,
            "model_info": self.model_info,
            "model_fingerprint": self.model_fingerprint,
            "backend": self.backend,
            "faiss_factory": self.faiss_factory,
            "long_video_retrieval": self.long_video_retrieval,
            "video_files": self.video_files,
        }
        return write_index_folder(directory, tensors, metadata, overwrite)

    @classmethod
    def load(
        cls,
        directory: str | Path,
        backend: str | None = None,
        allow_model_mismatch: bool = False,
        long_video_retrieval: str | None = None,
    ) -> VideoCorpusIndex:
        """Read an index written by `save` (``backend`` and ``long_video_retrieval`` override the saved ones).

        An index saved before long videos had windows loads with none (and the default ``long_video_retrieval``):
        its long videos are retrieved and grounded whole, as when it was built. Folders saved before indexes recorded
        video files load with none.

        Raises:
            DataFormatError: missing, truncated or garbled files, a different format version, NaN/Inf embeddings
                (names the folder, the file or the video).
        """
        metadata, tensors = read_index_folder(directory)
        clip_features = tensors.get("clip_features")
        windows = IndexWindows.from_tensors(
            tensors,
            len(metadata["video_ids"]),
            tensors["embeddings"].shape[1],
            None if clip_features is None else clip_features.shape[1:],
        )
        return cls(
            metadata["video_ids"],
            tensors["embeddings"],
            clip_features,
            tensors["durations"],
            model_info=metadata["model_info"],
            backend=backend or metadata["backend"],
            faiss_factory=metadata.get("faiss_factory", "Flat"),
            model_fingerprint=metadata.get("model_fingerprint"),
            allow_model_mismatch=allow_model_mismatch,
            windows=windows,
            long_video_retrieval=long_video_retrieval or metadata.get("long_video_retrieval", LONG_VIDEO_RETRIEVAL[0]),
            video_files=metadata.get("video_files"),
        )


def _encode_clips(model: DMRJRGModel, clip_features: np.ndarray, batch_size: int) -> np.ndarray:
    """E1 embeddings (num_videos, hidden_size) of pooled clips (num_videos, K, D), ``batch_size`` rows at a time."""
    device = next(model.parameters()).device
    with torch.no_grad():
        parts = [
            model.encode_videos(torch.as_tensor(clip_features[i : i + batch_size]).to(device)).float().cpu().numpy()
            for i in range(0, len(clip_features), batch_size)
        ]
    return np.concatenate(parts)


def _describe(features) -> str:
    return str(features) if isinstance(features, str | Path) else type(features).__name__


def _model_info(config) -> dict[str, Any]:
    return {name: getattr(config, name) for name in _MODEL_FIELDS}
