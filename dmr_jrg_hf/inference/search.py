"""High-level inference: retrieve videos for a paragraph, ground its sentences, or both (paper §III, inference).

Retrieval ranks the videos of a `VideoCorpusIndex` by the cosine of the E2 paragraph and E1 video class tokens
(VPCMR, Eq. 1); grounding reads the VTC-LD score maps ``P_m`` (Eq. 8-10) and turns their cells into moments in seconds
with NMS (`DMRJRGProcessor.post_process_grounding`). Videos longer than the processor's
``long_video_threshold_seconds`` are grounded window by window and the windows' moments merged with NMS
(`dmr_jrg_hf.inference.long_videos`). BTSE-TD and VTFA-GD are training-only, as in the paper.

A paragraph is a list of sentences or one string (split after ``.``, ``!`` and ``?``). Every function takes one
paragraph or a list of them and answers in kind; any number of sentences works (the encoders have no length limit).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import InputError
from ..results import ParagraphResult, RetrievalHit, SentenceGrounding
from ..validation import check_positive_int, check_positive_seconds
from .feature_sources import check_feature_spec
from .index import VideoCorpusIndex
from .long_videos import VideoWindows, is_long_video, merge_window_moments, video_windows, window_weights

if TYPE_CHECKING:
    from ..modeling_dmr_jrg import DMRJRGModel
    from ..processing_dmr_jrg import DMRJRGProcessor

__all__ = ["split_sentences", "encode_paragraphs", "retrieve", "ground", "retrieve_and_ground", "sentence_score_maps"]

logger = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph string after ``.``, ``!`` or ``?`` followed by white space; empty pieces are dropped.

    Example:
        >>> split_sentences("A man opens the door. He walks out!")
        ['A man opens the door.', 'He walks out!']
    """
    return [sentence.strip() for sentence in _SENTENCE_END.split(paragraph.strip()) if sentence.strip()]


def _as_paragraphs(paragraphs) -> tuple[list[list[str]], bool]:
    """-> (batch of sentence lists, whether the input was a single paragraph)."""
    if isinstance(paragraphs, str):
        return [split_sentences(paragraphs)], True
    paragraphs = list(paragraphs)
    if paragraphs and all(isinstance(item, str) for item in paragraphs):
        return [paragraphs], True
    batch = [split_sentences(item) if isinstance(item, str) else list(item) for item in paragraphs]
    if not batch or any(not paragraph for paragraph in batch):
        raise InputError("paragraphs: expected a paragraph or a non-empty list of non-empty paragraphs")
    return batch, False


def _device(model: DMRJRGModel) -> torch.device:
    return next(model.parameters()).device


def encode_paragraphs(model: DMRJRGModel, processor: DMRJRGProcessor, paragraphs) -> torch.Tensor:
    """L2-normalised E2 embeddings of paragraphs, shape (num_paragraphs, hidden_size)."""
    batch, _ = _as_paragraphs(paragraphs)
    inputs = processor(text=batch).to(_device(model))
    with torch.no_grad():
        return model.encode_paragraphs(inputs["word_ids"], inputs["word_mask"], inputs["sentence_mask"])


def retrieve(model: DMRJRGModel, processor: DMRJRGProcessor, paragraphs, index: VideoCorpusIndex, top_k: int = 10):
    """Rank the index's videos for each paragraph.

    Args:
        model (DMRJRGModel), processor (DMRJRGProcessor): the model the index was built with.
        paragraphs: one paragraph (``str`` or ``list[str]``) or a list of them.
        index (VideoCorpusIndex): the corpus.
        top_k (int): hits per paragraph.

    Returns:
        list[RetrievalHit] (best first, ranks from 1) for one paragraph; a list of those for a batch.
    """
    batch, single = _as_paragraphs(paragraphs)
    index.check_model(model)
    scores, positions = index.search(encode_paragraphs(model, processor, batch), top_k)
    hits = [
        [
            RetrievalHit(index.video_ids[p], rank, float(s))
            for rank, (s, p) in enumerate(zip(row_s, row_p, strict=True), start=1)
        ]
        for row_s, row_p in zip(scores, positions, strict=True)
    ]
    return hits[0] if single else hits


