"""Latency and memory of corpus search: `retrieve` over 10k-100k videos, `retrieve_and_ground` at top-k 10 / 100.

Measured with a randomly initialised model of a preset (latency does not depend on the weights) and synthetic index
contents: random unit video embeddings and all-zero clip features (the grounding cost does not depend on their
values; zero pages are not touched until read, so a 100k-video index fits in memory while its size is reported
exactly from the array shapes).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch

from ..configuration_dmr_jrg import DMRJRGConfig
from ..modeling_dmr_jrg import DMRJRGModel
from ..processing_dmr_jrg import DMRJRGProcessor
from .index import VideoCorpusIndex, _model_info
from .search import retrieve, retrieve_and_ground

__all__ = ["benchmark_retrieval", "synthetic_index"]

logger = logging.getLogger(__name__)

_WORDS = "person opens closes door box table walks out of the room picks up cup puts down bag then he she".split()


def synthetic_index(config: DMRJRGConfig, num_videos: int, seed: int = 0) -> VideoCorpusIndex:
    """An index of ``num_videos`` random unit embeddings, zero clip features and 30-180 s durations."""
    rng = np.random.default_rng(seed)
    embeddings = rng.standard_normal((num_videos, config.hidden_size), dtype=np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    clips = np.zeros((num_videos, config.num_clips, config.feature_dim), np.float32)
    durations = rng.uniform(30.0, 180.0, num_videos)
    video_ids = [f"video_{i:07d}" for i in range(num_videos)]
    return VideoCorpusIndex(video_ids, embeddings, clips, durations, model_info=_model_info(config))


def _paragraph(rng: np.random.Generator, num_sentences: int) -> list[str]:
    return [" ".join(rng.choice(_WORDS, size=8)) for _ in range(num_sentences)]


def _median_ms(function, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        timings.append(1000.0 * (time.perf_counter() - started))
    return float(np.median(timings))


def benchmark_retrieval(
    preset: str = "activitynet",
    corpus_sizes: tuple[int, ...] = (10_000, 100_000),
    num_queries: int = 50,
    num_sentences: int = 4,
    retrieve_top_k: int = 10,
    ground_top_ks: tuple[int, ...] = (10, 100),
    ground_repeats: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """Median latency of `retrieve` per corpus size, index memory, and `retrieve_and_ground` latency per top-k.

    Args:
        preset (str): model preset (random init).
        corpus_sizes (tuple[int, ...]): videos in the index, exact search.
        num_queries (int): repeated `retrieve` calls per size (one paragraph each; the median is reported).
        num_sentences (int): sentences per query paragraph.
        ground_top_ks (tuple[int, ...]): top-k of `retrieve_and_ground` (on the smallest corpus).
        ground_repeats (int): calls per top-k (median).

    Returns:
        dict: ``{"preset", "threads", "num_sentences", "retrieve": [{"num_videos", "median_ms", "index_mb",
        "embeddings_mb", "clip_features_mb"}], "retrieve_and_ground": [{"top_k", "median_ms", "pairs"}]}``.
    """
    config = DMRJRGConfig.from_preset(preset)
    rng = np.random.default_rng(seed)
    sentences = [" ".join(rng.choice(_WORDS, size=8)) for _ in range(50)]
    processor = DMRJRGProcessor.from_corpus(sentences, config=config, seed=seed)
    torch.manual_seed(seed)
    model = DMRJRGModel(config).eval()
    model.set_word_vectors(processor.word_vectors)
    report: dict[str, Any] = {"preset": preset, "threads": torch.get_num_threads(), "num_sentences": num_sentences}
    report["retrieve"], smallest = [], None
    for num_videos in corpus_sizes:
        index = synthetic_index(config, num_videos, seed)
        retrieve(model, processor, _paragraph(rng, num_sentences), index, retrieve_top_k)  # warm-up
        median = _median_ms(
            lambda index=index: retrieve(model, processor, _paragraph(rng, num_sentences), index, retrieve_top_k),
            num_queries,
        )
        report["retrieve"].append(
            {
                "num_videos": num_videos,
                "median_ms": median,
                "index_mb": index.memory_bytes / 2**20,
                "embeddings_mb": index.embeddings.nbytes / 2**20,
                "clip_features_mb": index.clip_features.nbytes / 2**20,
            }
        )
        logger.info("retrieve over %d videos: %.2f ms", num_videos, median)
        smallest = index if smallest is None or len(index) < len(smallest) else smallest
    report["retrieve_and_ground"] = []
    for top_k in ground_top_ks:
        paragraph = _paragraph(rng, num_sentences)
        median = _median_ms(
            lambda k=top_k, text=paragraph: retrieve_and_ground(model, processor, text, smallest, k), ground_repeats
        )
        report["retrieve_and_ground"].append({"top_k": top_k, "median_ms": median, "pairs": top_k})
        logger.info("retrieve_and_ground top_k=%d: %.0f ms", top_k, median)
    return report
