"""Batch collation: paragraph rows + a video-feature mapping -> processor inputs for the model (DESIGN §2)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..modules.local_branch import real_sentence_index

__all__ = ["DMRJRGCollator"]


class DMRJRGCollator:
    """Collate paragraph rows (``video_id, duration, sentences, timestamps``) into a model batch.

    The batch also holds ``video_group_ids`` (B,): the position of each row's video among the batch's first
    occurrences, so that two paragraphs of one video (TACoS has up to 19) are not each other's negatives, and
    ``sentence_index`` (num_real,): the flat positions ``b * M + m`` of the real sentences, computed here on the host
    so that the training step finds them without reading device values.

    Args:
        processor: a `DMRJRGProcessor`.
        features (Mapping[str, np.ndarray]): video id -> per-frame features ``(T, D)`` (dict, HDF5 or npy reader).
        include_timestamps (bool): add ``timestamps`` (B, M, 2) and ``has_timestamps`` (B,) to the batch. Weak
            supervision builds the collator with ``False``, so no training timestamp is ever read.
        seed (int): base seed of the word masking; the mask of a paragraph depends on (seed, epoch, paragraph), so
            a resumed run masks exactly as an uninterrupted one.
    """

    def __init__(self, processor, features: Mapping[str, np.ndarray], include_timestamps: bool = False, seed: int = 0):
        self.processor = processor
        self.features = features
        self.include_timestamps = include_timestamps
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Change the word masks for a new epoch."""
        self.epoch = epoch

    def _mask_seed(self, rows: Sequence[Mapping[str, Any]]) -> int:
        key = "|".join(f"{row['video_id']}:{'/'.join(row['sentences'])}" for row in rows)
        return zlib.crc32(f"{self.seed}|{self.epoch}|{key}".encode())

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        video_ids = [row["video_id"] for row in rows]
        missing = [video_id for video_id in video_ids if video_id not in self.features]
        if missing:
            raise InputError(f"no features for video(s) {missing[:5]} ({len(missing)} in this batch)")
        batch = self.processor(
            text=[list(row["sentences"]) for row in rows],
            video_features=[self.features[video_id] for video_id in video_ids],
            durations=[float(row["duration"]) for row in rows],
            timestamps=[row["timestamps"] for row in rows] if self.include_timestamps else None,
            video_ids=video_ids,
            mask_seed=self._mask_seed(rows),
        )
        batch["video_group_ids"] = torch.tensor([video_ids.index(video_id) for video_id in video_ids])
        batch["sentence_index"] = real_sentence_index(batch["sentence_mask"])  # on the host: the step needs no sync
        if self.include_timestamps:
            batch["has_timestamps"] = torch.tensor([bool(row.get("has_timestamps", True)) for row in rows])
        return dict(batch)
