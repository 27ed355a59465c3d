"""Data preparation throughput: MB/s of features and peak RSS of `prepare_benchmark` on a generated ActivityNet file.

`write_activitynet_layout` writes annotations (``train.json``, ``val_1.json``, ``val_2.json``) and random C3D-sized
features in the official layout (``sub_activitynet_v1-3.c3d.hdf5``, ``f[vid]['c3d_features']``, float32 ``(T, 500)``)
of about a requested size; `benchmark_data_preparation` exports it to a Hub-ready folder with `prepare_benchmark` and
reports the feature bytes per second and the process's peak resident memory during the export. The file was just
written, so it is read from the page cache when memory allows: the number is the preparation's own speed, not the
disk's.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .memory import PeakRSS

__all__ = ["benchmark_data_preparation", "write_activitynet_layout"]

logger = logging.getLogger(__name__)

_SPLIT_FILES = ("train.json", "val_1.json", "val_2.json")
_ROWS_PER_SECOND = 2.0  # about one C3D row per 16 frames at 30 fps


def write_activitynet_layout(
    folder: str | Path, total_bytes: int, feature_dim: int = 500, seed: int = 0
) -> tuple[Path, Path, int]:
    """Annotations and random features of about ``total_bytes`` in the ActivityNet Captions layout.

    Videos last 30-210 s (mean 120 s, as ActivityNet's 117.6 s) with ``ceil(2 * duration)`` feature rows and two
    sentences each; they are dealt to the three split files in turn.

    Args:
        folder (str or Path): created if needed; receives the three JSON files and the HDF5 file.
        total_bytes (int): feature bytes to write (float32 values); at least one video per split file is written.
        feature_dim (int): D (500 for C3D).
        seed (int): seed of durations and values.

    Returns:
        tuple: (annotations folder, HDF5 path, feature bytes written).
    """
    from ..data.readers import write_random_features

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    mean_rows = 120.0 * _ROWS_PER_SECOND
    num_videos = max(len(_SPLIT_FILES), round(total_bytes / (mean_rows * feature_dim * 4)))
    durations = rng.uniform(30.0, 210.0, num_videos).round(2)
    lengths = {f"v_{i:011d}": math.ceil(duration * _ROWS_PER_SECOND) for i, duration in enumerate(durations)}
    splits: list[dict[str, Any]] = [{} for _ in _SPLIT_FILES]
    for i, (video_id, duration) in enumerate(zip(lengths, durations, strict=True)):
        half = float(duration) / 2
        splits[i % len(splits)][video_id] = {
            "duration": float(duration),
            "timestamps": [[0.0, half], [half, float(duration)]],
            "sentences": ["a person opens the door.", "then the person walks out of the room."],
        }
    for name, entries in zip(_SPLIT_FILES, splits, strict=True):
        (folder / name).write_text(json.dumps(entries))
    path = write_random_features(lengths, folder / "sub_activitynet_v1-3.c3d.hdf5", "activitynet", feature_dim, seed)
    return folder, path, sum(lengths.values()) * feature_dim * 4


def benchmark_data_preparation(
    size_mb: float = 1024, feature_dim: int = 500, work_dir: str | Path | None = None, seed: int = 0
) -> dict[str, Any]:
    """Generate an ActivityNet-layout file of ``size_mb`` MiB of features and time `prepare_benchmark` on it.

    Args:
        size_mb (float): MiB of features to generate.
        feature_dim (int): D.
        work_dir (str or Path, optional): where the input and the exported folder go (a temporary folder by default,
            removed afterwards; a given folder is kept).
        seed (int): seed of the generated data.

    Returns:
        dict: ``feature_mb`` (MiB of features read), ``num_videos``, ``generate_seconds``, ``prepare_seconds``,
        ``mb_per_s`` (MiB of features per second of preparation), ``peak_rss_mib`` (the process's peak resident
        memory during the preparation), ``peak_rss_increase_mib`` (its rise above the level before), ``output_mb``
        (bytes of the exported folder) and ``exact_peak`` (False where the peak counter could not be reset).

    Example:
        >>> report = benchmark_data_preparation(size_mb=0.5, feature_dim=16)
        >>> report["num_videos"] > 0 and report["mb_per_s"] > 0
        True
    """
    from ..data.prepare import prepare_benchmark

    temporary = tempfile.TemporaryDirectory() if work_dir is None else None
    root = Path(temporary.name if temporary else work_dir)
    try:
        started = time.perf_counter()
        annotations, features, feature_bytes = write_activitynet_layout(
            root / "input", int(size_mb * 2**20), feature_dim, seed
        )
        generate_seconds = time.perf_counter() - started
        out = root / "prepared"
        with PeakRSS() as memory:
            started = time.perf_counter()
            report = prepare_benchmark("activitynet_captions", annotations, features, out, overwrite=True)
            prepare_seconds = time.perf_counter() - started
        output_bytes = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
        result = {
            "feature_mb": feature_bytes / 2**20,
            "feature_dim": feature_dim,
            "num_videos": sum(stats["videos"] for stats in report.statistics.values()),
            "generate_seconds": generate_seconds,
            "prepare_seconds": prepare_seconds,
            "mb_per_s": feature_bytes / 2**20 / prepare_seconds,
            "peak_rss_mib": memory.peak_mib,
            "peak_rss_increase_mib": memory.increase_mib,
            "exact_peak": memory.exact,
            "output_mb": output_bytes / 2**20,
        }
        logger.info("data preparation: %s", result)
        return result
    finally:
        if temporary is not None:
            temporary.cleanup()