def _pair_score_maps(
    model: DMRJRGModel, processor: DMRJRGProcessor, text, chosen, clip_features
) -> tuple[torch.Tensor, torch.Tensor]:
    """Score maps (pairs, M, K, K) of paragraphs ``text[chosen]`` in ``clip_features`` (pairs, K, D), sentence mask."""
    device = _device(model)
    words = {
        name: text[name][torch.as_tensor(chosen)].to(device) for name in ("word_ids", "word_mask", "sentence_mask")
    }
    clips = torch.as_tensor(clip_features).to(device)
    map_mask = torch.as_tensor(processor.map_mask, device=device)
    with torch.no_grad():
        return model.ground(**words, clip_features=clips, map_mask=map_mask), words["sentence_mask"].cpu()


def _ground_pairs(
    model: DMRJRGModel,
    processor: DMRJRGProcessor,
    batch,
    pair_paragraph: np.ndarray,
    videos: Sequence[VideoWindows],
    moments: int,
    nms: float | None,
    batch_size: int,
):
    """Moments ``[pair][sentence]`` of paragraph ``pair_paragraph[i]`` in ``videos[i]``, ``batch_size`` pairs per
    forward pass (a long video's pair brings all its windows into that pass)."""
    text = processor(text=batch)
    weigh = (
        processor.long_video_relevance_temperature is not None
        and model.config.use_retrieval_branch
        and any(video.is_chunked for video in videos)
    )
    paragraph_embeddings = _encode_text(model, text) if weigh else None
    results = []
    for start in range(0, len(videos), check_positive_int(batch_size, "batch_size")):
        chunk, paragraphs = videos[start : start + batch_size], pair_paragraph[start : start + batch_size]
        rows = np.repeat(paragraphs, [len(video) for video in chunk])  # the paragraph of every model row
        clip_features = np.concatenate([video.clip_features for video in chunk])  # (rows, K, D)
        score_maps, sentence_mask = _pair_score_maps(model, processor, text, rows, clip_features)
        weights = (
            _window_weights(model, processor, chunk, paragraph_embeddings[paragraphs])
            if weigh
            else [None] * len(chunk)
        )
        results += _chunk_moments(processor, chunk, score_maps, sentence_mask, moments, nms, weights)
    return results


def _encode_text(model: DMRJRGModel, text) -> np.ndarray:
    """E2 embeddings (num_paragraphs, hidden_size) of processed paragraphs."""
    device = _device(model)
    with torch.no_grad():
        embeddings = model.encode_paragraphs(
            text["word_ids"].to(device), text["word_mask"].to(device), text["sentence_mask"].to(device)
        )
    return embeddings.float().cpu().numpy()


def _window_weights(model, processor, videos, paragraph_embeddings) -> list[np.ndarray | None]:
    """`long_videos.window_weights` of each chunked video for its pair's paragraph (None for a whole video); window
    embeddings the video does not carry are encoded in one pass."""
    missing = [video for video in videos if video.is_chunked and video.embeddings is None]
    encoded = iter([])
    if missing:
        clips = torch.as_tensor(np.concatenate([video.clip_features for video in missing])).to(_device(model))
        with torch.no_grad():
            embeddings = model.encode_videos(clips).float().cpu().numpy()  # (windows of ``missing``, hidden_size)
        encoded = iter(np.split(embeddings, np.cumsum([len(video) for video in missing])[:-1]))
    weights = []
    for video, paragraph in zip(videos, paragraph_embeddings, strict=True):
        if not video.is_chunked:
            weights.append(None)
            continue
        embeddings = next(encoded) if video.embeddings is None else video.embeddings
        weights.append(window_weights(paragraph, embeddings, processor.long_video_relevance_temperature))
    return weights


