"""Evaluation throughput: paragraphs per second of `evaluate_model` for each protocol on a synthetic test set.

The reference is one plain forward over the same test set: the processor and ``model(**batch, return_loss=False)``
(score maps and retrieval embeddings of every paragraph in its own video) in batches, without gradients. ``vprg``
needs the same work (every paragraph grounded in its ground-truth video, plus the video and paragraph embeddings), so
its time over the plain forward's shows the evaluation's overhead. ``vcmr`` grounds every paragraph in its top-N
retrieved videos, so it costs about N plain forwards by design.

The model is randomly initialised: the cost does not depend on the weights (NMS works on any score map).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..configuration_dmr_jrg import DMRJRGConfig
from ..metrics import PROTOCOLS

__all__ = ["EVAL_MODELS", "benchmark_evaluation", "plain_forward_seconds"]

logger = logging.getLogger(__name__)

EVAL_MODELS = ("synthetic", "tiny", "charades", "tacos", "activitynet")


def _model_config(model_name: str, feature_dim: int) -> DMRJRGConfig:
    if model_name not in EVAL_MODELS:
        raise ValueError(f"eval model must be one of {EVAL_MODELS}, got {model_name!r}")
    return DMRJRGConfig.from_preset(model_name, feature_dim=feature_dim)


@torch.no_grad()
def plain_forward_seconds(
    model, processor, rows: Sequence[Mapping[str, Any]], features: Mapping[str, np.ndarray], batch_size: int
) -> float:
    """Wall-clock time of the processor + one inference forward of every row with its own video, in batches."""
    device = next(model.parameters()).device
    model.eval()
    start = time.perf_counter()
    for first in range(0, len(rows), batch_size):
        chunk = rows[first : first + batch_size]
        batch = processor(
            text=[list(row["sentences"]) for row in chunk],
            video_features=[features[row["video_id"]] for row in chunk],
            durations=[float(row["duration"]) for row in chunk],
            video_ids=[row["video_id"] for row in chunk],
        ).to(device)
        model(**batch, return_loss=False)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def benchmark_evaluation(
    num_paragraphs: int = 200,
    model_name: str = "synthetic",
    protocols: Sequence[str] = PROTOCOLS,
    batch_size: int = 64,
    feature_dim: int = 64,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """Paragraphs per second of each evaluation protocol and the ``vprg`` / plain-forward time ratio.

    Args:
        num_paragraphs (int): size of the synthetic test split (one paragraph per video).
        model_name (str): a preset name (``"synthetic"``: the model `dmr-jrg demo` trains), randomly initialised.
        protocols (Sequence[str]): protocols timed, each in its own `evaluate_model` call.
        batch_size (int): paragraphs or videos per forward (as `evaluate_model`).
        feature_dim (int): D of the generated features.
        device (str or torch.device): where the model runs.
        seed (int): seed of the data, the vocabulary and the weights.

    Returns:
        dict: ``model``, sizes, ``plain_forward_seconds``, ``protocols`` (``{name: {"seconds",
        "paragraphs_per_s"}}``) and ``vprg_over_forward`` (when ``vprg`` is timed).

    Example:
        >>> report = benchmark_evaluation(num_paragraphs=4, model_name="tiny", protocols=["vprg"], feature_dim=12)
        >>> report["protocols"]["vprg"]["paragraphs_per_s"] > 0
        True
    """
    from ..data.synthetic import generate_synthetic_benchmark
    from ..model_builder import build_model_and_processor
    from ..training import evaluate_model

    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        raise ValueError(f"unknown protocols {unknown}; choose from {list(PROTOCOLS)}")
    config = _model_config(model_name, feature_dim)
    benchmark = generate_synthetic_benchmark(
        num_train_videos=1, num_validation_videos=1, num_test_videos=num_paragraphs, feature_dim=feature_dim, seed=seed
    )
    rows, features = benchmark.paragraphs["test"], benchmark.features
    model, processor = build_model_and_processor(config, rows, seed=seed)
    model = model.to(device).eval()
    plain_forward_seconds(model, processor, rows[:batch_size], features, batch_size)  # warm-up
    forward = plain_forward_seconds(model, processor, rows, features, batch_size)
    logger.info("plain forward over %d paragraphs: %.2f s", len(rows), forward)
    timings = {}
    for protocol in protocols:
        start = time.perf_counter()
        evaluate_model(
            model, processor, rows, features, protocols=[protocol], batch_size=batch_size, show_progress=False
        )
        seconds = time.perf_counter() - start
        timings[protocol] = {"seconds": seconds, "paragraphs_per_s": len(rows) / seconds}
        logger.info("evaluate %s: %.2f s", protocol, seconds)
    report = {
        "model": model_name,
        "num_paragraphs": len(rows),
        "num_sentences": sum(len(row["sentences"]) for row in rows),
        "batch_size": batch_size,
        "num_clips": config.num_clips,
        "hidden_size": config.hidden_size,
        "plain_forward_seconds": forward,
        "protocols": timings,
    }
    if "vprg" in timings:
        report["vprg_over_forward"] = timings["vprg"]["seconds"] / forward
    return report
