"""Checks before a training run writes anything: the output folder is free (or resumed, or overwritten) and every
video of every split has usable features."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, InputError
from ..feature_extraction_dmr_jrg import check_video_features
from ..hub.model_folder import MODEL_FOLDER_FILES, SUBWORD_VOCABULARY_FILES, completion_files
from .arguments import TrainingArguments

__all__ = ["MODEL_ENTRIES", "RUN_ENTRIES", "check_output_dir", "check_split_features", "prepare_output_dir"]

logger = logging.getLogger(__name__)

# What a run writes besides the final model files; ``overwrite_output_dir`` removes these.
RUN_ENTRIES = ("checkpoints", "best", "logs", "run_config.json", "training_args.json", "train_results.json")
# The model a finished run saves next to them (weights and processor files).
MODEL_ENTRIES = (*MODEL_FOLDER_FILES, "word_vectors.safetensors", *SUBWORD_VOCABULARY_FILES)


def _previous_run_entries(output: Path) -> list[Path]:
    """What ``overwrite_output_dir`` removes: the run entries and, in a folder the trainer wrote (it holds
    ``training_args.json``), the final model files and what finishing it for sharing added (model card and code files,
    `dmr_jrg_hf.hub.model_folder.completion_files`). Other files are left alone."""
    names = list(RUN_ENTRIES)
    if (output / "training_args.json").is_file():
        names += [*MODEL_ENTRIES, *completion_files()]
    return [output / name for name in names if (output / name).exists()]


def check_output_dir(output: str | Path, resume_from_checkpoint: str | None, overwrite_output_dir: bool) -> None:
    """Refuse an output folder that holds another run, unless the run resumes it or overwrites it (the
    `TrainingArguments` fields of the same names); the CLI calls it before it reads any data.

    Raises:
        ConfigError: ``output`` is not empty and neither ``resume_from_checkpoint`` nor ``overwrite_output_dir`` is
            set (lists what the folder holds).
    """
    output = Path(output)
    if resume_from_checkpoint is not None or overwrite_output_dir or not output.is_dir():
        return
    entries = sorted(path.name for path in output.iterdir())
    if entries:
        raise ConfigError(
            f"output folder {output} is not empty ({', '.join(entries[:5])}{', ...' if len(entries) > 5 else ''}): "
            "pass --overwrite (overwrite_output_dir=True) to start a new run there, or --resume latest "
            "(resume_from_checkpoint='latest') to continue the run it holds"
        )


def prepare_output_dir(args: TrainingArguments, is_main_process: bool = True) -> None:
    """`check_output_dir`, then, when the run overwrites the folder, the main process removes the previous run (see
    `_previous_run_entries`). Every process calls it, so that every process raises.
    """
    check_output_dir(args.output_path, args.resume_from_checkpoint, args.overwrite_output_dir)
    if not (args.overwrite_output_dir and is_main_process) or args.resume_from_checkpoint is not None:
        return
    removed = _previous_run_entries(args.output_path) if args.output_path.is_dir() else []
    for path in removed:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    if removed:
        logger.info(
            "overwrite: removed the previous run from %s (%s)",
            args.output_path,
            ", ".join(path.name for path in removed),
        )


def check_split_features(
    splits: Mapping[str, tuple[Sequence[Mapping[str, Any]], Mapping[str, np.ndarray]]], feature_dim: int
) -> None:
    """Read and check the features of every video of every split (e.g. ``{"training": (rows, features)}``).

    Raises:
        InputError: a missing video, or features of the wrong shape, non-numeric, NaN/Inf or overflowing (names the
            video id and the split).
    """
    for split, (rows, features) in splits.items():
        video_ids = sorted({str(row["video_id"]) for row in rows})
        for video_id in video_ids:
            if video_id not in features:
                raise InputError(f"video {video_id!r} ({split} rows): no features for it")
            check_video_features(features[video_id], feature_dim, f"video {video_id!r} ({split})")
        logger.info("checked the features of %d %s videos", len(video_ids), split)
