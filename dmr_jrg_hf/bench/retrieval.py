"""Corpus search cost: latency of one paragraph query over 10k-1M videos against the memory-bandwidth bound.

An exact search reads every video embedding once, so its floor is ``bytes of the embedding matrix / read bandwidth``
(the bandwidth measured by `hardware.read_bandwidth` in the same run); ``bound_ratio`` is the median search latency
over that floor. ``search`` times `VideoCorpusIndex.search` alone (one pre-encoded query); ``retrieve`` adds the
paragraph encoding (processor + E2 encoder). `retrieve_and_ground` is timed at a few top-k on the smallest corpus.

The model is randomly initialised and the index contents are synthetic: random unit video embeddings and all-zero clip
features (the cost does not depend on their values; zero pages are not touched until read, so a 100k-video index fits
in memory while its size is reported exactly from the array shapes). The large (FAISS) corpus keeps no clip features
and is searched both exactly and with FAISS, over the same embeddings. Every corpus is also searched with the int8
backend (an int8 scan and an exact fp32 re-rank) over the same arrays: its row gives the time to build the int8 copy,
the re-ranked pool sizes and the recall of the exact top-k, against the same fp32 bound.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..configuration_dmr_jrg import DMRJRGConfig

__all__ = ["benchmark_retrieval", "latency_ms", "synthetic_index"]

logger = logging.getLogger(__name__)

_LARGE_CORPUS_QUERIES = 20  # a 1M-video scan takes 0.1-1 s: fewer timed queries there
_WORDS = "person opens closes door box table walks out of the room picks up cup puts down bag then he she".split()


def synthetic_index(config: DMRJRGConfig, num_videos: int, seed: int = 0, store_clip_features: bool = True, **kwargs):
    """A `VideoCorpusIndex` of ``num_videos`` random unit embeddings, zero clip features and 30-180 s durations.

    Args:
        config (DMRJRGConfig): gives K, D and d.
        num_videos (int): corpus size.
        seed (int): seed of the embeddings and durations.
        store_clip_features (bool): keep (lazily allocated, all-zero) clip features for grounding.
        **kwargs: passed to `VideoCorpusIndex` (``backend``, ``faiss_factory``).
    """
    from ..inference.index import VideoCorpusIndex, _model_info

    rng = np.random.default_rng(seed)
    embeddings = np.empty((num_videos, config.hidden_size), np.float32)
    rows = torch.from_numpy(embeddings).normal_(generator=torch.Generator().manual_seed(seed))  # 3x numpy's sampler
    rows /= torch.linalg.vector_norm(rows, dim=1, keepdim=True)
    clips = np.zeros((num_videos, config.num_clips, config.feature_dim), np.float32) if store_clip_features else None
    durations = rng.uniform(30.0, 180.0, num_videos)
    video_ids = [f"video_{i:07d}" for i in range(num_videos)]
    return VideoCorpusIndex(video_ids, embeddings, clips, durations, model_info=_model_info(config), **kwargs)


def latency_ms(function: Callable[[int], Any], repeats: int) -> dict[str, float]:
    """Median and 95th percentile (ms) of ``repeats`` calls ``function(i)`` after one untimed call."""
    function(0)
    timings = []
    for repeat in range(repeats):
        started = time.perf_counter()
        function(repeat)
        timings.append(1000.0 * (time.perf_counter() - started))
    return {"median_ms": float(np.median(timings)), "p95_ms": float(np.percentile(timings, 95))}


def _paragraph(rng: np.random.Generator, num_sentences: int) -> list[str]:
    return [" ".join(rng.choice(_WORDS, size=8)) for _ in range(num_sentences)]


def _unit_queries(count: int, dim: int, seed: int) -> np.ndarray:
    queries = np.random.default_rng(seed + 1).standard_normal((count, 1, dim), dtype=np.float32)
    return queries / np.linalg.norm(queries, axis=-1, keepdims=True)


def _search_row(index, queries: np.ndarray, top_k: int, bandwidth: float) -> tuple[dict[str, Any], list]:
    """The latency row of ``index.search`` over ``queries``, and each query's result (from the timed calls)."""
    results = [None] * len(queries)

    def search(call: int) -> None:
        results[call % len(queries)] = index.search(queries[call % len(queries)], top_k)

    latency = latency_ms(search, len(queries))
    scanned = index.embeddings.nbytes
    bound_ms = 1000.0 * scanned / bandwidth  # the fp32 bound, for every backend
    row = {
        "num_videos": len(index),
        "backend": index.backend,
        **latency,
        "bytes_scanned": scanned,
        "bound_ms": bound_ms,
        "bound_ratio": latency["median_ms"] / bound_ms,
        "index_mb": index.memory_bytes / 2**20,
        "embeddings_mb": index.embeddings.nbytes / 2**20,
    }
    return row, results


