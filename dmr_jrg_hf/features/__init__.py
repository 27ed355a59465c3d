"""Video files to frame features: PyAV decoding, fixed-rate sampling, Hugging Face vision encoders, feature files.

``dmr-jrg extract-features VIDEOS --encoder ID --fps 1 --out features.hdf5`` (or `extract_features`) writes the
layout the rest of the package reads (`dmr_jrg_hf.data.open_features`), with each video's duration, rate, encoder and
frame count in its metadata. Modules: `sampling` (which frames), `decoding` (PyAV, streamed), `encoders` (the vision
model), `writer` (atomic per video, resumable), `sources` (which files), `spec` (what the files record),
`extraction` (the loop). Needs the ``video`` extra (PyAV).

The public names load on first use, so the command line's argument parser imports neither torch nor PyAV.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

_SUBMODULE_EXPORTS: dict[str, tuple[str, ...]] = {
    "decoding": ("DECODE_FAILURES", "SampledVideo", "VideoDecodeError", "VideoInfo"),
    "encoders": ("VisionEncoder",),
    "extraction": ("ExtractionReport", "SkippedVideo", "extract_features"),
    "sampling": ("FrameSampler", "nearest_frame_indices", "num_feature_rows", "sample_times"),
    "sources": ("VIDEO_EXTENSIONS", "list_videos"),
    "spec": ("DEFAULT_ENCODER", "DEFAULT_FPS", "extractor_spec", "same_encoder"),
    "writer": ("HDF5FeatureWriter", "NpyFeatureWriter", "open_feature_writer"),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _SUBMODULE_EXPORTS, globals())
