"""Video files to frame features: PyAV decoding, fixed-rate sampling, Hugging Face vision encoders, feature files.

``dmr-jrg extract-features VIDEOS --encoder ID --fps 1 --out features.hdf5`` (or `extract_features`) writes the
layout the rest of the package reads (`dmr_jrg_hf.data.open_features`), with each video's duration, rate, encoder and
frame count in its metadata. Modules: `sampling` (which frames), `decoding` (PyAV, streamed), `encoders` (the vision
model), `writer` (atomic per video, resumable), `sources` (which files), `spec` (what the files record),
`extraction` (the loop). Needs the ``video`` extra (PyAV).

The public names load on first use, so the command line's argument parser imports neither torch nor PyAV.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULE_EXPORTS: dict[str, tuple[str, ...]] = {
    "decoding": ("DECODE_FAILURES", "SampledVideo", "VideoDecodeError", "VideoInfo"),
    "encoders": ("VisionEncoder",),
    "extraction": ("ExtractionReport", "SkippedVideo", "extract_features"),
    "sampling": ("FrameSampler", "nearest_frame_indices", "num_feature_rows", "sample_times"),
    "sources": ("VIDEO_EXTENSIONS", "list_videos"),
    "spec": ("DEFAULT_ENCODER", "DEFAULT_FPS", "extractor_spec", "same_encoder"),
    "writer": ("HDF5FeatureWriter", "NpyFeatureWriter", "open_feature_writer"),
}
_EXPORTS: dict[str, str] = {name: module for module, names in _SUBMODULE_EXPORTS.items() for name in names}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
