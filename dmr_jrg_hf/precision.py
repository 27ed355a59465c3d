"""Reduced precision on the running device: the autocast state, and whether the CPU has bf16 kernels at all.

CPUs differ: oneDNN runs bf16 natively or by emulation on AVX-512 (and on AVX2 with AVX-NE-CONVERT), but on other
CPUs (AMD EPYC of the Zen 2/3 families, any x86 CPU under ``ONEDNN_MAX_CPU_ISA=AVX2``) it has no bf16 LSTM at all
(``torch.lstm`` under bf16 autocast raises "could not create a primitive descriptor") and bf16 matrix products run
through a slow reference path. `cpu_has_bf16_kernels` probes that once per process by running the one op the model
needs that has no fallback, so it follows whatever limit oneDNN applies (CPU family or environment variable).
"""

from __future__ import annotations

import contextlib
import functools
import logging

import torch

__all__ = ["autocast_dtype", "autocast_off", "bf16_autocast_without_kernels", "cpu_has_bf16_kernels"]

logger = logging.getLogger(__name__)


def autocast_dtype(tensor: torch.Tensor) -> torch.dtype:
    """The dtype autocast would give a matrix product on ``tensor``'s device (its own dtype when autocast is off)."""
    device_type = tensor.device.type
    if torch.amp.is_autocast_available(device_type) and torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return tensor.dtype


def autocast_off(device_type: str) -> contextlib.AbstractContextManager:
    """A context with autocast off (nothing to switch off on devices without autocast, such as ``meta``)."""
    if torch.amp.is_autocast_available(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


@functools.cache
def cpu_has_bf16_kernels() -> bool:
    """Whether this CPU runs bf16 through oneDNN's kernels (probed once: a one-step LSTM under bf16 autocast).

    Returns False, with one logged message, where oneDNN has no bf16 primitive for the running CPU; the model then
    computes its Bi-LSTM in float32 inside a bf16 autocast region, and ``dmr-jrg bench`` skips the bf16 matmul probe.
    """
    lstm = torch.nn.LSTM(2, 2)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(1, 1, 2))
    except RuntimeError as error:
        logger.info(
            "this CPU has no oneDNN bf16 kernels (%s); under bf16 autocast the Bi-LSTM runs in float32",
            str(error).split(".")[0],
        )
        return False
    return True


def bf16_autocast_without_kernels(tensor: torch.Tensor) -> bool:
    """Whether bf16 autocast is on for ``tensor``, a CPU tensor, on a CPU without oneDNN bf16 kernels.

    Where it is, an op with no fallback kernel (the LSTM) must run with `autocast_off` on float32 inputs.
    """
    return tensor.device.type == "cpu" and autocast_dtype(tensor) == torch.bfloat16 and not cpu_has_bf16_kernels()
