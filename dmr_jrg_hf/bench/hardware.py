"""The machine's own limits, measured in the same process as the workloads they are compared with.

- matmul FLOP/s: best of a few large square ``torch.matmul`` calls, per dtype (``float32``; ``bfloat16`` where the
  device has bf16 kernels, `precision.cpu_has_bf16_kernels` on a CPU, so the probe never times a reference loop);
- memory read bandwidth: best of a few full reads (``torch.sum``, matrix-vector products) of a tensor far larger than
  the caches, bytes read per second, best kernel.

Both use every thread torch is allowed (``torch.get_num_threads()`` on a CPU), as the workloads do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import torch

from ..precision import cpu_has_bf16_kernels

__all__ = [
    "DTYPES",
    "best_seconds",
    "device_name",
    "machine_limits",
    "matmul_flops",
    "read_bandwidth_by_kernel",
    "synchronize",
]

logger = logging.getLogger(__name__)

DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16}


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on a CPU), so that a wall-clock time covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    """``"cpu"`` or the accelerator's product name."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)


def best_seconds(function: Callable[[], Any], repeats: int, device: torch.device) -> float:
    """Shortest wall-clock time of ``repeats`` calls after one untimed call (device work included)."""
    function()
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def _bf16_supported(device: torch.device) -> bool:
    """bf16 kernels on the device: a CPU without them runs bf16 products through a slow reference path."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16_kernels()


def matmul_flops(size: int, dtype: torch.dtype, device: torch.device, repeats: int = 5) -> float:
    """FLOP/s of ``torch.matmul`` on two ``(size, size)`` matrices: ``2 * size**3`` FLOPs over the best time.

    Args:
        size (int): matrix side (2048 fills a CPU's caches many times over; 8192 keeps a large GPU busy).
        dtype (torch.dtype): ``torch.float32`` or ``torch.bfloat16``.
        device (torch.device): where to run.
        repeats (int): timed calls; the best one counts.
    """
    generator = torch.Generator(device=device).manual_seed(0)
    left = torch.randn(size, size, generator=generator, device=device).to(dtype)
    right = torch.randn(size, size, generator=generator, device=device).to(dtype)
    seconds = best_seconds(lambda: torch.matmul(left, right), repeats, device)
    return 2.0 * size**3 / seconds


def read_bandwidth_by_kernel(num_bytes: int, device: torch.device, repeats: int = 5) -> dict[str, float]:
    """Bytes read per second by full reads of a ``num_bytes`` float32 tensor, per kernel (best of ``repeats``).

    Kernels: ``sum`` (``torch.sum``), ``gemv`` (``torch.mv`` of the tensor seen as ``(rows, 1024)`` with a ones
    vector) and, on a CPU, ``numpy_gemv`` (the same product through NumPy's BLAS, which the exact corpus search uses).
    Each reaches a different fraction of the memory system; their maximum is the bound a scan can be held to.

    Args:
        num_bytes (int): size of the tensor; pick it far above the last-level cache (the default suite uses 1 GiB on
            a CPU, 4 GiB on a GPU).
        device (torch.device): where the tensor lives.
        repeats (int): timed reads per kernel; the best one counts.
    """
    values = torch.ones(num_bytes // 4096, 1024, dtype=torch.float32, device=device)
    ones = torch.ones(1024, dtype=torch.float32, device=device)
    kernels = {"sum": values.sum, "gemv": lambda: torch.mv(values, ones)}
    if device.type == "cpu":
        matrix, vector = values.numpy(), ones.numpy()
        kernels["numpy_gemv"] = lambda: matrix @ vector
    return {name: values.numel() * 4 / best_seconds(kernel, repeats, device) for name, kernel in kernels.items()}


def machine_limits(
    device: str | torch.device = "cpu",
    matmul_size: int | None = None,
    bandwidth_bytes: int | None = None,
    repeats: int = 5,
) -> dict[str, Any]:
    """Measured peak matmul FLOP/s per dtype and read bandwidth of ``device``.

    Args:
        device (str or torch.device): ``"cpu"`` or ``"cuda"``.
        matmul_size (int, optional): default 2048 on a CPU, 8192 on a GPU.
        bandwidth_bytes (int, optional): default 1 GiB on a CPU, 4 GiB on a GPU.
        repeats (int): timed calls per measurement.

    Returns:
        dict: ``device``, ``threads``, ``matmul_size``, ``matmul_flops`` (``{"fp32": float, "bf16": float or
        None}``), ``bandwidth_bytes``, ``read_bandwidth_by_kernel`` and ``read_bandwidth_bytes_per_s`` (the best
        kernel).

    Example:
        >>> limits = machine_limits("cpu", matmul_size=64, bandwidth_bytes=2**20, repeats=1)
        >>> limits["matmul_flops"]["fp32"] > 0 and limits["read_bandwidth_bytes_per_s"] > 0
        True
    """
    device = torch.device(device)
    matmul_size = matmul_size or (8192 if device.type == "cuda" else 2048)
    bandwidth_bytes = bandwidth_bytes or (4 if device.type == "cuda" else 1) * 2**30
    flops = {}
    for name, dtype in DTYPES.items():
        supported = dtype == torch.float32 or _bf16_supported(device)
        flops[name] = matmul_flops(matmul_size, dtype, device, repeats) if supported else None
        logger.info("matmul %s: %s GFLOP/s", name, None if flops[name] is None else f"{flops[name] / 1e9:.1f}")
    by_kernel = read_bandwidth_by_kernel(bandwidth_bytes, device, repeats)
    bandwidth = max(by_kernel.values())
    logger.info("read bandwidth: %.2f GB/s (%s)", bandwidth / 1e9, by_kernel)
    return {
        "device": device_name(device),
        "threads": torch.get_num_threads(),
        "matmul_size": matmul_size,
        "matmul_flops": flops,
        "bandwidth_bytes": bandwidth_bytes,
        "read_bandwidth_bytes_per_s": bandwidth,
        "read_bandwidth_by_kernel": by_kernel,
    }