def _int8_row(exact, expected: list, queries: np.ndarray, top_k: int, bandwidth: float) -> dict[str, Any]:
    """The int8 backend over ``exact``'s arrays (no copy of them): latency against the fp32 bound, the time to build
    the int8 copy, its pool sizes, and its recall of ``expected``, the exact top-k of each query (ids and scores
    compared per query)."""
    from ..inference.index import VideoCorpusIndex

    index = VideoCorpusIndex(
        exact.video_ids, exact.embeddings, exact.clip_features, exact.durations, exact.model_info, backend="int8"
    )
    started = time.perf_counter()
    index.search(queries[0], top_k)  # builds the int8 copy
    build_seconds = time.perf_counter() - started
    row, found = _search_row(index, queries, top_k, bandwidth)
    row["build_seconds"] = build_seconds
    hits = sum(len(set(f[1][0]) & set(e[1][0])) for f, e in zip(found, expected, strict=True))
    pools = [len(index._scan("videos").int8_scan.candidate_pools(query, top_k)[0]) for query in queries]
    return {
        **row,
        "bytes_scanned": index._scan("videos").int8_scan.memory_bytes,
        "recall": hits / (top_k * len(queries)),
        "max_score_difference": max(float(np.abs(f[0] - e[0]).max()) for f, e in zip(found, expected, strict=True)),
        "median_pool": float(np.median(pools)),
        "max_pool": int(max(pools)),
        "int8_mb": index._scan("videos").int8_scan.memory_bytes / 2**20,
    }


