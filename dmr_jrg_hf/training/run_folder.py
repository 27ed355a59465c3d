"""Checks before a training run writes anything: the output folder is free (or resumed, or overwritten) and every
video of every split has usable features."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError, InputError
from ..feature_extraction_dmr_jrg import check_video_features
from .arguments import TrainingArguments

__all__ = ["RUN_ENTRIES", "check_split_features", "prepare_output_dir"]

logger = logging.getLogger(__name__)

# What a run writes besides the final model files; ``overwrite_output_dir`` removes these.
RUN_ENTRIES = ("checkpoints", "best", "logs", "run_config.json", "training_args.json", "train_results.json")


def prepare_output_dir(args: TrainingArguments, is_main_process: bool = True) -> None:
    """Refuse an output folder that holds another run, unless the run resumes it or overwrites it (then the main
    process removes the previous run's `RUN_ENTRIES`). Every process calls it, so that every process raises.

    Raises:
        ConfigError: ``output_dir`` is not empty and neither ``resume_from_checkpoint`` nor ``overwrite_output_dir``
            is set (lists what the folder holds).
    """
    output = args.output_path
    if args.resume_from_checkpoint is not None or not output.is_dir() or not any(output.iterdir()):
        return
    if not args.overwrite_output_dir:
        entries = sorted(path.name for path in output.iterdir())
        raise ConfigError(
            f"output folder {output} is not empty ({', '.join(entries[:5])}{', ...' if len(entries) > 5 else ''}): "
            "pass --overwrite (overwrite_output_dir=True) to start a new run there, or --resume latest "
            "(resume_from_checkpoint='latest') to continue the run it holds"
        )
    if not is_main_process:
        return
    for name in RUN_ENTRIES:
        path = output / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    logger.info("overwrite: removed the previous run's %s from %s", ", ".join(RUN_ENTRIES), output)


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
