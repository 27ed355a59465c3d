"""Files of the package: reading text, JSON and safetensors with errors that name the file, and writing folders
atomically.

A truncated, empty or non-UTF-8 file is a `DataFormatError` that names the file (and the byte offset or line),
never a bare ``UnicodeDecodeError``, ``JSONDecodeError`` or ``SafetensorError``. A folder written through
`atomic_folder` appears complete or not at all. Imports nothing from the package but its errors, so every layer
(data, inference, training, CLI) may use it.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import DataFormatError

__all__ = [
    "read_text_file",
    "read_json_file",
    "check_safetensors_file",
    "atomic_folder",
    "replace_folder",
    "staging_name",
]


def read_text_file(path: str | Path) -> str:
    """The text of a UTF-8 file.

    Raises:
        DataFormatError: the file is missing or not UTF-8 (names the byte offset of the first bad byte).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataFormatError(f"{path}: cannot be read ({error.strerror or error})") from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFormatError(
            f"{path}: not UTF-8 text (byte {data[error.start]:#04x} at byte offset {error.start})"
        ) from error


def read_json_file(path: str | Path) -> Any:
    """The parsed content of a UTF-8 JSON file.

    Raises:
        DataFormatError: missing, not UTF-8, or not valid JSON (names the line and column).
    """
    try:
        return json.loads(read_text_file(path))
    except json.JSONDecodeError as error:
        raise DataFormatError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from error


def check_safetensors_file(path: str | Path) -> None:
    """Check that a safetensors file is complete: its header parses and its tensors cover the whole file.

    Raises:
        DataFormatError: missing, truncated or not a safetensors file (names it).
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: file not found")
    try:
        with safe_open(str(path), framework="numpy"):
            pass
    except (SafetensorError, OSError) as error:
        raise DataFormatError(f"{path}: not a complete safetensors file, it may be truncated ({error})") from error


def staging_name(target: Path, kind: str) -> Path:
    """A hidden sibling of ``target`` for work in progress: ``.{name}.{kind}-{random}``."""
    return target.with_name(f".{target.name}.{kind}-{uuid.uuid4().hex[:8]}")


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder next to ``target``; when the block ends without error the staging folder
    replaces ``target`` (an existing ``target`` is removed only then), else it is removed and ``target`` is unchanged.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> with atomic_folder(root / "out") as staging:
        ...     _ = (staging / "a.txt").write_text("done")
        >>> sorted(path.name for path in root.iterdir())
        ['out']
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_name(target, "tmp")
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_folder(staging, target, staging_name(target, "old"))


def replace_folder(source: Path, target: Path, retired: Path) -> None:
    """Move the folder ``source`` to ``target``. An existing ``target`` is first renamed to ``retired`` and removed
    only once ``source`` is in place, so a crash leaves a whole copy under ``target`` or ``retired``."""
    if target.exists():
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(target, retired)
        os.replace(source, target)
        shutil.rmtree(retired)
    else:
        os.replace(source, target)
