"""What extracted feature files record about their extractor, and how a processor's feature spec is built and compared.

A file written by `extract_features` carries, for the whole file (HDF5 root attributes, or ``extraction.json`` in an
npy folder): ``encoder`` (Hub id or absolute folder), ``fps`` (feature rows per second), ``frames_per_row``,
``feature_dim``, ``sampling`` (the rule, in words) and ``producer``; and for every video (the dataset's attributes, or
``{video_id}.json``): ``duration`` (seconds of video), ``fps``, ``encoder``, ``num_frames`` (T, its feature rows),
``num_decoded_frames``, ``source_fps`` and ``codec``. Benchmark feature files have none of these.

The processor's ``video_feature_spec`` keeps ``encoder`` and ``rate_per_second`` (= ``fps``) of the features a model
was trained on; `check_feature_spec` (inference) refuses features of another encoder or rate. Both keys are optional:
a processor saved before they existed, or trained on benchmark features, has them absent, and nothing is compared.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from ..version import __version__

__all__ = ["DEFAULT_ENCODER", "DEFAULT_FPS", "SAMPLING_RULE", "extractor_spec", "file_attributes", "same_encoder"]

DEFAULT_ENCODER = "openai/clip-vit-base-patch32"  # loaded as CLIPVisionModelWithProjection: D = 512
DEFAULT_FPS = 1.0
SAMPLING_RULE = "frames nearest to (i + (k + 0.5) / frames_per_row) / fps, k < frames_per_row, for every row i"


def file_attributes(encoder: str, fps: float, frames_per_row: int, feature_dim: int) -> dict[str, Any]:
    """The file-level metadata of an extracted feature file (see the module docstring)."""
    return {
        "encoder": encoder,
        "fps": float(fps),
        "frames_per_row": int(frames_per_row),
        "feature_dim": int(feature_dim),
        "sampling": SAMPLING_RULE,
        "producer": f"dmr_jrg_hf {__version__} extract-features",
    }


def extractor_spec(features) -> dict[str, Any] | None:
    """The processor's ``video_feature_spec`` for features read from an extracted file, or None for other sources.

    Args:
        features: a `VideoFeatureReader` (``open_features``, ``load_benchmark(...).features``) or any mapping.

    Returns:
        dict with ``name``, ``encoder``, ``rate_per_second``, ``frames_per_row`` and ``feature_dim``; None when the
        source records no extractor (benchmark files, in-memory mappings).
    """
    metadata = getattr(features, "file_metadata", lambda: {})()
    if "encoder" not in metadata or "fps" not in metadata:
        return None
    return {
        "name": PurePath(str(metadata["encoder"])).name,
        "encoder": str(metadata["encoder"]),
        "rate_per_second": float(metadata["fps"]),
        "frames_per_row": int(metadata.get("frames_per_row", 1)),
        "feature_dim": int(metadata["feature_dim"]),
    }


def same_encoder(first: str, second: str) -> bool:
    """Whether two recorded encoder names denote the same encoder: equal, or equal last path component, so that a
    local copy of a Hub model (``/models/clip-vit-base-patch32``) matches its id (``openai/clip-vit-base-patch32``).
    """
    return first == second or PurePath(first).name == PurePath(second).name