def benchmark_retrieval(
    preset: str = "activitynet",
    corpus_sizes: Sequence[int] = (10_000, 100_000),
    faiss_size: int | None = 1_000_000,
    num_queries: int = 50,
    num_sentences: int = 4,
    top_k: int = 10,
    ground_top_ks: Sequence[int] = (1,),
    ground_repeats: int = 1,
    bandwidth: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Search and retrieve latency per corpus size, the bandwidth-bound ratio, and `retrieve_and_ground` latency.

    Args:
        preset (str): model preset (random init); d = ``hidden_size`` sets the bytes per video.
        corpus_sizes (Sequence[int]): videos in the exact-search indexes (with clip features).
        faiss_size (int, optional): videos of the large corpus, searched exactly and with a FAISS ``Flat`` index
            (exact inner product; skipped when ``faiss`` is not installed), at most 20 timed queries; None skips it.
        num_queries (int): timed queries per corpus (median and p95).
        num_sentences (int): sentences per query paragraph.
        top_k (int): videos returned per query.
        ground_top_ks (Sequence[int]): top-k of `retrieve_and_ground` on the smallest exact corpus (each of the k
            videos costs one VTC-LD pass: about 10 s per video for the ``activitynet`` preset on a 2-core CPU).
        ground_repeats (int): timed `retrieve_and_ground` calls per top-k, after one untimed call.
        bandwidth (float, optional): read bandwidth in bytes/s; measured here (1 GiB, best kernel) when None.
        seed (int): seed of the model, the index and the queries.

    Returns:
        dict: ``preset``, ``threads``, ``bandwidth_bytes_per_s``, ``search`` (one row per corpus: ``num_videos``,
        ``backend``, ``median_ms``, ``p95_ms``, ``bytes_scanned``, ``bound_ms``, ``bound_ratio``, ``index_mb``,
        ``embeddings_mb``; int8 rows add ``build_seconds``, ``recall``, ``max_score_difference``, ``median_pool``,
        ``max_pool``, ``int8_mb``, and count the int8 bytes in ``bytes_scanned``), ``retrieve`` (``num_videos``,
        ``median_ms``, ``p95_ms``) and ``retrieve_and_ground`` (``top_k``, ``median_ms``, ``p95_ms``).

    Example:
        >>> report = benchmark_retrieval("tiny", corpus_sizes=(100,), faiss_size=None, num_queries=2,
        ...                              ground_top_ks=(2,), bandwidth=1e10)
        >>> report["search"][0]["num_videos"], report["search"][0]["bytes_scanned"]
        (100, 6400)
    """
    from ..inference.search import retrieve, retrieve_and_ground
    from ..model_builder import build_model_and_processor
    from .hardware import read_bandwidth_by_kernel

    bandwidth = bandwidth or max(read_bandwidth_by_kernel(2**30, torch.device("cpu")).values())
    config = DMRJRGConfig.from_preset(preset)
    rng = np.random.default_rng(seed)
    model, processor = build_model_and_processor(config, [{"sentences": _paragraph(rng, 50)}], seed=seed)
    model.eval()
    queries = _unit_queries(num_queries, config.hidden_size, seed)
    paragraphs = [_paragraph(rng, num_sentences) for _ in range(num_queries)]
    report: dict[str, Any] = {
        "preset": preset,
        "threads": torch.get_num_threads(),
        "num_sentences": num_sentences,
        "top_k": top_k,
        "bandwidth_bytes_per_s": bandwidth,
        "search": [],
        "retrieve": [],
        "retrieve_and_ground": [],
    }
    for position, num_videos in enumerate(sorted(corpus_sizes)):
        index = synthetic_index(config, num_videos, seed)
        row, expected = _search_row(index, queries, top_k, bandwidth)
        report["search"] += [row, _int8_row(index, expected, queries, top_k, bandwidth)]
        logger.info("int8 search over %d videos: %s", num_videos, report["search"][-1])
        latency = latency_ms(
            lambda i, index=index: retrieve(model, processor, paragraphs[i], index, top_k), num_queries
        )
        report["retrieve"].append({"num_videos": num_videos, **latency})
        logger.info("search over %d videos: %s", num_videos, report["search"][-1])
        for k in ground_top_ks if position == 0 else ():
            latency = latency_ms(
                lambda i, k=k, index=index: retrieve_and_ground(model, processor, paragraphs[i], index, k),
                ground_repeats,
            )
            report["retrieve_and_ground"].append({"num_videos": num_videos, "top_k": k, **latency})
            logger.info("retrieve_and_ground top_k=%d: %s", k, latency)
        del index
    if faiss_size:
        few = queries[:_LARGE_CORPUS_QUERIES]
        report["search"] += _large_corpus_rows(config, faiss_size, few, top_k, bandwidth, seed)
    return report


def _large_corpus_rows(config, num_videos: int, queries, top_k: int, bandwidth: float, seed: int) -> list[dict]:
    """FAISS ``Flat`` and exact search over the same ``num_videos`` embeddings (retrieval only, no clip features)."""
    from ..inference.index import VideoCorpusIndex

    exact = synthetic_index(config, num_videos, seed, store_clip_features=False)
    row, expected = _search_row(exact, queries, top_k, bandwidth)
    rows = [row, _int8_row(exact, expected, queries, top_k, bandwidth)]
    logger.info("exact and int8 search over %d videos: %s", num_videos, rows)
    try:
        import faiss  # noqa: F401
    except ImportError:
        logger.warning("faiss is not installed: the %d-video FAISS search is skipped", num_videos)
        return [*rows, {"num_videos": num_videos, "backend": "faiss", "skipped": "faiss is not installed"}]
    index = VideoCorpusIndex(
        exact.video_ids, exact.embeddings, None, exact.durations, model_info=exact.model_info, backend="faiss"
    )  # the same arrays, no copy
    started = time.perf_counter()
    index.search(queries[0], top_k)  # builds the FAISS index
    build_seconds = time.perf_counter() - started
    rows.append({**_search_row(index, queries, top_k, bandwidth)[0], "build_seconds": build_seconds})
    rows[-1]["faiss_index_mb"] = index.embeddings.nbytes / 2**20  # a Flat index keeps its own copy of the vectors
    logger.info("faiss search over %d videos: %s", num_videos, rows[-1])
    return rows
