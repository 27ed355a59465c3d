"""Corpus index for paragraph -> video retrieval (VPCMR, paper §III-D): cached E1 video embeddings + clip features.

Videos are encoded once (`VideoCorpusIndex.build`, batched, with a progress bar); a query then costs one paragraph
encoding and one matrix product. The index also keeps every video's pooled clip features ``(num_clips, feature_dim)``
and duration, so `retrieve_and_ground` can ground the paragraph in the retrieved videos without the original feature
files. An index built from video files (``dmr-jrg index --videos``) also records each video's file, which the app
plays. Saved as ``index.safetensors`` + ``index.json`` (no pickle).
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
from ..features.spec import same_encoder
from ..validation import check_positive_int, check_positive_seconds
from .fingerprint import model_fingerprint
from .index_files import read_index_folder, write_index_folder
from .quantized_search import Int8EmbeddingScan

if TYPE_CHECKING:
    from ..modeling_dmr_jrg import DMRJRGModel
    from ..processing_dmr_jrg import DMRJRGProcessor

__all__ = ["BACKENDS", "VideoCorpusIndex", "check_extractor", "check_feature_spec", "resolve_feature_source"]

logger = logging.getLogger(__name__)

BACKENDS = ("exact", "int8", "faiss")
_MODEL_FIELDS = ("num_clips", "feature_dim", "hidden_size", "num_sampled_frames", "map_scale_layers")


def check_extractor(
    processor, subject: str, feature_rate: float | None = None, feature_encoder: str | None = None
) -> None:
    """Check the rate and the encoder of features against the processor's ``video_feature_spec``.

    A key absent on either side is not compared: processors saved before the spec recorded encoders, benchmark
    features and in-memory arrays carry no encoder, and a spec without ``rate_per_second`` accepts any rate.

    Args:
        processor (DMRJRGProcessor): holds ``video_feature_spec`` (``encoder``, ``rate_per_second``, ...).
        subject (str): what the features belong to, named in the error (``"video 'v1'"``).
        feature_rate (float, optional): feature rows per second of the features.
        feature_encoder (str, optional): the encoder that produced them (Hub id or folder).

    Raises:
        InputError: the rate or the encoder differs from what the model was trained with.
    """
    spec = dict(processor.video_feature_spec or {})
    described = ", ".join(f"{key}={value}" for key, value in spec.items()) or "no extractor description saved"
    expected_rate = spec.get("rate_per_second")
    if feature_rate is not None and expected_rate is not None and not np.isclose(feature_rate, expected_rate):
        raise InputError(
            f"{subject}: features at {feature_rate} per second, but this model expects "
            f"{expected_rate} per second ({described})"
        )
    expected_encoder = spec.get("encoder")
    if feature_encoder and expected_encoder and not same_encoder(str(feature_encoder), str(expected_encoder)):
        raise InputError(
            f"{subject}: features of encoder {feature_encoder!r}, but this model was trained on features of "
            f"{expected_encoder!r} ({described}); extract them again with --encoder {expected_encoder}"
        )


def check_feature_spec(
    processor,
    feature_dim: int,
    video_id: str,
    feature_rate: float | None = None,
    feature_encoder: str | None = None,
) -> None:
    """Check user features against the processor's feature-extractor description (``video_feature_spec``).

    Args:
        processor (DMRJRGProcessor): holds ``feature_dim`` and ``video_feature_spec`` (name, ``encoder``,
            ``rate_per_second``, ...).
        feature_dim (int): D of the features passed.
        video_id (str): named in the error.
        feature_rate (float, optional): frames per second of the features passed; checked when the spec has a rate.
        feature_encoder (str, optional): the encoder recorded with the features; checked when the spec has one
            (`check_extractor`).

    Raises:
        InputError: the dimension, the rate or the encoder differs from what the model was trained with.
    """
    spec = dict(processor.video_feature_spec or {})
    described = ", ".join(f"{key}={value}" for key, value in spec.items()) or "no extractor description saved"
    expected_dim = processor.feature_dim or spec.get("feature_dim")
    if expected_dim is not None and int(feature_dim) != int(expected_dim):
        raise InputError(
            f"video {video_id!r}: features have dimension {feature_dim}, but this model expects {expected_dim} "
            f"({described}); extract features with the same extractor the model was trained with"
        )
    check_extractor(processor, f"video {video_id!r}", feature_rate, feature_encoder)


def resolve_feature_source(source) -> tuple[Mapping[str, np.ndarray], dict[str, float]]:
    """Features and known durations from a mapping, an HDF5 file / npy folder path, or a ``videos`` Dataset.

    Returns:
        tuple: (``Mapping[str, np.ndarray]`` of ``(T, D)`` features, ``{video_id: duration}`` when the source has
        durations, else empty). A feature file written by ``extract-features`` records every video's duration; the
        benchmark files record none.

    Raises:
        DataFormatError: a Dataset without ``video_id`` and a feature column, or an unreadable path.
    """
    if isinstance(source, str | Path):
        from ..data.readers import open_features

        source = open_features(source)
    if isinstance(source, Mapping) and callable(getattr(source, "durations", None)):  # a VideoFeatureReader
        return source, source.durations()
    if isinstance(source, Mapping):
        return source, {}
    columns = getattr(source, "column_names", None)
    if columns is None:
        raise InputError(f"features: expected a mapping, a path or a datasets.Dataset, got {type(source).__name__}")
    feature_column = next((name for name in ("video_features", "features") if name in columns), None)
    if "video_id" not in columns or feature_column is None:
        raise DataFormatError(f"videos dataset: expected columns video_id and video_features, got {columns}")
    source = source.with_format("numpy")
    video_ids = [str(video_id) for video_id in source["video_id"]]
    features = {video_id: source[i][feature_column] for i, video_id in enumerate(video_ids)}
    durations = dict(zip(video_ids, map(float, source["duration"]), strict=True)) if "duration" in columns else {}
    return features, durations


def _duration_of(video_id: str, num_frames: int, durations: Mapping[str, float], rate: float | None) -> float:
    if video_id in durations:
        return check_positive_seconds(durations[video_id], f"video {video_id!r}")
    if rate:
        return num_frames / float(rate)
    raise InputError(
        f"video {video_id!r}: no duration; pass durations={{video_id: seconds}} or feature_rate (frames per second), "
        "or save the rate in the processor's video_feature_spec['rate_per_second']"
    )


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
        video_files (Mapping[str, str or Path], optional): ``{video_id: video file}`` of the videos indexed from
            video files (absolute paths); videos without one (features only) have no entry.

    Raises:
        InputError: duplicate video ids.
        DataFormatError: arrays whose rows do not match the ids, NaN/Inf in them (names the first video), or a video
            file of an id that is not indexed.

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
        self.video_files = {str(video_id): str(path) for video_id, path in (video_files or {}).items()}
        self._check_consistent()
        self._positions = {video_id: row for row, video_id in enumerate(self.video_ids)}
        self._faiss_index = None
        self._int8_scan = None

    def _check_consistent(self) -> None:
        duplicates = sorted(video_id for video_id, count in Counter(self.video_ids).items() if count > 1)
        if duplicates:
            raise InputError(f"index: duplicate video ids {duplicates[:5]}")
        rows = {"embeddings": len(self.embeddings), "durations": len(self.durations)}
        if self.clip_features is not None:
            rows["clip_features"] = len(self.clip_features)
        if any(count != len(self.video_ids) for count in rows.values()) or self.embeddings.ndim != 2:
            raise DataFormatError(f"index: {len(self.video_ids)} video ids but rows {rows}")
        strangers = sorted(set(self.video_files) - set(self.video_ids))
        if strangers:
            raise DataFormatError(f"index: video files of videos that are not indexed: {strangers[:5]}")
        arrays = {"embeddings": self.embeddings, "durations": self.durations, "clip_features": self.clip_features}
        for name, array in arrays.items():
            if array is None:
                continue
            finite = np.isfinite(array).all(axis=tuple(range(1, array.ndim)))  # (num_videos,)
            if not finite.all():
                video_id = self.video_ids[int(np.flatnonzero(~finite)[0])]
                raise DataFormatError(f"index: video {video_id!r} has NaN or Inf in its {name}; rebuild the index")

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
        if encoded:
            self._append(video_ids, *(np.concatenate(parts) for parts in zip(*encoded, strict=True)))
        self.video_files.update(
            {str(video_id): str(Path(path).resolve()) for video_id, path in (video_files or {}).items()}
        )
        return video_ids

    def _encode_batch(
        self, model: DMRJRGModel, processor: DMRJRGProcessor, source, video_ids, known_durations, rate, feature_rate
    ):
        arrays = [np.asarray(source[video_id]) for video_id in video_ids]
        for video_id, array in zip(video_ids, arrays, strict=True):
            recorded = _recorded_metadata(source, video_id)
            rate_of_video = feature_rate if feature_rate is not None else recorded.get("fps")
            check_feature_spec(processor, array.shape[-1], video_id, rate_of_video, recorded.get("encoder"))
        durations = [_duration_of(v, len(a), known_durations, rate) for v, a in zip(video_ids, arrays, strict=True)]
        inputs = processor(video_features=arrays, durations=durations, video_ids=video_ids)
        device = next(model.parameters()).device
        with torch.no_grad():
            embeddings = model.encode_videos(inputs["clip_features"].to(device)).float().cpu().numpy()
        return embeddings, inputs["clip_features"].numpy(), inputs["durations"].numpy().astype(np.float64)

    def _append(self, video_ids, embeddings, clip_features, durations) -> None:
        offset = len(self.video_ids)
        self.video_ids.extend(video_ids)
        self._positions.update({video_id: offset + row for row, video_id in enumerate(video_ids)})
        self.embeddings = np.concatenate([self.embeddings, embeddings.astype(np.float32)])
        if self.clip_features is not None:
            self.clip_features = np.concatenate([self.clip_features, clip_features.astype(np.float32)])
        self.durations = np.concatenate([self.durations, durations])
        self._faiss_index = self._int8_scan = None

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
        self._positions = {video_id: row for row, video_id in enumerate(self.video_ids)}
        self.video_files = {
            video_id: path for video_id, path in self.video_files.items() if video_id in self._positions
        }
        self._faiss_index = self._int8_scan = None

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

    def search(self, query_embeddings: np.ndarray | torch.Tensor, top_k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Cosine top-k of each query (best first; ties keep index order with the exact and int8 backends).

        Args:
            query_embeddings (array of shape (num_queries, hidden_size)): L2-normalised paragraph embeddings.
            top_k (int): videos per query (capped at the index size).

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
        if self.backend == "faiss":
            return self._faiss().search(queries, k)
        if self.backend == "int8":
            if self._int8_scan is None:
                self._int8_scan = Int8EmbeddingScan(self.embeddings)
            return self._int8_scan.search(queries, k)
        scores = self._inner_products(queries)  # (num_queries, num_videos)
        positions = _top_k_rows(scores, k)
        return np.take_along_axis(scores, positions, axis=1), positions

    def _inner_products(self, queries: np.ndarray) -> np.ndarray:
        """Every video's score for every query, reading the embedding matrix once, in place (no copy).

        The product runs in torch's thread pool, the one the encoders use: a query then keeps the threads it set
        (``torch.set_num_threads``) instead of waking a second pool (NumPy's BLAS) that competes with the first for
        the cores. One thread already reads memory at the machine's bandwidth here.
        """
        embeddings = torch.from_numpy(self.embeddings)  # (num_videos, hidden_size), shares memory
        if len(queries) == 1:
            return torch.mv(embeddings, torch.from_numpy(queries[0])).numpy()[None]  # (1, num_videos)
        return (torch.from_numpy(queries) @ embeddings.T).numpy()  # (num_queries, num_videos)

    def _faiss(self):
        if self._faiss_index is None:
            import faiss

            self._faiss_index = faiss.index_factory(
                self.embeddings.shape[1], self.faiss_factory, faiss.METRIC_INNER_PRODUCT
            )
            self._faiss_index.add(self.embeddings)
        return self._faiss_index

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
        """Bytes held by the arrays (embeddings, clip features, durations)."""
        arrays = [self.embeddings, self.durations] + ([self.clip_features] if self.clip_features is not None else [])
        return int(sum(array.nbytes for array in arrays))

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
        tensors = {"embeddings": self.embeddings, "durations": self.durations}
        if self.clip_features is not None:
            tensors["clip_features"] = self.clip_features
        metadata = {
            "video_ids": self.video_ids,
            "model_info": self.model_info,
            "model_fingerprint": self.model_fingerprint,
            "backend": self.backend,
            "faiss_factory": self.faiss_factory,
            "video_files": self.video_files,
        }
        return write_index_folder(directory, tensors, metadata, overwrite)

    @classmethod
    def load(
        cls, directory: str | Path, backend: str | None = None, allow_model_mismatch: bool = False
    ) -> VideoCorpusIndex:
        """Read an index written by `save` (``backend`` overrides the saved one). Folders saved before indexes recorded
        video files load with none.

        Raises:
            DataFormatError: missing, truncated or garbled files, a different format version, NaN/Inf embeddings
                (names the folder, the file or the video).
        """
        metadata, tensors = read_index_folder(directory)
        return cls(
            metadata["video_ids"],
            tensors["embeddings"],
            tensors.get("clip_features"),
            tensors["durations"],
            model_info=metadata["model_info"],
            backend=backend or metadata["backend"],
            faiss_factory=metadata.get("faiss_factory", "Flat"),
            model_fingerprint=metadata.get("model_fingerprint"),
            allow_model_mismatch=allow_model_mismatch,
            video_files=metadata.get("video_files"),
        )


def _recorded_metadata(source, video_id: str) -> dict[str, Any]:
    """What a feature file records about a video (`VideoFeatureReader.video_metadata`); empty for other sources."""
    read = getattr(source, "video_metadata", None)
    return read(video_id) if callable(read) else {}


def _describe(features) -> str:
    return str(features) if isinstance(features, str | Path) else type(features).__name__


def _top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best scores of each row: score descending, ties by position ascending (at the k-th
    place too, so equal scores never make the answer depend on the partition algorithm).

    Args:
        scores (np.ndarray of shape (num_queries, num_videos)).
        k (int): 1 <= k <= num_videos.

    Returns:
        np.ndarray of int64, shape (num_queries, k).
    """
    num_videos = scores.shape[1]
    positions = np.empty((len(scores), k), dtype=np.int64)
    for query, row in enumerate(scores):
        if k < num_videos:
            kth = np.partition(row, num_videos - k)[num_videos - k]  # the k-th largest score
            above = np.flatnonzero(row > kth)
            candidates = np.concatenate([above, np.flatnonzero(row == kth)[: k - len(above)]])
        else:
            candidates = np.arange(num_videos)
        positions[query] = candidates[np.lexsort((candidates, -row[candidates]))]
    return positions


def _model_info(config) -> dict[str, Any]:
    return {name: getattr(config, name) for name in _MODEL_FIELDS}
