"""Cost of one DMR-JRG training step: parameter count, forward+backward time and peak memory.

The logic behind ``examples/bench_model.py`` (and a ``dmr-jrg bench model`` command): random inputs of the processor's
shapes, so it needs no data and reproduces the paper-sized cost of each preset.
"""

from __future__ import annotations

import logging
import resource
import time
from pathlib import Path
from typing import Any

import torch

from .configuration_dmr_jrg import DMRJRGConfig
from .geometry import valid_cell_mask

__all__ = ["PAPER_BENCHMARK_SIZES", "make_random_inputs", "benchmark_model_step"]

logger = logging.getLogger(__name__)

# (batch, sentences per paragraph, words per sentence) per preset: batch as in the paper (§IV-B), sentences rounded up
# from the benchmark's mean paragraph length (3.63, 2.41, 8.75), typical sentence lengths.
PAPER_BENCHMARK_SIZES: dict[str, tuple[int, int, int]] = {
    "activitynet": (16, 4, 20),
    "charades": (16, 3, 10),
    "tacos": (6, 9, 12),
    "tiny": (4, 3, 5),
}


def make_random_inputs(
    config: DMRJRGConfig, batch_size: int, num_sentences: int, num_words: int, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Processor-shaped random inputs: every sentence real and ``num_words`` long, ``floor(J/3)`` words masked."""
    generator = torch.Generator().manual_seed(seed)
    shape = (batch_size, num_sentences, num_words)
    word_ids = torch.randint(3, config.vocab_size, shape, generator=generator)
    scores = torch.rand(shape, generator=generator)
    num_masked = max(num_words // 3, 1)
    masked_positions = scores <= scores.sort(dim=-1).values[..., num_masked - 1 : num_masked]
    return {
        "word_ids": word_ids,
        "word_mask": torch.ones(shape, dtype=torch.bool),
        "masked_word_ids": word_ids.masked_fill(masked_positions, config.mask_token_id),
        "masked_positions": masked_positions,
        "sentence_mask": torch.ones(batch_size, num_sentences, dtype=torch.bool),
        "clip_features": torch.randn(batch_size, config.num_clips, config.feature_dim, generator=generator),
        "map_mask": torch.from_numpy(valid_cell_mask(config.num_clips, config.map_scale_layers)),
    }


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (``/proc/self/clear_refs``); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_since_reset_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return _peak_rss_mib()


def benchmark_model_step(
    config: DMRJRGConfig,
    batch_size: int,
    num_sentences: int,
    num_words: int,
    num_steps: int,
    *,
    device: str | torch.device | None = None,
    seed: int = 0,
    num_warmup_steps: int = 1,
) -> dict[str, Any]:
    """Time ``num_steps`` training-mode forward+backward passes of the full loss, after untimed warm-up steps.

    Args:
        config (DMRJRGConfig): the model to build (e.g. ``DMRJRGConfig.from_preset("activitynet")``).
        batch_size, num_sentences, num_words (int): B, M, J of the random batch.
        num_steps (int): timed steps.
        device (str, optional): ``"cpu"`` (default) or ``"cuda"``.
        seed (int): seed of the weights and the inputs.
        num_warmup_steps (int): untimed steps first (allocator and kernel warm-up).

    Returns:
        dict: sizes, ``num_parameters``, ``step_seconds`` (each timed step), ``mean_step_seconds``, and peak memory:
        ``peak_rss_increase_mib`` (process resident memory above the level before the model was built) on CPU,
        ``peak_device_memory_mib`` (``torch.cuda.max_memory_allocated``) on a GPU.

    Example:
        >>> result = benchmark_model_step(DMRJRGConfig.from_preset("tiny"), 2, 3, 5, num_steps=1)
        >>> result["num_parameters"] > 0
        True
    """
    from .modeling_dmr_jrg import DMRJRGModel

    device = torch.device(device or "cpu")
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    rss_before = _rss_mib()
    peak_was_reset = _reset_peak_rss()
    torch.manual_seed(seed)
    model = DMRJRGModel(config).to(device).train()
    inputs = {
        k: v.to(device) for k, v in make_random_inputs(config, batch_size, num_sentences, num_words, seed).items()
    }
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    step_seconds = []
    for step in range(num_warmup_steps + num_steps):
        model.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        model(**inputs).loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step >= num_warmup_steps:
            step_seconds.append(time.perf_counter() - start)
        logger.info("step %d: %.3f s", step, time.perf_counter() - start)
    peak = _peak_since_reset_mib() if peak_was_reset else _peak_rss_mib()
    result = {
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "torch_threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "num_sentences": num_sentences,
        "num_words": num_words,
        "num_clips": config.num_clips,
        "feature_dim": config.feature_dim,
        "hidden_size": config.hidden_size,
        "vocab_size": config.vocab_size,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "num_trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "step_seconds": step_seconds,
        "mean_step_seconds": sum(step_seconds) / len(step_seconds),
        "peak_rss_increase_mib": peak - rss_before,
    }
    if device.type == "cuda":
        result["peak_device_memory_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result
