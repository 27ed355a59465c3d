"""Resumable checkpoints that are complete or absent: atomic writes, a manifest of sizes and hashes, rotation by
recency and a ``latest`` that skips damaged checkpoints.

A checkpoint folder ``checkpoints/epoch-NNNN`` is written as ``checkpoints/.epoch-NNNN.tmp`` and renamed when every
file is in it, with ``manifest.json``: the save ``sequence`` (1, 2, ... in the order the checkpoints were written,
continued by a resumed run) and the size and SHA-256 of every file. A crash during a save leaves only the hidden
staging folder. Rotation keeps the most recently written checkpoints (highest ``sequence``), never by folder name;
``latest`` is the newest checkpoint that passes `verify_checkpoint`, and every one skipped on the way is reported with
the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import DataFormatError
from ..files import read_json_file, replace_folder

__all__ = [
    "MANIFEST_FILE",
    "STATE_FILE",
    "checkpoint_sequence",
    "finalize_checkpoint",
    "latest_valid_checkpoint",
    "read_checkpoint_state",
    "rewrite_checkpoint_state",
    "rotate_checkpoints",
    "staging_folder",
    "verify_checkpoint",
]

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
STATE_FILE = "trainer_state.json"
_CHECKPOINT_GLOB = "epoch-*"


def staging_folder(folder: Path) -> Path:
    """Where a checkpoint is written before it is renamed to ``folder`` (same for every process of a run)."""
    return folder.with_name(f".{folder.name}.tmp")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON through a temporary file and ``os.replace``: a reader sees the old or the new file, whole."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(payload, indent=2))
    os.replace(temporary, path)


def _manifest(folder: Path, sequence: int) -> dict[str, Any]:
    files = sorted(path for path in folder.rglob("*") if path.is_file() and path.name != MANIFEST_FILE)
    return {
        "sequence": sequence,
        "files": {
            str(path.relative_to(folder)): {"bytes": path.stat().st_size, "sha256": _sha256(path)} for path in files
        },
    }


def checkpoint_sequence(folder: Path) -> int | None:
    """The save sequence of a checkpoint from its manifest; None when the manifest is missing or unreadable."""
    try:
        return int(read_json_file(folder / MANIFEST_FILE)["sequence"])
    except (DataFormatError, KeyError, TypeError, ValueError):
        return None


def _checkpoints(checkpoints_dir: Path) -> list[Path]:
    return [path for path in checkpoints_dir.glob(_CHECKPOINT_GLOB) if path.is_dir()]


def finalize_checkpoint(staging: Path, folder: Path, state: dict[str, Any]) -> None:
    """Add ``trainer_state.json`` and the manifest to a staging folder, then rename it to ``folder`` (a checkpoint
    already there, e.g. a damaged one a resumed run writes again, is replaced)."""
    sequence = 1 + max((checkpoint_sequence(path) or 0 for path in _checkpoints(folder.parent)), default=0)
    (staging / STATE_FILE).write_text(json.dumps(state, indent=2))
    _write_json(staging / MANIFEST_FILE, _manifest(staging, sequence))
    replace_folder(staging, folder, folder.with_name(f".{folder.name}.old"))


def rewrite_checkpoint_state(folder: Path, state: dict[str, Any]) -> None:
    """Replace a saved checkpoint's ``trainer_state.json`` (e.g. with the epoch's validation) and its manifest."""
    sequence = checkpoint_sequence(folder)
    _write_json(folder / STATE_FILE, state)
    _write_json(folder / MANIFEST_FILE, _manifest(folder, sequence or 0))


def verify_checkpoint(folder: Path) -> None:
    """Check a checkpoint against its manifest (every file present, of the recorded size and hash) and its trainer
    state (`read_checkpoint_state`).

    Raises:
        DataFormatError: naming the checkpoint and the file that is missing, truncated or altered.
    """
    if not folder.is_dir():
        raise DataFormatError(f"checkpoint {folder}: no such folder")
    if not (folder / MANIFEST_FILE).is_file():
        raise DataFormatError(
            f"checkpoint {folder}: no {MANIFEST_FILE} (the save did not finish, or an older dmr_jrg_hf wrote it)"
        )
    manifest = read_json_file(folder / MANIFEST_FILE)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise DataFormatError(f"checkpoint {folder}: {MANIFEST_FILE} has no file list")
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise DataFormatError(f"checkpoint {folder}: {name} is missing")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise DataFormatError(
                f"checkpoint {folder}: {name} has {size} bytes, the manifest says {expected['bytes']} (truncated?)"
            )
        if _sha256(path) != expected["sha256"]:
            raise DataFormatError(f"checkpoint {folder}: {name} does not match its SHA-256 in the manifest")
    read_checkpoint_state(folder)


def read_checkpoint_state(folder: Path) -> dict[str, Any]:
    """The trainer state of a verified checkpoint.

    Raises:
        DataFormatError: ``trainer_state.json`` is not a JSON object with ``epoch`` and ``global_step``.
    """
    state = read_json_file(folder / STATE_FILE)
    if not isinstance(state, dict) or not {"epoch", "global_step"} <= set(state):
        raise DataFormatError(f"checkpoint {folder}: {STATE_FILE} lacks epoch / global_step")
    return state


def latest_valid_checkpoint(checkpoints_dir: Path) -> Path:
    """The most recently written checkpoint that passes `verify_checkpoint`; each newer one skipped is logged with
    the reason.

    Raises:
        DataFormatError: no checkpoint at all, or none is valid (every reason listed).
    """
    found = sorted(_checkpoints(checkpoints_dir), key=lambda path: (checkpoint_sequence(path) or 0, path.name))
    if not found:
        raise DataFormatError(f"resume 'latest': no checkpoint in {checkpoints_dir}")
    skipped = []
    for folder in reversed(found):
        try:
            verify_checkpoint(folder)
        except DataFormatError as error:
            logger.warning("resume 'latest': skipping %s: %s", folder.name, error)
            skipped.append(str(error))
            continue
        return folder
    raise DataFormatError("resume 'latest': no complete checkpoint is left:\n  " + "\n  ".join(skipped))


def rotate_checkpoints(checkpoints_dir: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` most recently written checkpoints (by manifest sequence) and any staging or
    replaced folder a crashed save left; returns what was removed."""
    ranked = sorted(_checkpoints(checkpoints_dir), key=lambda path: checkpoint_sequence(path) or 0, reverse=True)
    leftovers = [path for suffix in ("tmp", "old") for path in checkpoints_dir.glob(f".{_CHECKPOINT_GLOB}.{suffix}")]
    removed = ranked[keep:] + [path for path in leftovers if path.is_dir()]
    for path in removed:
        shutil.rmtree(path)
    return removed
