"""Video files to the features a corpus index needs, with the encoder and rate the model was trained on.

`features_for_index` is the extraction half of ``dmr-jrg index --videos DIR``: it takes the encoder and the rate from
the processor's ``video_feature_spec`` (or the arguments, which must agree with it), extracts into a feature file
that sits **beside the index folder** (``<output-dir>.features.hdf5`` unless another path is given; an interrupted
run resumes from it, and ``skipped.jsonl`` lands in the same folder), and returns the videos of this run as a reader
whose metadata gives `VideoCorpusIndex.build` each video's duration, rate and encoder. `video_files_of` names the
file of each of those videos, which the index records so that the app can play it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataFormatError, InputError
from ..features.spec import DEFAULT_FPS
from .feature_sources import check_extractor

__all__ = ["default_features_path", "features_for_index", "video_files_of"]

logger = logging.getLogger(__name__)


def default_features_path(index_dir: str | Path) -> Path:
    """The feature file beside an index folder: ``corpus/`` -> ``corpus.features.hdf5``."""
    index_dir = Path(index_dir)
    return index_dir.with_name(f"{index_dir.name}.features.hdf5")


def features_for_index(
    processor,
    videos: str | Path | Sequence[str | Path],
    index_dir: str | Path,
    features_path: str | Path | None = None,
    encoder: str | None = None,
    fps: float | None = None,
    **extraction_options: Any,
):
    """Extract (or reuse) the features of ``videos`` for indexing with a model whose processor is ``processor``.

    Args:
        processor (DMRJRGProcessor): its ``video_feature_spec`` gives the default encoder and rate.
        videos: a folder, a video file, a list file or a list of paths (`dmr_jrg_hf.features.list_videos`).
        index_dir (str or Path): the index folder (the default feature file sits beside it).
        features_path (str or Path, optional): where to extract to (``.hdf5`` or an npy folder).
        encoder (str, optional): Hub id or folder of the vision encoder; default: the one the model records.
        fps (float, optional): feature rows per second; default: the model's rate, else 1.
        **extraction_options: ``batch_size``, ``device``, ``dtype``, ``num_workers``, ``max_duration``,
            ``show_progress`` of `dmr_jrg_hf.features.extract_features`.

    Returns:
        VideoFeatureReader: the videos of ``videos`` that have features (skipped ones are left out and listed in
        ``skipped.jsonl``).

    Raises:
        ConfigError: the model records no encoder and none is given.
        InputError: ``encoder`` or ``fps`` differ from what the model was trained with.
        DataFormatError: no video of ``videos`` could be decoded.
    """
    from ..data.readers import FeatureSubset, open_features
    from ..features import extract_features, list_videos

    spec = dict(processor.video_feature_spec or {})
    encoder = encoder or spec.get("encoder")
    if encoder is None:
        raise ConfigError(
            "the model records no video encoder (it was trained on features not written by extract-features): "
            "pass --encoder with the vision model its features came from"
        )
    fps = float(fps or spec.get("rate_per_second") or DEFAULT_FPS)
    check_extractor(processor, f"videos {videos}", fps, str(encoder))
    path = Path(features_path) if features_path is not None else default_features_path(index_dir)
    logger.info("extracting the features of %s with %s at %g fps into %s", videos, encoder, fps, path)
    report = extract_features(videos, path, encoder=encoder, fps=fps, **extraction_options)
    done = set(report.extracted) | set(report.already_done)
    video_ids = [video_id for video_id in list_videos(videos) if video_id in done]
    if not video_ids:
        raise DataFormatError(
            f"videos {videos}: none could be decoded ({len(report.skipped)} skipped, reasons in "
            f"{path.parent / 'skipped.jsonl'})"
        )
    return FeatureSubset(open_features(path), video_ids)


def video_files_of(videos: str | Path | Sequence[str | Path], video_ids: Iterable[str]) -> dict[str, Path]:
    """``{video_id: absolute path}`` of the given ids among ``videos`` (the ids `features_for_index` returns).

    Raises:
        InputError: an id that is not one of ``videos``.
    """
    from ..features import list_videos

    paths = list_videos(videos)
    video_ids = list(video_ids)
    unknown = [video_id for video_id in video_ids if video_id not in paths]
    if unknown:
        raise InputError(f"videos {videos}: no video file for {unknown[:5]}")
    return {video_id: paths[video_id].resolve() for video_id in video_ids}