def _chunk_moments(processor, videos, score_maps, sentence_mask, moments, nms, weights) -> list:
    """Moments of each pair of a forward pass: whole videos through `post_process_grounding` (one map each, the
    short-video path), chunked ones through `merge_window_moments` (their windows' rows, weighted)."""
    first_rows = np.cumsum([0] + [len(video) for video in videos])[:-1]
    whole = [i for i, video in enumerate(videos) if not video.is_chunked]
    results: list = [None] * len(videos)
    if whole:
        rows = first_rows[whole]
        durations = np.array([videos[i].duration for i in whole])
        grounded = processor.post_process_grounding(score_maps[rows], durations, sentence_mask[rows], moments, nms)
        for i, paragraph in zip(whole, grounded, strict=True):
            results[i] = paragraph
    for i, video in enumerate(videos):
        if video.is_chunked:
            rows = slice(first_rows[i], first_rows[i] + len(video))
            results[i] = merge_window_moments(
                processor, score_maps[rows], video, sentence_mask[first_rows[i]], moments, nms, weights[i]
            )
    return results


def _groundings(sentences: list[str], moments) -> tuple[SentenceGrounding, ...]:
    return tuple(SentenceGrounding(s, tuple(m)) for s, m in zip(sentences, moments, strict=True))


def ground(
    model: DMRJRGModel,
    processor: DMRJRGProcessor,
    paragraphs,
    video_features: np.ndarray | Sequence[np.ndarray],
    duration: float | Sequence[float],
    moments_per_sentence: int = 1,
    nms_threshold: float | None = None,
    feature_rate: float | None = None,
    batch_size: int = 16,
):
    """Ground every sentence of each paragraph in its video (VTC-LD score maps, NMS, seconds).

    A video longer than ``processor.long_video_threshold_seconds`` is grounded in overlapping windows of
    ``processor.long_video_window_seconds`` whose moments are merged with NMS (`long_videos`); the others as one map.

    Args:
        paragraphs: one paragraph or a list of them.
        video_features (np.ndarray of shape (num_frames, feature_dim), or a list with one per paragraph): any length;
            the frames are taken to be spread evenly over the video.
        duration (float or list[float]): seconds, one per video.
        moments_per_sentence (int): moments kept per sentence after NMS.
        nms_threshold (float, optional): defaults to the processor's.
        feature_rate (float, optional): frames per second of the features, checked against the processor's spec.

    Returns:
        tuple[SentenceGrounding, ...] for one paragraph; a list of those for a batch.

    Raises:
        InputError: features of the wrong dimension or rate, a sentence with no known word, a bad duration.
    """
    batch, single = _as_paragraphs(paragraphs)
    videos = [video_features] if isinstance(video_features, np.ndarray | torch.Tensor) else list(video_features)
    durations = [duration] if np.ndim(duration) == 0 else list(duration)
    seconds = [check_positive_seconds(d, f"video #{i}") for i, d in enumerate(durations)]
    shared = len(videos) == len(seconds) == 1  # one video for every paragraph: pooled once
    if not (shared or len(videos) == len(seconds) == len(batch)):
        raise InputError(f"ground: {len(batch)} paragraphs but {len(videos)} videos and {len(seconds)} durations")
    for i, video in enumerate(videos):
        check_feature_spec(processor, np.shape(video)[-1], f"#{i}", feature_rate)
    windows = [video_windows(processor, v, d, f"#{i}") for i, (v, d) in enumerate(zip(videos, seconds, strict=True))]
    windows = windows * len(batch) if shared else windows
    moments = _ground_pairs(
        model, processor, batch, np.arange(len(batch)), windows, moments_per_sentence, nms_threshold, batch_size
    )
    groundings = [_groundings(sentences, m) for sentences, m in zip(batch, moments, strict=True)]
    return groundings[0] if single else groundings


