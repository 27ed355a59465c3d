"""Chunk-and-merge grounding of long videos: VTC-LD score maps (Eq. 8-10) read window by window.

Every video is averaged to ``num_sampled_frames`` and pooled to K clips whatever its length (§III-C-2), so in a
one-hour video a K = 16 cell spans 225 s and no moment can be located finely. A video longer than the processor's
``long_video_threshold_seconds`` is therefore cut into windows of ``long_video_window_seconds`` that overlap by
``long_video_overlap`` (`feature_extraction_dmr_jrg.window_starts`). Each window is pooled to K clips exactly as a
short video, all windows of a video go through the model in one batch, every window's cells are mapped back to seconds
with the window's offset (`geometry.cells_to_seconds`), and the candidate moments of all windows are merged per
sentence with `geometry.nms_1d`, so a moment keeps the resolution it would have in a short video. Videos up to the
threshold take the unchanged path (one map, `DMRJRGProcessor.post_process_grounding`).

Note:
    The score maps ``P_m`` are trained to rank the moments of one video, not to compare videos, and a window without
    the described events still has its best cells. Before the merge each window's scores are therefore weighted by
    how well the window matches the paragraph: ``exp((cos_w - max_w cos_w) / T)`` with ``cos_w`` the cosine of the
    paragraph's E2 and the window's E1 retrieval embeddings (Eq. 1; the best window keeps its scores, in the spirit of
    GRRM, Eq. 17, which aligns grounding with retrieval) and ``T = processor.long_video_relevance_temperature``
    (0.1). On one-hour synthetic videos this doubles R@1 at IoU 0.5 (examples/long_video_grounding.py); ``None``
    restores the unweighted merge, and models without the retrieval branch always merge unweighted.

Retrieval over long videos (`VideoCorpusIndex`, ``long_video_retrieval``) scores a long video by its best window
(``"best_window"``, the default) or by its pooled whole-video embedding (``"pooled"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import InputError
from ..feature_extraction_dmr_jrg import check_video_features, window_starts
from ..geometry import cells_to_seconds, nms_1d
from ..results import Moment
from ..validation import check_positive_int, check_unit_interval

if TYPE_CHECKING:
    from ..processing_dmr_jrg import DMRJRGProcessor

__all__ = [
    "LONG_VIDEO_RETRIEVAL",
    "VideoWindows",
    "best_per_video",
    "check_long_video_retrieval",
    "is_long_video",
    "merge_window_moments",
    "video_windows",
    "window_weights",
]

# How a long video is scored for retrieval; the first is the default (examples/long_video_grounding.py measures both).
LONG_VIDEO_RETRIEVAL = ("best_window", "pooled")


@dataclass(frozen=True)
class VideoWindows:
    """What a paragraph is grounded in for one video: the K-clip features of its windows and where they lie.

    A video up to the processor's threshold is one window, itself, with ``is_chunked=False``: its moments come from
    `DMRJRGProcessor.post_process_grounding` exactly as without chunking.

    Attributes:
        clip_features (np.ndarray of shape (num_windows, num_clips, feature_dim)): pooled clips of each window.
        offsets (np.ndarray of shape (num_windows,)): start of each window, seconds into the video.
        durations (np.ndarray of shape (num_windows,)): length of each window, seconds.
        duration (float): the video's duration, seconds.
        is_chunked (bool): the video is grounded window by window.
        embeddings (np.ndarray of shape (num_windows, hidden_size), optional): the windows' L2-normalised E1
            embeddings when already known (a corpus index stores them); else computed when the merge weighs windows.
    """

    clip_features: np.ndarray
    offsets: np.ndarray
    durations: np.ndarray
    duration: float
    is_chunked: bool
    embeddings: np.ndarray | None = None

    @classmethod
    def whole(cls, clip_features: np.ndarray, duration: float) -> VideoWindows:
        """A video grounded whole: ``clip_features`` of shape (num_clips, feature_dim)."""
        return cls(clip_features[None], np.zeros(1), np.array([duration], dtype=np.float64), float(duration), False)

    def __len__(self) -> int:
        return len(self.clip_features)


def is_long_video(processor: DMRJRGProcessor, duration: float) -> bool:
    """Whether a video of ``duration`` seconds is grounded in windows (chunking on and longer than the threshold)."""
    return processor.long_video_window_seconds is not None and duration > processor.long_video_threshold_seconds


def video_windows(processor: DMRJRGProcessor, features: np.ndarray, duration: float, name: str) -> VideoWindows:
    """Pool a video to K clips for grounding: whole, or window by window when it is long (`is_long_video`).

    Args:
        processor (DMRJRGProcessor): pools every window as it pools a short video, and holds the window settings.
        features (np.ndarray of shape (num_frames, feature_dim)): the video's features, spread evenly over it.
        duration (float): seconds.
        name (str): the video, named in errors.

    Returns:
        VideoWindows: one window for a short video (durations as the processor returns them, float32 precision, as
        the whole-video path always had), or the video's windows.

    Raises:
        InputError: bad features (shape, NaN/Inf, dimension) or duration, naming the video (and the frame).
    """
    features = np.asarray(features)
    if not is_long_video(processor, duration) or np.ndim(features) != 2 or len(features) == 0:
        inputs = processor(video_features=[features], durations=[duration], video_ids=[name], return_tensors="np")
        return VideoWindows.whole(inputs["clip_features"][0], float(inputs["durations"][0]))
    features = check_video_features(features, processor.feature_dim, f"video {name!r}")  # errors name video frames
    starts, length = window_starts(
        len(features), duration, processor.long_video_window_seconds, processor.long_video_overlap
    )
    seconds_per_frame = duration / len(features)
    window_duration = length * seconds_per_frame
    inputs = processor(
        video_features=[features[start : start + length] for start in starts],
        durations=[window_duration] * len(starts),
        return_tensors="np",
    )
    return VideoWindows(
        inputs["clip_features"], starts * seconds_per_frame, np.full(len(starts), window_duration), duration, True
    )


def merge_window_moments(
    processor: DMRJRGProcessor,
    score_maps: torch.Tensor | np.ndarray,
    windows: VideoWindows,
    sentence_mask: torch.Tensor | np.ndarray,
    top_k: int,
    nms_threshold: float | None = None,
    window_weights: np.ndarray | None = None,
) -> list[list[Moment]]:
    """The moments of every real sentence of one paragraph in one long video, from the score maps of its windows.

    Every valid cell of every window is a candidate, mapped to seconds with its window's offset and scored by its
    cell score times its window's weight; the candidates of all windows are ranked by that score and suppressed with
    `geometry.nms_1d`, so the same stretch seen by two overlapping windows is kept once.

    Args:
        processor (DMRJRGProcessor): K, the valid-cell mask and the default NMS threshold.
        score_maps (tensor of shape (num_windows, num_sentences, num_clips, num_clips)): ``P_m`` of each window.
        windows (VideoWindows): the windows the maps belong to, in the same order.
        sentence_mask (tensor of shape (num_sentences,)): padded sentences are left out.
        top_k (int): moments kept per sentence.
        nms_threshold (float, optional): defaults to the processor's.
        window_weights (np.ndarray of shape (num_windows,), optional): `window_weights` of the windows; None: 1.

    Returns:
        ``moments[m]``: list of `Moment` (seconds in the video, best first, ranks from 1, the weighted score) of real
        sentence ``m``.

    Raises:
        InputError: ``top_k`` is not a positive int, ``nms_threshold`` not in (0, 1], or maps and windows differ in
            number.
    """
    scores = torch.as_tensor(score_maps).detach().float().cpu().numpy()
    if len(scores) != len(windows):
        raise InputError(f"{len(scores)} score maps for {len(windows)} windows")
    top_k = check_positive_int(top_k, "top_k (moments per sentence)")
    threshold = check_unit_interval(
        processor.nms_threshold if nms_threshold is None else nms_threshold, "nms_threshold"
    )
    rows, cols = np.nonzero(processor.map_mask)
    seconds = cells_to_seconds(
        rows[None], cols[None], windows.durations[:, None], processor.num_clips, windows.offsets[:, None]
    )  # (num_windows, cells, 2)
    seconds = np.clip(seconds.reshape(-1, 2), 0.0, windows.duration)  # (num_windows * cells, 2)
    cell_scores = scores[:, :, rows, cols]  # (num_windows, M, cells)
    if window_weights is not None:
        cell_scores = cell_scores * np.asarray(window_weights, dtype=np.float32)[:, None, None]
    cell_scores = cell_scores.transpose(1, 0, 2).reshape(scores.shape[1], -1)  # (M, num_windows * cells)
    moments = []
    for m in np.flatnonzero(np.asarray(sentence_mask, dtype=bool)):
        kept = nms_1d(seconds, cell_scores[m], threshold, top_k)
        moments.append(
            [
                Moment(float(seconds[i, 0]), float(seconds[i, 1]), float(cell_scores[m, i]), rank)
                for rank, i in enumerate(kept, start=1)
            ]
        )
    return moments


def window_weights(paragraph_embedding: np.ndarray, window_embeddings: np.ndarray, temperature: float) -> np.ndarray:
    """Weights ``exp((cos_w - max_w cos_w) / temperature)`` of a long video's windows for one paragraph (see the
    module's note): 1 for the window that matches the paragraph best, less for the others.

    Args:
        paragraph_embedding (np.ndarray of shape (hidden_size,)): L2-normalised E2 embedding.
        window_embeddings (np.ndarray of shape (num_windows, hidden_size)): L2-normalised E1 embeddings.
        temperature (float): > 0; smaller trusts retrieval more.

    Returns:
        np.ndarray of float64, shape (num_windows,), in (0, 1].

    Example:
        >>> window_weights(np.array([1.0, 0.0]), np.array([[1.0, 0.0], [0.9, 0.1]]), 0.1).round(3).tolist()
        [1.0, 0.368]
    """
    cosines = np.asarray(window_embeddings, dtype=np.float64) @ np.asarray(paragraph_embedding, dtype=np.float64)
    return np.exp((cosines - cosines.max()) / temperature)


def check_long_video_retrieval(value: str) -> str:
    """Return ``value`` when it is one of `LONG_VIDEO_RETRIEVAL`, else raise `InputError` listing them."""
    if value not in LONG_VIDEO_RETRIEVAL:
        raise InputError(f"long_video_retrieval must be one of {LONG_VIDEO_RETRIEVAL}, got {value!r}")
    return value


def best_per_video(scores: np.ndarray, videos: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate ranked rows (windows) to videos by their best row: the top ``k`` videos per query.

    Args:
        scores (np.ndarray of shape (num_queries, num_rows)): row scores.
        videos (np.ndarray of int, shape (num_queries, num_rows)): the video position of each row.
        k (int): videos per query; every query's rows must hold at least ``k`` distinct videos.

    Returns:
        tuple: scores and video positions (np.ndarray of shape (num_queries, k)), score descending, ties by position.
    """
    best_scores, best_videos = np.empty((len(scores), k), np.float32), np.empty((len(scores), k), np.int64)
    for query, (row_scores, row_videos) in enumerate(zip(scores, videos, strict=True)):
        order = np.lexsort((row_videos, -row_scores))
        _, first = np.unique(row_videos[order], return_index=True)  # each video's best row in ``order``
        chosen = order[np.sort(first)[:k]]
        best_scores[query], best_videos[query] = row_scores[chosen], row_videos[chosen]
    return best_scores, best_videos
