"""Where a corpus index's videos come from: feature sources (mapping, file, Dataset), durations, and the check that
features match the extractor the model was trained with."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, InputError
from ..validation import check_positive_seconds

__all__ = ["check_feature_spec", "resolve_feature_source", "video_duration"]


def check_feature_spec(processor, feature_dim: int, video_id: str, feature_rate: float | None = None) -> None:
    """Check user features against the processor's feature-extractor description (``video_feature_spec``).

    Args:
        processor (DMRJRGProcessor): holds ``feature_dim`` and ``video_feature_spec`` (name, ``rate_per_second``, ...).
        feature_dim (int): D of the features passed.
        video_id (str): named in the error.
        feature_rate (float, optional): frames per second of the features passed; checked when the spec has a rate.

    Raises:
        InputError: the dimension or the rate differs from what the model was trained with.
    """
    spec = dict(processor.video_feature_spec or {})
    described = ", ".join(f"{key}={value}" for key, value in spec.items()) or "no extractor description saved"
    expected_dim = processor.feature_dim or spec.get("feature_dim")
    if expected_dim is not None and int(feature_dim) != int(expected_dim):
        raise InputError(
            f"video {video_id!r}: features have dimension {feature_dim}, but this model expects {expected_dim} "
            f"({described}); extract features with the same extractor the model was trained with"
        )
    expected_rate = spec.get("rate_per_second")
    if feature_rate is not None and expected_rate is not None and not np.isclose(feature_rate, expected_rate):
        raise InputError(
            f"video {video_id!r}: features at {feature_rate} per second, but this model expects "
            f"{expected_rate} per second ({described})"
        )


def resolve_feature_source(source) -> tuple[Mapping[str, np.ndarray], dict[str, float]]:
    """Features and known durations from a mapping, an HDF5 file / npy folder path, or a ``videos`` Dataset.

    Returns:
        tuple: (``Mapping[str, np.ndarray]`` of ``(T, D)`` features, ``{video_id: duration}`` when the source has
        durations, else empty).

    Raises:
        DataFormatError: a Dataset without ``video_id`` and a feature column, or an unreadable path.
    """
    if isinstance(source, str | Path):
        from ..data.readers import open_features

        return open_features(source), {}
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


def video_duration(video_id: str, num_frames: int, durations: Mapping[str, float], rate: float | None) -> float:
    """A video's duration: the one given, else ``num_frames / rate``.

    Raises:
        InputError: neither is known, or the given duration is not a positive number of seconds.
    """
    if video_id in durations:
        return check_positive_seconds(durations[video_id], f"video {video_id!r}")
    if rate:
        return num_frames / float(rate)
    raise InputError(
        f"video {video_id!r}: no duration; pass durations={{video_id: seconds}} or feature_rate (frames per second), "
        "or save the rate in the processor's video_feature_spec['rate_per_second']"
    )