def retrieve_and_ground(
    model: DMRJRGModel,
    processor: DMRJRGProcessor,
    paragraphs,
    index: VideoCorpusIndex,
    top_k: int = 10,
    moments_per_sentence: int = 1,
    nms_threshold: float | None = None,
    batch_size: int = 16,
):
    """Retrieve the top-k videos of each paragraph and ground every sentence in each of them.

    Grounding uses the clip features stored in the index (for a long video, those of its windows: it is grounded
    window by window, `long_videos`); all (paragraph, hit) pairs are grounded in batches of ``batch_size`` (the cost
    is one VTC-LD pass per pair and window: it grows with ``top_k``).

    Returns:
        list[ParagraphResult] (best video first) for one paragraph; a list of those for a batch. Each result has the
        hit (video id, rank, paragraph score), the duration and per sentence its moments (start, end, score, rank).

    Raises:
        InputError: the index was built without clip features (``store_clip_features=False``) or with another model.
    """
    batch, single = _as_paragraphs(paragraphs)
    if index.clip_features is None:
        raise InputError("index has no clip features (built with store_clip_features=False): cannot ground")
    hits = retrieve(model, processor, batch, index, top_k)
    positions = index.positions([hit.video_id for row in hits for hit in row])
    pair_paragraph = np.repeat(np.arange(len(batch)), [len(row) for row in hits])
    _warn_unwindowed(processor, index, positions)
    windows = [index.video_windows(position) for position in positions]
    moments = _ground_pairs(
        model, processor, batch, pair_paragraph, windows, moments_per_sentence, nms_threshold, batch_size
    )
    flat_hits = [hit for row in hits for hit in row]
    results = [
        ParagraphResult(hit, float(index.durations[p]), _groundings(batch[b], m))
        for hit, p, b, m in zip(flat_hits, positions, pair_paragraph, moments, strict=True)
    ]
    offsets = np.cumsum([0] + [len(row) for row in hits])
    grouped = [results[offsets[i] : offsets[i + 1]] for i in range(len(batch))]
    return grouped[0] if single else grouped


def _warn_unwindowed(processor: DMRJRGProcessor, index: VideoCorpusIndex, positions: np.ndarray) -> None:
    """Log the hits the processor would ground in windows but the index holds no windows of (it was built before
    chunked grounding, or with chunking off): they are grounded whole."""
    unwindowed = [
        index.video_ids[p]
        for p in positions
        if is_long_video(processor, float(index.durations[p])) and not index.windows.counts[p]
    ]
    if unwindowed:
        logger.warning(
            "videos %s are longer than %s s but the index holds no window features of them (built before chunked "
            "grounding or with chunking off): grounded whole at %d clips; rebuild the index to ground them in windows",
            sorted(set(unwindowed))[:5],
            processor.long_video_threshold_seconds,
            processor.num_clips,
        )


def sentence_score_maps(
    model: DMRJRGModel, processor: DMRJRGProcessor, paragraph, index: VideoCorpusIndex, video_id: str
) -> np.ndarray:
    """The VTC-LD score maps ``P_m`` (Eq. 8-10) of every sentence of one paragraph in one video of the index.

    These are the maps `retrieve_and_ground` reads its moments from for a video grounded whole (the top-1 moment of a
    sentence is its highest valid cell); plot them with `dmr_jrg_hf.inference.plot_score_maps` and
    ``processor.map_mask``. For a long video grounded in windows they are the maps of the whole video pooled to K
    clips, an overview at coarse resolution.

    Args:
        model (DMRJRGModel), processor (DMRJRGProcessor): the model the index was built with.
        paragraph: one paragraph (``str`` or ``list[str]``).
        index (VideoCorpusIndex): a corpus built with its clip features (the default).
        video_id (str): the video, e.g. ``result.hit.video_id`` of a `ParagraphResult`.

    Returns:
        np.ndarray of float32, shape (num_sentences, num_clips, num_clips): scores in [0, 1], zero at the cells outside
        ``processor.map_mask``.

    Raises:
        InputError: an unknown video id, an index without clip features or built with another model.
    """
    batch, single = _as_paragraphs(paragraph)
    if not single:
        raise InputError(f"sentence_score_maps: expected one paragraph, got {len(batch)}")
    if index.clip_features is None:
        raise InputError("index has no clip features (built with store_clip_features=False): cannot ground")
    index.check_model(model)
    clips = index.clip_features[index.positions([video_id])]
    score_maps, _ = _pair_score_maps(model, processor, processor(text=batch), np.zeros(1, dtype=np.int64), clips)
    return score_maps[0].float().cpu().numpy()
