"""Where a corpus index's videos come from: feature sources (mapping, file, Dataset), durations, and the check that
features match the extractor the model was trained with."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFormatError, InputError
from ..features.spec import same_encoder
from ..validation import check_positive_seconds

__all__ = ["check_extractor", "check_feature_spec", "recorded_metadata", "resolve_feature_source", "video_duration"]


def check_extractor(
    processor, subject: str, feature_rate: float | None = None, feature_encoder: str | None = None
) -> None:
    """Check the rate and the encoder of features against the processor's ``video_feature_spec``.

    A key absent on either side is not compared: processors saved before the spec recorded encoders, benchmark
    features and in-memory arrays carry no encoder, and a spec without ``rate_per_second`` accepts any rate.

    Args:
        processor (DMRJRGProcessor): holds ``video_feature_spec`` (``encoder``, ``rate_per_second``, ...).
        subject (str): what the features belong to, named in the error (``"video 'v1'"``).
        feature_rate (float, optional): feature rows per second of the features.
        feature_encoder (str, optional): the encoder that produced them (Hub id or folder).

    Raises:
        InputError: the rate or the encoder differs from what the model was trained with.
    """
    spec = dict(processor.video_feature_spec or {})
    described = ", ".join(f"{key}={value}" for key, value in spec.items()) or "no extractor description saved"
    expected_rate = spec.get("rate_per_second")
    if feature_rate is not None and expected_rate is not None and not np.isclose(feature_rate, expected_rate):
        raise InputError(
            f"{subject}: features at {feature_rate} per second, but this model expects "
            f"{expected_rate} per second ({described})"
        )
    expected_encoder = spec.get("encoder")
    if feature_encoder and expected_encoder and not same_encoder(str(feature_encoder), str(expected_encoder)):
        raise InputError(
            f"{subject}: features of encoder {feature_encoder!r}, but this model was trained on features of "
            f"{expected_encoder!r} ({described}); extract them again with --encoder {expected_encoder}"
        )


def check_feature_spec(
    processor,
    feature_dim: int,
    video_id: str,
    feature_rate: float | None = None,
    feature_encoder: str | None = None,
) -> None:
    """Check user features against the processor's feature-extractor description (``video_feature_spec``).

    Args:
        processor (DMRJRGProcessor): holds ``feature_dim`` and ``video_feature_spec`` (name, ``encoder``,
            ``rate_per_second``, ...).
        feature_dim (int): D of the features passed.
        video_id (str): named in the error.
        feature_rate (float, optional): frames per second of the features passed; checked when the spec has a rate.
        feature_encoder (str, optional): the encoder recorded with the features; checked when the spec has one
            (`check_extractor`).

    Raises:
        InputError: the dimension, the rate or the encoder differs from what the model was trained with.
    """
    spec = dict(processor.video_feature_spec or {})
    described = ", ".join(f"{key}={value}" for key, value in spec.items()) or "no extractor description saved"
    expected_dim = processor.feature_dim or spec.get("feature_dim")
    if expected_dim is not None and int(feature_dim) != int(expected_dim):
        raise InputError(
            f"video {video_id!r}: features have dimension {feature_dim}, but this model expects {expected_dim} "
            f"({described}); extract features with the same extractor the model was trained with"
        )
    check_extractor(processor, f"video {video_id!r}", feature_rate, feature_encoder)


def resolve_feature_source(source) -> tuple[Mapping[str, np.ndarray], dict[str, float]]:
    """Features and known durations from a mapping, an HDF5 file / npy folder path, or a ``videos`` Dataset.

    Returns:
        tuple: (``Mapping[str, np.ndarray]`` of ``(T, D)`` features, ``{video_id: duration}`` when the source has
        durations, else empty). A feature file written by ``extract-features`` records every video's duration; the
        benchmark files record none.

    Raises:
        DataFormatError: a Dataset without ``video_id`` and a feature column, or an unreadable path.
    """
    if isinstance(source, str | Path):
        from ..data.readers import open_features

        source = open_features(source)
    if isinstance(source, Mapping) and callable(getattr(source, "durations", None)):  # a VideoFeatureReader
        return source, source.durations()
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


def recorded_metadata(source, video_id: str) -> dict[str, Any]:
    """What a feature file records about a video (`VideoFeatureReader.video_metadata`); empty for other sources."""
    read = getattr(source, "video_metadata", None)
    return read(video_id) if callable(read) else {}
