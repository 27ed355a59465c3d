"""Cost of one DMR-JRG training step: FLOPs, forward+backward time, achieved FLOP/s and peak memory per preset.

Random inputs of the processor's shapes (no data needed) reproduce the paper-sized cost of each preset and of each row
of Table IV (`ABLATION_PRESETS`). FLOPs are counted during the first warm-up step: ``torch.utils.flop_counter.
FlopCounterMode`` for matmuls, convolutions, attention and their backward, plus the LSTM's gate products, which that
counter does not see (one fused kernel), from the shapes. Element-wise work is not counted, so the achieved FLOP/s is a
lower bound of the work done.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import nullcontext
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..configuration_dmr_jrg import DMRJRGConfig
from ..geometry import valid_cell_mask
from .hardware import DTYPES, device_name, synchronize
from .memory import PeakRSS, release_memory
from .operator_count import OperatorCounter

__all__ = [
    "PAPER_BENCHMARK_SIZES",
    "PAPER_TRAIN_PARAGRAPHS",
    "benchmark_model_step",
    "make_random_inputs",
    "projected_training_seconds",
]

logger = logging.getLogger(__name__)

# (batch, sentences per paragraph, words per sentence) per preset: batch as in the paper (§IV-B), sentences rounded up
# from the benchmark's mean paragraph length (3.63, 2.41, 8.75), typical sentence lengths.
PAPER_BENCHMARK_SIZES: dict[str, tuple[int, int, int]] = {
    "activitynet": (16, 4, 20),
    "charades": (16, 3, 10),
    "tacos": (6, 9, 12),
    "tiny": (4, 3, 5),
}
PAPER_TRAIN_PARAGRAPHS = 10_009  # ActivityNet Captions train split (§IV-A)


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


def projected_training_seconds(
    step_seconds: float, batch_size: int, num_paragraphs: int = PAPER_TRAIN_PARAGRAPHS, num_epochs: int = 100
) -> float:
    """Training time from the step time alone: ``num_epochs * ceil(num_paragraphs / batch_size) * step_seconds``.

    Data loading, the optimizer update and validation are not included.
    """
    return num_epochs * math.ceil(num_paragraphs / batch_size) * step_seconds


class _RecurrentFlops:
    """Counts the matrix FLOPs of every ``nn.LSTM`` call in a block, which ``FlopCounterMode`` does not see (the
    LSTM runs as one fused kernel on CPU and GPU alike).

    Per token, direction and layer the gates cost ``2 * 4H * (input + H)`` FLOPs; the backward pass is counted as
    twice the forward (input and weight gradients), as ``FlopCounterMode`` counts a matrix product's. The gate
    non-linearities are not counted, as no element-wise work is.
    """

    def __init__(self, model: torch.nn.Module):
        self.modules = [module for module in model.modules() if isinstance(module, torch.nn.LSTM)]
        self.forward_flops = 0

    def _hook(self, module: torch.nn.LSTM, args: tuple, output: Any) -> None:
        inputs = args[0]
        data = inputs.data if isinstance(inputs, torch.nn.utils.rnn.PackedSequence) else inputs
        tokens = data.shape[0] if isinstance(inputs, torch.nn.utils.rnn.PackedSequence) else data.shape[:-1].numel()
        directions = 2 if module.bidirectional else 1
        hidden = module.hidden_size
        for layer in range(module.num_layers):
            width = module.input_size if layer == 0 else directions * hidden
            self.forward_flops += directions * tokens * 2 * 4 * hidden * (width + hidden)

    def __enter__(self) -> _RecurrentFlops:
        self.handles = [module.register_forward_hook(self._hook) for module in self.modules]
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self.handles:
            handle.remove()

    @property
    def training_flops(self) -> int:
        """Forward plus backward (twice the forward)."""
        return 3 * self.forward_flops


def _step(model, inputs: dict[str, torch.Tensor], device: torch.device, dtype: str) -> float:
    model.zero_grad(set_to_none=True)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if dtype == "bf16" else nullcontext()
    synchronize(device)
    start = time.perf_counter()
    with autocast:
        loss = model(**inputs).loss
    loss.backward()
    synchronize(device)
    return time.perf_counter() - start


def benchmark_model_step(
    config: DMRJRGConfig,
    batch_size: int,
    num_sentences: int,
    num_words: int,
    num_steps: int,
    *,
    device: str | torch.device | None = None,
    dtype: str = "fp32",
    seed: int = 0,
    num_warmup_steps: int = 1,
    count_flops: bool = True,
) -> dict[str, Any]:
    """Time ``num_steps`` training-mode forward+backward passes of the full loss, after untimed warm-up steps.

    Args:
        config (DMRJRGConfig): the model to build (e.g. ``DMRJRGConfig.from_preset("activitynet")``).
        batch_size, num_sentences, num_words (int): B, M, J of the random batch.
        num_steps (int): timed steps.
        device (str, optional): ``"cpu"`` (default) or ``"cuda"``.
        dtype (str): ``"fp32"`` or ``"bf16"`` (``torch.autocast`` around the forward, as the trainer's bf16 mode).
        seed (int): seed of the weights and the inputs.
        num_warmup_steps (int): untimed steps first (allocator and kernel warm-up); the first one counts the FLOPs
            and the dispatched operators.
        count_flops (bool): count FLOPs and operators (needs ``num_warmup_steps >= 1``).

    Returns:
        dict: sizes, ``num_parameters``, ``step_seconds`` (each timed step), ``mean_step_seconds``, ``flops_per_step``
        (None when not counted), ``achieved_flops_per_s``, with counting ``operators_per_step`` (every ATen operator
        dispatched by forward and backward, `OperatorCounter`), ``kernels_per_step`` (less views) and
        ``top_operators``, and peak memory: ``peak_rss_mib`` and
        ``peak_rss_increase_mib`` (process resident memory, and its rise above the level before the model was built)
        on a CPU, ``peak_device_memory_mib`` (``torch.cuda.max_memory_allocated``) on a GPU.

    Raises:
        ValueError: ``num_steps < 1``, an unknown ``dtype``, or FLOP counting without a warm-up step.

    Example:
        >>> result = benchmark_model_step(DMRJRGConfig.from_preset("tiny"), 2, 3, 5, num_steps=1)
        >>> result["num_parameters"] > 0 and result["flops_per_step"] > 0
        True
    """
    from ..modeling_dmr_jrg import DMRJRGModel

    device = torch.device(device or "cpu")
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    if count_flops and num_warmup_steps < 1:
        raise ValueError("count_flops needs num_warmup_steps >= 1 (the FLOPs are counted on the first warm-up step)")
    with PeakRSS() as memory:
        torch.manual_seed(seed)
        model = DMRJRGModel(config).to(device).train()
        inputs = {
            k: v.to(device) for k, v in make_random_inputs(config, batch_size, num_sentences, num_words, seed).items()
        }
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        flops, step_seconds, operator_counts = None, [], {}
        for step in range(num_warmup_steps + num_steps):
            counting = count_flops and step == 0
            counter = FlopCounterMode(display=False) if counting else nullcontext()
            recurrent = _RecurrentFlops(model) if counting else nullcontext()
            operators = OperatorCounter() if counting else nullcontext()
            with counter, recurrent, operators:
                seconds = _step(model, inputs, device, dtype)
            if counting:
                flops = counter.get_total_flops() + recurrent.training_flops
                operator_counts = {"operators_per_step": operators.total, "kernels_per_step": operators.kernels}
                operator_counts["top_operators"] = dict(operators.most_common(10))
            if step >= num_warmup_steps:
                step_seconds.append(seconds)
            logger.info("step %d: %.3f s", step, seconds)
    mean_seconds = sum(step_seconds) / len(step_seconds)
    result = {
        "device": device_name(device),
        "dtype": dtype,
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
        "mean_step_seconds": mean_seconds,
        "flops_per_step": flops,
        "achieved_flops_per_s": None if flops is None else flops / mean_seconds,
        **operator_counts,
        "peak_rss_mib": memory.peak_mib,
        "peak_rss_increase_mib": memory.increase_mib,
    }
    if device.type == "cuda":
        result["peak_device_memory_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    del model, inputs
    release_memory()
    return result
