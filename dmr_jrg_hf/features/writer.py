"""Writers of extracted features in the layouts the package reads: an HDF5 file or a folder of ``.npy`` files.

Both write one video at a time and never leave half a video behind, so an interrupted extraction resumes where it
stopped (`completed` lists what is done):

- npy folder (`NpyFeatureWriter`): ``{video_id}.json`` (the video's metadata), then ``{video_id}.npy`` (float32
  ``(T, D)``), each written to a temporary name and renamed: a video is complete once its ``.npy`` exists.
  ``extraction.json`` holds the file-level metadata.
- HDF5 file (`HDF5FeatureWriter`), the Charades/TACoS layout: one float32 ``(T, D)`` dataset per video id at the root,
  the video's metadata in its attributes, the file-level metadata in the root's. HDF5 files are not crash-safe while
  open for writing, so videos go to an npy folder ``<file>.partial`` beside the file first; `finish` then writes a
  new HDF5 file next to the output (the videos already in it plus the new ones), renames it over the output and
  removes ``<file>.partial``. A kill at any moment leaves the old file whole and the finished videos in the folder;
  the next run picks both up.

Metadata keys are listed in `dmr_jrg_hf.features.spec`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..data.readers import EXTRACTION_FILE
from ..errors import DataFormatError
from ..files import read_json_file, staging_name
from .spec import file_attributes

__all__ = ["HDF5FeatureWriter", "NpyFeatureWriter", "open_feature_writer"]

logger = logging.getLogger(__name__)

_HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")


def _replace_atomically(target: Path, write) -> None:
    """Call ``write(handle)`` on a temporary file beside ``target``, then rename it to ``target``."""
    temporary = staging_name(target, "tmp")
    try:
        with temporary.open("wb") as handle:
            write(handle)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _check_same_extractor(found: dict[str, Any], encoder: str, fps: float, where: Path) -> None:
    if found.get("encoder") != encoder or not np.isclose(float(found.get("fps", np.nan)), fps):
        raise DataFormatError(
            f"{where} holds features of encoder {found.get('encoder')!r} at {found.get('fps')} fps, but this run "
            f"extracts {encoder!r} at {fps:g} fps; choose another output, or rerun with that encoder and rate"
        )


class NpyFeatureWriter:
    """Writes ``{video_id}.npy`` + ``{video_id}.json`` into a folder, one video at a time (see the module docstring).

    Args:
        folder (str or Path): created when absent; an existing folder must hold features of the same encoder and rate
            (its ``extraction.json``), or nothing.
        encoder (str): recorded name of the encoder.
        fps (float): feature rows per second.

    Raises:
        DataFormatError: the folder holds features of another encoder or rate, or ``.npy`` files without
            ``extraction.json`` (features not written by this extractor).
    """

    def __init__(self, folder: str | Path, encoder: str, fps: float):
        self.path = Path(folder)
        self.encoder, self.fps = encoder, float(fps)
        if self.path.exists() and not self.path.is_dir():
            raise DataFormatError(f"{self.path} is a file; an npy feature folder was expected")
        metadata_path = self.path / EXTRACTION_FILE
        self._file_metadata = read_json_file(metadata_path) if metadata_path.is_file() else None
        if self._file_metadata is not None:
            _check_same_extractor(self._file_metadata, encoder, self.fps, self.path)
        elif self.path.is_dir() and any(self.path.glob("*.npy")):
            raise DataFormatError(
                f"{self.path} holds .npy files but no {EXTRACTION_FILE}: they were not written by extract-features; "
                "choose another output folder"
            )

    def completed(self) -> set[str]:
        """Ids of the videos already written completely."""
        return {path.stem for path in self.path.glob("*.npy")} if self.path.is_dir() else set()

    def write(self, video_id: str, features: np.ndarray, metadata: dict[str, Any]) -> None:
        """Write one video: its metadata, then its ``(T, D)`` float32 features (the completion mark).

        Raises:
            DataFormatError: ``features`` has another dimension than the videos already in the folder.
        """
        features = np.ascontiguousarray(features, dtype=np.float32)
        self.path.mkdir(parents=True, exist_ok=True)
        if self._file_metadata is None:
            attributes = file_attributes(self.encoder, self.fps, metadata["frames_per_row"], features.shape[1])
            _replace_atomically(self.path / EXTRACTION_FILE, lambda h: h.write(json.dumps(attributes).encode()))
            self._file_metadata = attributes
        expected = self._file_metadata["feature_dim"]
        if features.ndim != 2 or features.shape[1] != expected:
            raise DataFormatError(f"video {video_id!r}: features of shape {features.shape}, expected (T, {expected})")
        _replace_atomically(self.path / f"{video_id}.json", lambda h: h.write(json.dumps(metadata).encode()))
        _replace_atomically(self.path / f"{video_id}.npy", lambda h: np.save(h, features, allow_pickle=False))

    @property
    def file_metadata(self) -> dict[str, Any] | None:
        """The folder's ``extraction.json`` content (None before the first video)."""
        return self._file_metadata

    def finish(self) -> Path | None:
        """Nothing left to do for a folder; returns it when it holds at least one video."""
        return self.path if self.completed() else None


