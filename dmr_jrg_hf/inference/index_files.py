"""The files of a `VideoCorpusIndex` folder: ``index.safetensors`` (arrays) and ``index.json`` (ids, model fields and
fingerprint, backend), written atomically and read with errors that name the file (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from ..errors import DataFormatError
from ..files import atomic_folder, check_safetensors_file, read_json_file

__all__ = [
    "INDEX_METADATA_FILE",
    "INDEX_TENSORS_FILE",
    "check_index_target",
    "read_index_folder",
    "write_index_folder",
]

INDEX_TENSORS_FILE = "index.safetensors"
INDEX_METADATA_FILE = "index.json"
FORMAT_VERSION = 1


def check_index_target(directory: str | Path, overwrite: bool) -> None:
    """Check that an index may be written to ``directory``: a new or empty folder, or an index folder with
    ``overwrite`` (`VideoCorpusIndex.save` calls it; call it first to fail before the corpus is encoded).

    Raises:
        DataFormatError: an index is there and ``overwrite`` is False, or the folder holds other files.
    """
    directory = Path(directory)
    if not directory.exists() or not any(directory.iterdir()):
        return
    if not (directory / INDEX_METADATA_FILE).is_file():
        raise DataFormatError(f"{directory}: folder is not empty and holds no index; choose another folder")
    if not overwrite:
        raise DataFormatError(
            f"{directory}: an index is already there; pass overwrite=True (--overwrite) to replace it, or extend it "
            "with VideoCorpusIndex.load(...).add(...) (--add)"
        )


def write_index_folder(
    directory: str | Path, tensors: dict[str, np.ndarray], metadata: dict[str, Any], overwrite: bool
) -> Path:
    """Write the two files into a staging folder renamed to ``directory`` at the end (see `check_index_target`)."""
    directory = Path(directory)
    check_index_target(directory, overwrite)
    with atomic_folder(directory) as staging:
        save_file(tensors, str(staging / INDEX_TENSORS_FILE))
        payload = {"format_version": FORMAT_VERSION, **metadata}
        (staging / INDEX_METADATA_FILE).write_text(json.dumps(payload) + "\n", encoding="utf-8")
    return directory


def read_index_folder(directory: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(metadata, tensors)`` of an index folder.

    Raises:
        DataFormatError: a missing, truncated or garbled file, another format version or a missing entry (named).
    """
    directory = Path(directory)
    tensors_path, metadata_path = directory / INDEX_TENSORS_FILE, directory / INDEX_METADATA_FILE
    missing = [path.name for path in (tensors_path, metadata_path) if not path.is_file()]
    if missing:
        raise DataFormatError(f"{directory}: not a VideoCorpusIndex folder (missing {', '.join(missing)})")
    metadata = read_json_file(metadata_path)
    if not isinstance(metadata, dict) or metadata.get("format_version") != FORMAT_VERSION:
        version = metadata.get("format_version") if isinstance(metadata, dict) else None
        raise DataFormatError(f"{metadata_path}: index format {version}, expected {FORMAT_VERSION}")
    absent = [key for key in ("video_ids", "model_info", "backend") if key not in metadata]
    if absent:
        raise DataFormatError(f"{metadata_path}: missing {', '.join(absent)}")
    check_safetensors_file(tensors_path)
    tensors = load_file(str(tensors_path))
    absent = [key for key in ("embeddings", "durations") if key not in tensors]
    if absent:
        raise DataFormatError(f"{tensors_path}: missing the tensors {', '.join(absent)}")
    return metadata, tensors
