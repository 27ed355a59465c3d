"""Lazy readers of per-video clip features in the layouts users download (DESIGN §2), and their writer.

Layouts:

- ``activitynet``: HDF5, one group per video holding a ``c3d_features`` dataset (``sub_activitynet_v1-3.c3d.hdf5``).
- ``charades`` / ``tacos``: HDF5, one dataset per video at the root (``f[vid]``, ``f['s13-d21.avi']``).
- ``npy``: a folder of ``{video_id}.npy`` files (I3D, CLIP, SlowFast features).

A reader is a ``Mapping[str, np.ndarray]``: it opens its file once, reads one video per access and returns it as
float32 ``(T, D)``, after checking the rank, the feature dimension and that every value is finite. Files written by
``dmr-jrg extract-features`` also carry metadata (HDF5 attributes, or JSON files beside the ``.npy`` files; see
`dmr_jrg_hf.features.spec`): `file_metadata`, `video_metadata` and `durations` read it, and return nothing for the
benchmark files, which have none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import DataFormatError
from ..files import read_json_file
from ..validation import first_nonfinite_row

__all__ = [
    "EXTRACTION_FILE",
    "FEATURE_LAYOUTS",
    "FeatureNotFoundError",
    "FeatureSubset",
    "HDF5FeatureReader",
    "NpyFolderFeatureReader",
    "VideoFeatureReader",
    "open_features",
    "write_features",
    "write_random_features",
]

logger = logging.getLogger(__name__)

FEATURE_LAYOUTS = ("activitynet", "charades", "tacos", "npy")
_HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
_GROUP_DATASET_KEY = "c3d_features"
EXTRACTION_FILE = "extraction.json"  # file-level metadata of an npy folder written by extract-features


def _plain(value: Any) -> Any:
    """An HDF5 attribute as a plain Python value (NumPy scalars to numbers, byte strings to str)."""
    value = value.item() if isinstance(value, np.generic) else value
    return value.decode("utf-8") if isinstance(value, bytes) else value


class FeatureNotFoundError(DataFormatError, KeyError):
    """A video id is not in the feature file (a ``KeyError`` too, so ``Mapping.get`` keeps working)."""

    __str__ = DataFormatError.__str__


class VideoFeatureReader(Mapping[str, np.ndarray]):
    """Base of the lazy feature readers: a mapping from video id to a checked float32 ``(T, D)`` array.

    Args:
        path (str or Path): the feature file or folder.
        feature_dim (int, optional): D every video must have; None accepts any D that is the same for all videos
            read (the first video read fixes it).
    """

    def __init__(self, path: str | Path, feature_dim: int | None = None):
        self.path = Path(path)
        self.feature_dim = feature_dim
        self._keys: list[str] | None = None

    def _read(self, video_id: str) -> np.ndarray:
        raise NotImplementedError

    def _raw_shape(self, video_id: str) -> tuple[tuple[int, ...], Any]:
        raise NotImplementedError

    def _list_keys(self) -> list[str]:
        raise NotImplementedError

    def file_metadata(self) -> dict[str, Any]:
        """Metadata of the whole file (the extractor: ``encoder``, ``fps``, ...); empty when the file has none."""
        return {}

    def video_metadata(self, video_id: str) -> dict[str, Any]:
        """Metadata of one video (``duration``, ``fps``, ``encoder``, ``num_frames``, ...); empty when it has none.

        Raises:
            FeatureNotFoundError: the video is not in the file.
        """
        if video_id not in self:
            raise self._missing(video_id)
        return self._video_metadata(video_id)

    def _video_metadata(self, video_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def durations(self) -> dict[str, float]:
        """``{video_id: seconds}`` of the videos whose metadata records their duration.

        Only files with file-level metadata (written by ``extract-features``) are searched: for the benchmark files,
        which have none, this returns ``{}`` without visiting every video.
        """
        if not self.file_metadata():
            return {}
        durations = {}
        for video_id in self:
            duration = self._video_metadata(video_id).get("duration")
            if duration is not None:
                durations[video_id] = float(duration)
        return durations

    def _missing(self, video_id: str) -> FeatureNotFoundError:
        return FeatureNotFoundError(f"video {video_id!r} is not in {self.path}")

    def _check_shape(self, video_id: str, shape: tuple[int, ...], dtype: Any) -> tuple[int, int]:
        expected = f"(T, {self.feature_dim or 'D'}) float32"
        if len(shape) != 2 or shape[0] < 1 or shape[1] < 1 or (self.feature_dim and shape[1] != self.feature_dim):
            raise DataFormatError(f"video {video_id!r} in {self.path}: expected {expected}, got {shape}")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise DataFormatError(f"video {video_id!r} in {self.path}: expected {expected}, got dtype {dtype}")
        if self.feature_dim is None:
            self.feature_dim = int(shape[1])
        return int(shape[0]), int(shape[1])

    def shape(self, video_id: str) -> tuple[int, int]:
        """``(T, D)`` of one video, checked like a read but without reading the values."""
        if video_id not in self:
            raise self._missing(video_id)
        array_shape, dtype = self._raw_shape(video_id)
        return self._check_shape(video_id, array_shape, dtype)

    def __getitem__(self, video_id: str) -> np.ndarray:
        if video_id not in self:
            raise self._missing(video_id)
        array = np.asarray(self._read(video_id))
        self._check_shape(video_id, array.shape, array.dtype)
        array = array.astype(np.float32, copy=False)
        bad = first_nonfinite_row(array)
        if bad is not None:
            raise DataFormatError(
                f"video {video_id!r} in {self.path}: NaN or Inf in the features (first at row {bad})"
            )
        return array

    def __iter__(self) -> Iterator[str]:
        if self._keys is None:
            self._keys = self._list_keys()
        return iter(self._keys)

    def __len__(self) -> int:
        if self._keys is None:
            self._keys = self._list_keys()
        return len(self._keys)

    def close(self) -> None:
        """Releases the open file, if any (a later access reopens it)."""

    def __enter__(self) -> VideoFeatureReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, feature_dim={self.feature_dim})"


class HDF5FeatureReader(VideoFeatureReader):
    """Reads the official HDF5 layouts: ``f[vid]`` (a dataset) or ``f[vid][dataset_key]`` (a group per video).

    The file is opened on first access and kept open; pickling drops the handle, so DataLoader workers reopen it.

    Args:
        path (str or Path): the ``.hdf5`` file.
        feature_dim (int, optional): expected D (see :class:`VideoFeatureReader`).
        dataset_key (str, optional): dataset inside a video's group; default ``c3d_features``, or the group's only
            dataset.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "features.hdf5"
        >>> _ = write_random_features({"v_a": 7}, path, layout="activitynet", feature_dim=12)
        >>> HDF5FeatureReader(path, feature_dim=12)["v_a"].shape
        (7, 12)
    """

    def __init__(self, path: str | Path, feature_dim: int | None = None, dataset_key: str | None = None):
        super().__init__(path, feature_dim)
        self.dataset_key = dataset_key
        self._file: h5py.File | None = None
        if not self.path.is_file():
            raise DataFormatError(f"feature file {self.path} not found")

    @property
    def file(self) -> h5py.File:
        if self._file is None:
            try:
                self._file = h5py.File(self.path, "r")
            except OSError as error:
                raise DataFormatError(f"feature file {self.path} is not a readable HDF5 file: {error}") from error
        return self._file

    def _dataset(self, video_id: str) -> h5py.Dataset:
        item = self.file[video_id]
        if isinstance(item, h5py.Dataset):
            return item
        key = self.dataset_key or _GROUP_DATASET_KEY
        if key in item and isinstance(dataset := item[key], h5py.Dataset):  # one lookup, not a listing of the group
            return dataset
        keys = [key for key in item if isinstance(item[key], h5py.Dataset)]
        key = self.dataset_key or (_GROUP_DATASET_KEY if _GROUP_DATASET_KEY in keys else None)
        if key is None and len(keys) == 1:
            key = keys[0]
        if key not in keys:
            wanted = repr(key) if key else "one dataset (pass dataset_key)"
            raise DataFormatError(f"video {video_id!r} in {self.path}: expected {wanted} in its group, found {keys}")
        return item[key]

    def _read(self, video_id: str) -> np.ndarray:
        return self._dataset(video_id)[()]

    def _raw_shape(self, video_id: str) -> tuple[tuple[int, ...], Any]:
        dataset = self._dataset(video_id)
        return dataset.shape, dataset.dtype

    def _list_keys(self) -> list[str]:
        return list(self.file.keys())

    def file_metadata(self) -> dict[str, Any]:
        return {key: _plain(value) for key, value in self.file.attrs.items()}

    def _video_metadata(self, video_id: str) -> dict[str, Any]:
        return {key: _plain(value) for key, value in self._dataset(video_id).attrs.items()}

    def __contains__(self, video_id: object) -> bool:
        return isinstance(video_id, str) and bool(video_id) and video_id in self.file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_file": None}


class NpyFolderFeatureReader(VideoFeatureReader):
    """Reads a folder of ``{video_id}.npy`` files (``allow_pickle=False``).

    Args:
        path (str or Path): the folder.
        feature_dim (int, optional): expected D (see :class:`VideoFeatureReader`).
    """

    def __init__(self, path: str | Path, feature_dim: int | None = None):
        super().__init__(path, feature_dim)
        if not self.path.is_dir():
            raise DataFormatError(f"feature folder {self.path} not found")

    def _file_of(self, video_id: str) -> Path:
        return self.path / f"{video_id}.npy"

    def _load(self, video_id: str, mmap_mode: str | None) -> np.ndarray:
        try:
            return np.load(self._file_of(video_id), mmap_mode=mmap_mode, allow_pickle=False)
        except ValueError as error:
            raise DataFormatError(
                f"video {video_id!r}: {self._file_of(video_id)} is not a numeric .npy array"
            ) from error

    def _read(self, video_id: str) -> np.ndarray:
        return self._load(video_id, None)

    def _raw_shape(self, video_id: str) -> tuple[tuple[int, ...], Any]:
        array = self._load(video_id, "r")
        return array.shape, array.dtype

    def _list_keys(self) -> list[str]:
        return sorted(path.stem for path in self.path.glob("*.npy"))

    def _json_object(self, path: Path) -> dict[str, Any]:
        if not path.is_file():
            return {}
        content = read_json_file(path)
        if not isinstance(content, dict):
            raise DataFormatError(f"{path}: expected a JSON object of metadata, got {type(content).__name__}")
        return content

    def file_metadata(self) -> dict[str, Any]:
        return self._json_object(self.path / EXTRACTION_FILE)

    def _video_metadata(self, video_id: str) -> dict[str, Any]:
        return self._json_object(self.path / f"{video_id}.json")

    def __contains__(self, video_id: object) -> bool:
        return isinstance(video_id, str) and "/" not in video_id and self._file_of(video_id).is_file()


class FeatureSubset(VideoFeatureReader):
    """Some of the videos of another reader, with their metadata (e.g. the videos of one extraction run in a feature
    file that holds more).

    Args:
        reader (VideoFeatureReader): the full reader.
        video_ids (iterable of str): the videos kept, in this order.

    Raises:
        FeatureNotFoundError: a video id is not in ``reader``.
    """

    def __init__(self, reader: VideoFeatureReader, video_ids: Iterable[str]):
        super().__init__(reader.path, reader.feature_dim)
        self.reader = reader
        self._keys = list(dict.fromkeys(video_ids))
        absent = [video_id for video_id in self._keys if video_id not in reader]
        if absent:
            raise reader._missing(absent[0])
        self._members = set(self._keys)

    def _read(self, video_id: str) -> np.ndarray:
        return self.reader._read(video_id)

    def _raw_shape(self, video_id: str) -> tuple[tuple[int, ...], Any]:
        return self.reader._raw_shape(video_id)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._members

    def file_metadata(self) -> dict[str, Any]:
        return self.reader.file_metadata()

    def _video_metadata(self, video_id: str) -> dict[str, Any]:
        return self.reader._video_metadata(video_id)

    def close(self) -> None:
        self.reader.close()


def open_features(
    path: str | Path, feature_dim: int | None = None, dataset_key: str | None = None
) -> VideoFeatureReader:
    """Opens a feature file (``.h5``/``.hdf5``/``.hdf``) or a folder of ``.npy`` files as a lazy mapping.

    Args:
        path (str or Path): HDF5 file or npy folder.
        feature_dim (int, optional): D every video must have (usually ``config.feature_dim``).
        dataset_key (str, optional): for HDF5 files with a group per video, the dataset inside the group.

    Returns:
        VideoFeatureReader: a ``Mapping[str, np.ndarray]`` reading one float32 ``(T, D)`` video per access.

    Raises:
        DataFormatError: when the path does not exist or is neither an HDF5 file nor a folder.
    """
    path = Path(path)
    if path.is_dir():
        return NpyFolderFeatureReader(path, feature_dim)
    if path.suffix.lower() in _HDF5_SUFFIXES:
        return HDF5FeatureReader(path, feature_dim, dataset_key)
    raise DataFormatError(
        f"features {path}: expected an HDF5 file ({', '.join(_HDF5_SUFFIXES)}) or a folder of {{video_id}}.npy files"
    )


def write_features(videos: Iterable[tuple[str, np.ndarray]], path: str | Path, layout: str = "activitynet") -> Path:
    """Writes ``(video_id, (T, D) array)`` pairs in one of the official layouts, one video at a time (streamed).

    Args:
        videos (iterable of (str, np.ndarray)): video id and its float32 ``(T, D)`` features.
        path (str or Path): ``.hdf5`` file for the HDF5 layouts, a folder for ``npy``.
        layout (str, default "activitynet"): one of ``FEATURE_LAYOUTS``.

    Returns:
        Path: ``path``.
    """
    if layout not in FEATURE_LAYOUTS:
        raise DataFormatError(f"unknown feature layout {layout!r}; expected one of {', '.join(FEATURE_LAYOUTS)}")
    path = Path(path)
    if layout == "npy":
        path.mkdir(parents=True, exist_ok=True)
        for video_id, values in videos:
            np.save(path / f"{video_id}.npy", np.asarray(values, dtype=np.float32))
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        for video_id, values in videos:
            values = np.asarray(values, dtype=np.float32)
            if layout == "activitynet":
                handle.create_group(video_id).create_dataset(_GROUP_DATASET_KEY, data=values)
            else:
                handle.create_dataset(video_id, data=values)
    return path


def write_random_features(
    video_ids_and_lengths: Mapping[str, int] | Iterable[tuple[str, int]],
    path: str | Path,
    layout: str = "activitynet",
    feature_dim: int = 500,
    seed: int = 0,
) -> Path:
    """Writes random float32 features for the given videos in one of the official layouts, one video at a time.

    Used by the tests and by ``datasets_scripts/make_random_features.py`` to exercise the readers and the builders
    on the real annotations without the (large, licensed) feature files.

    Args:
        video_ids_and_lengths (Mapping[str, int] or iterable of (str, int)): video id -> number of feature rows T.
        path (str or Path): ``.hdf5`` file for the HDF5 layouts, a folder for ``npy``.
        layout (str, default "activitynet"): one of ``FEATURE_LAYOUTS``.
        feature_dim (int, default 500): D.
        seed (int, default 0): seed of the generator (values are standard normal).

    Returns:
        Path: ``path``.
    """
    items = video_ids_and_lengths.items() if isinstance(video_ids_and_lengths, Mapping) else video_ids_and_lengths
    rng = np.random.default_rng(seed)
    videos = (
        (video_id, rng.standard_normal((int(length), feature_dim), dtype=np.float32)) for video_id, length in items
    )
    return write_features(videos, path, layout)