class HDF5FeatureWriter:
    """Writes an HDF5 feature file through the npy folder ``<file>.partial`` (see the module docstring).

    Args:
        path (str or Path): the ``.hdf5`` file; an existing one must hold features of the same encoder and rate.
        encoder (str): recorded name of the encoder.
        fps (float): feature rows per second.

    Raises:
        DataFormatError: the file is unreadable, was not written by the extractor, or holds features of another
            encoder or rate.
    """

    def __init__(self, path: str | Path, encoder: str, fps: float):
        self.path = Path(path)
        self.encoder, self.fps = encoder, float(fps)
        self._existing = self._read_existing()
        self.staging = NpyFeatureWriter(self.path.with_name(self.path.name + ".partial"), encoder, fps)

    def _read_existing(self) -> set[str]:
        if not self.path.exists():
            return set()
        try:
            with h5py.File(self.path, "r") as handle:
                attributes = dict(handle.attrs)
                video_ids = set(handle.keys())
        except OSError as error:
            raise DataFormatError(
                f"{self.path}: not a readable HDF5 file ({error}); remove it or choose another output"
            ) from error
        if "encoder" not in attributes:
            raise DataFormatError(
                f"{self.path} holds features not written by extract-features (no 'encoder' attribute); choose "
                "another output file"
            )
        _check_same_extractor(attributes, self.encoder, self.fps, self.path)
        return video_ids

    def completed(self) -> set[str]:
        """Ids of the videos in the file or finished in ``<file>.partial``."""
        return self._existing | self.staging.completed()

    def write(self, video_id: str, features: np.ndarray, metadata: dict[str, Any]) -> None:
        """Write one video to ``<file>.partial`` (see `NpyFeatureWriter.write`)."""
        self.staging.write(video_id, features, metadata)

    def finish(self) -> Path | None:
        """Merge ``<file>.partial`` into the HDF5 file (a new file renamed over the old one); returns the file, or
        None when there is neither a file nor a finished video."""
        staged = sorted(self.staging.completed())
        if not staged:
            shutil.rmtree(self.staging.path, ignore_errors=True)
            return self.path if self.path.exists() else None
        temporary = staging_name(self.path, "tmp")
        try:
            with h5py.File(temporary, "w") as output:
                if self.path.exists():
                    with h5py.File(self.path, "r") as previous:
                        for video_id in set(previous) - set(staged):  # a merge killed after its rename: staged wins
                            previous.copy(previous[video_id], output, name=video_id)
                for video_id in staged:
                    self._copy_staged(output, video_id)
                output.attrs.update(self.staging.file_metadata or {})
            os.replace(temporary, self.path)
        finally:
            temporary.unlink(missing_ok=True)
        shutil.rmtree(self.staging.path)
        self._existing |= set(staged)
        return self.path

    def _copy_staged(self, output: h5py.File, video_id: str) -> None:
        folder = self.staging.path
        dataset = output.create_dataset(video_id, data=np.load(folder / f"{video_id}.npy", allow_pickle=False))
        dataset.attrs.update(read_json_file(folder / f"{video_id}.json"))


def open_feature_writer(path: str | Path, encoder: str, fps: float) -> HDF5FeatureWriter | NpyFeatureWriter:
    """An HDF5 writer for a path ending in ``.h5``/``.hdf5``/``.hdf``, else an npy-folder writer."""
    path = Path(path)
    if path.suffix.lower() in _HDF5_SUFFIXES:
        return HDF5FeatureWriter(path, encoder, fps)
    return NpyFeatureWriter(path, encoder, fps)
