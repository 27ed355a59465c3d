"""Process memory of a measurement: resident set size now, its peak since a reset, and giving freed memory back.

Linux only for the exact numbers (``/proc/self/status``, ``/proc/self/clear_refs``); elsewhere the peak falls back to
``ru_maxrss``, the peak of the whole process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import resource
from pathlib import Path

__all__ = ["current_rss_mib", "peak_rss_mib", "reset_peak_rss", "release_memory", "PeakRSS"]

_STATUS = Path("/proc/self/status")


def _status_mib(field: str) -> float | None:
    try:
        lines = _STATUS.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024  # the kernel reports KiB
    return None


def current_rss_mib() -> float:
    """Resident memory of this process now (MiB)."""
    value = _status_mib("VmRSS")
    return value if value is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mib() -> float:
    """Peak resident memory since the last `reset_peak_rss` (or since the process started), in MiB.

    Linux raises ``VmHWM`` only at some events (unmapping, exit), so it can lag a ``VmRSS`` that just grew: the peak
    is the larger of the two.
    """
    value = _status_mib("VmHWM")
    if value is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return max(value, current_rss_mib())


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter to the current RSS (``clear_refs`` 5); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (``malloc_trim``), so a later peak is its own."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if name:
        trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
        if trim is not None:
            trim(0)


class PeakRSS:
    """Context manager: the process's peak resident memory inside the block, absolute and above the start.

    Attributes (set on exit):
        start_mib (float): RSS when the block started.
        peak_mib (float): peak RSS inside the block (the whole process's peak where the counter cannot be reset).
        increase_mib (float): ``peak_mib - start_mib``.
        exact (bool): whether the peak counter was reset at the start (Linux).

    Example:
        >>> with PeakRSS() as memory:
        ...     block = bytearray(50 * 2**20)
        >>> memory.peak_mib >= memory.start_mib
        True
    """

    def __enter__(self) -> PeakRSS:
        release_memory()
        self.exact = reset_peak_rss()
        self.start_mib = current_rss_mib()
        self.peak_mib = self.increase_mib = 0.0
        return self

    def __exit__(self, *exc_info) -> None:
        self.peak_mib = peak_rss_mib()
        self.increase_mib = self.peak_mib - self.start_mib
