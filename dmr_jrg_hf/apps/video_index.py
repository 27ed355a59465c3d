"""The index ``dmr-jrg app --videos DIR`` serves: extracted and indexed at start, reused by the next start.

`prepare_video_index` runs the code path of ``dmr-jrg index --videos``: `features_for_index` (extraction with the
encoder and rate the model records, into ``<index>.features.hdf5`` beside the index folder, resumable) then
`VideoCorpusIndex.build` with each video's file, so the app can play the moments. An index already in the folder is
reused when it was built by this model from exactly these video files; otherwise it is rebuilt (the extraction reuses
the features already in the feature file, so only new videos are decoded).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import DMRJRGError
from ..inference import VideoCorpusIndex
from ..inference.index_files import INDEX_METADATA_FILE
from ..inference.video_features import features_for_index, video_files_of

__all__ = ["default_index_dir", "prepare_video_index"]

logger = logging.getLogger(__name__)


def default_index_dir(videos: str | Path) -> Path:
    """Where ``app --videos`` keeps the index of a folder or list of videos: ``outputs/<name>-index``."""
    return Path("outputs") / f"{Path(videos).expanduser().resolve().stem}-index"


def _reusable_index(index_dir: Path, model, video_files: dict[str, str]) -> bool:
    """Whether the index in ``index_dir`` was built by ``model`` from exactly ``video_files`` (logs why not)."""
    if not (index_dir / INDEX_METADATA_FILE).is_file():
        return False
    try:
        index = VideoCorpusIndex.load(index_dir)
        index.check_model(model)
    except DMRJRGError as error:
        logger.info("rebuilding the index in %s: %s", index_dir, error)
        return False
    if index.video_files != video_files:
        logger.info("rebuilding the index in %s: the video files changed", index_dir)
        return False
    return True


def prepare_video_index(
    model_dir: str | Path,
    videos: str | Path | Sequence[str | Path],
    index_dir: str | Path | None = None,
    encoder: str | None = None,
    fps: float | None = None,
    **extraction_options: Any,
) -> Path:
    """Extract and index ``videos`` for the model in ``model_dir`` unless ``index_dir`` already holds that index.

    Args:
        model_dir (str or Path): model folder or Hub id; its processor records the encoder and rate.
        videos: a folder, a video file, a list file or a list of paths (`dmr_jrg_hf.features.list_videos`).
        index_dir (str or Path, optional): the index folder; default `default_index_dir` ``(videos)``.
        encoder, fps, **extraction_options: see `features_for_index` (``show_progress`` also drives the encoding
            bar).

    Returns:
        Path: the index folder, ready for `dmr_jrg_hf.apps.app.launch`.

    Raises:
        ConfigError, InputError, DataFormatError: see `features_for_index`; a folder that holds something else than
            an index.
    """
    from ..features import list_videos
    from ..loading import load_pretrained

    index_dir = Path(index_dir) if index_dir is not None else default_index_dir(videos)
    model, processor = load_pretrained(model_dir)
    listed = video_files_of(videos, list_videos(videos))
    if _reusable_index(index_dir, model, {video_id: str(path) for video_id, path in listed.items()}):
        logger.info("reusing the index of %d videos in %s", len(listed), index_dir)
        return index_dir
    logger.info(
        "indexing %d videos of %s into %s (features first; the page opens when done)", len(listed), videos, index_dir
    )
    features = features_for_index(processor, videos, index_dir, encoder=encoder, fps=fps, **extraction_options)
    index = VideoCorpusIndex.build(
        model,
        processor,
        features,
        show_progress=extraction_options.get("show_progress", True),
        video_files=video_files_of(videos, features),
    )
    index.save(index_dir, overwrite=True)
    logger.info("indexed %d videos into %s", len(index), index_dir)
    return index_dir
