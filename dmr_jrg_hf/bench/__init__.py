"""Performance measurements: the machine's limits and the model step, evaluation, retrieval and data-preparation
paths measured against them (`dmr-jrg bench`). One module per measurement; `suite` runs them together.

The settings are plain Python; the measurement code (torch, the model, the data tools) loads on first use of
`run_suite`, `check_targets` or `format_table`.
"""

from __future__ import annotations

import importlib
from typing import Any

from .settings import SECTIONS, SUITE_BATCH_SIZES, BenchSettings

__all__ = ["SECTIONS", "SUITE_BATCH_SIZES", "BenchSettings", "check_targets", "format_table", "run_suite"]

_LAZY = {"run_suite": "suite", "check_targets": "suite", "format_table": "table"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
