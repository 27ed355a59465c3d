"""`dmr-jrg bench`: every measurement of the package in one process and one run, against the machine's own limits.

Sections: ``model`` (training step per preset and per Table IV row), ``eval`` (paragraphs/s per protocol),
``retrieval`` (search latency vs the bandwidth bound) and ``data`` (preparation MB/s and peak RSS). The machine's
limits (matmul FLOP/s, read bandwidth) are measured first in every run, so each ratio compares numbers taken under the
same load.
`run_suite` returns one JSON-ready dict; `format_table` renders it for a terminal.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..configuration_dmr_jrg import ABLATION_PRESETS, DMRJRGConfig
from .data import benchmark_data_preparation
from .evaluation import benchmark_evaluation
from .hardware import machine_limits, matmul_flops
from .memory import release_memory
from .model_step import PAPER_BENCHMARK_SIZES, benchmark_model_step, projected_training_seconds
from .retrieval import benchmark_retrieval
from .settings import SECTIONS, SUITE_BATCH_SIZES, BenchSettings

__all__ = ["SCHEMA_VERSION", "check_targets", "run_suite"]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1


def _model_row(settings: BenchSettings, limits: dict, preset: str, ablation: str | None, batch: int) -> dict:
    _, num_sentences, num_words = PAPER_BENCHMARK_SIZES[preset]
    config = DMRJRGConfig.from_preset(preset, ablation=ablation)
    result = benchmark_model_step(
        config,
        batch,
        num_sentences,
        num_words,
        settings.num_steps,
        device=settings.device,
        dtype=settings.dtype,
        seed=settings.seed,
        num_warmup_steps=settings.warmup_steps,
    )
    peak = limits["matmul_flops"].get(settings.dtype)
    achieved = result["achieved_flops_per_s"]
    seconds = projected_training_seconds(result["mean_step_seconds"], batch)
    name = preset if ablation is None else f"{preset}/{ablation}"
    return {
        "name": name,
        "preset": preset,
        "ablation": ablation,
        **result,
        "peak_fraction": None if peak is None or achieved is None else achieved / peak,
        "projected_100_epochs_hours": seconds / 3600,
    }


def _run_model(settings: BenchSettings, limits: dict) -> list[dict]:
    rows = []
    for preset in settings.presets:
        batch = settings.batch_size or SUITE_BATCH_SIZES[preset]
        rows.append(_model_row(settings, limits, preset, None, batch))
        logger.info("model %s: %.2f s/step", preset, rows[-1]["mean_step_seconds"])
    if settings.ablation_preset is not None:
        for ablation in settings.ablations or ABLATION_PRESETS:
            rows.append(_model_row(settings, limits, settings.ablation_preset, ablation, settings.ablation_batch_size))
            logger.info("model %s: %.2f s/step", rows[-1]["name"], rows[-1]["mean_step_seconds"])
    return rows


def _run_eval(settings: BenchSettings, limits: dict) -> dict:
    return benchmark_evaluation(
        settings.eval_paragraphs,
        settings.eval_model,
        batch_size=settings.eval_batch_size,
        device=settings.device,
        seed=settings.seed,
    )


def _run_retrieval(settings: BenchSettings, limits: dict) -> dict:
    cpu_bandwidth = limits["read_bandwidth_bytes_per_s"] if limits["device"] == "cpu" else None
    return benchmark_retrieval(
        settings.retrieval_preset,
        settings.corpus_sizes,
        settings.faiss_size or None,
        settings.num_queries,
        ground_top_ks=settings.ground_top_ks,
        bandwidth=cpu_bandwidth,
        seed=settings.seed,
    )


def _run_data(settings: BenchSettings, limits: dict) -> dict:
    return benchmark_data_preparation(settings.data_mb, seed=settings.seed)


_RUNNERS: dict[str, Callable[[BenchSettings, dict], Any]] = {
    "model": _run_model,
    "eval": _run_eval,
    "retrieval": _run_retrieval,
    "data": _run_data,
}


def _environment(settings: BenchSettings) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": settings.device,
    }


def _choose_threads(settings: BenchSettings) -> dict[str, Any]:
    """Set torch's thread count: the given one, or whichever of 1 and the default runs an fp32 matmul faster."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
        return {"threads": settings.threads, "by": "setting"}
    size = min(settings.matmul_size or 1024, 1024)
    flops = {}
    for threads in sorted({1, torch.get_num_threads()}):  # CPU threads, whatever the device of the run
        torch.set_num_threads(threads)
        flops[str(threads)] = matmul_flops(size, torch.float32, torch.device("cpu"), repeats=3)
    best = max(flops, key=flops.get)
    torch.set_num_threads(int(best))
    logger.info("torch threads: %s (fp32 matmul FLOP/s by thread count: %s)", best, flops)
    return {"threads": int(best), "by": "matmul", "matmul_flops_by_threads": flops}


def check_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The performance targets of the package, each with the measured value, the limit and whether it is met.

    Only targets whose measurements are in ``report`` are listed: the ``charades`` step at >= 30% of the measured
    matmul peak, ``vprg`` evaluation <= 1.2x one plain forward, exact search over 100k videos <= 1.5x the bandwidth
    bound, int8 search over 100k videos <= 1.0x the fp32 bound with a recall of 1, data preparation >= 100 MB/s
    with a peak RSS <= 2 GiB.
    """
    targets = []

    def add(name: str, value: float | None, limit: float, at_least: bool) -> None:
        if value is not None:
            met = value >= limit if at_least else value <= limit
            targets.append({"name": name, "value": value, "limit": limit, "at_least": at_least, "met": met})

    for row in report.get("model", []):
        if row["name"] == "charades":
            add("model step charades: fraction of matmul peak", row["peak_fraction"], 0.30, True)
    if "eval" in report:
        add("evaluation: vprg time / plain forward", report["eval"].get("vprg_over_forward"), 1.2, False)
    for row in report.get("retrieval", {}).get("search", []):
        if row.get("backend") == "exact" and row["num_videos"] == 100_000:
            add("exact search 100k videos: latency / bandwidth bound", row["bound_ratio"], 1.5, False)
        if row.get("backend") == "int8" and row["num_videos"] == 100_000:
            add("int8 search 100k videos: latency / fp32 bandwidth bound", row["bound_ratio"], 1.0, False)
            add("int8 search 100k videos: recall of the exact top-k", row["recall"], 1.0, True)
    if "data" in report:
        add("data preparation: MB/s", report["data"]["mb_per_s"], 100.0, True)
        add("data preparation: peak RSS (MiB)", report["data"]["peak_rss_mib"], 2048.0, False)
    return targets


def run_suite(sections: Sequence[str] = SECTIONS, settings: BenchSettings | None = None) -> dict[str, Any]:
    """Measure the machine's limits, then each requested section, in this process; a JSON-ready report.

    Args:
        sections (Sequence[str]): any of `SECTIONS` (in that order whatever the order given).
        settings (BenchSettings, optional): sizes and switches (defaults: the documented ten-minute CPU suite).

    Returns:
        dict: ``schema_version``, ``sections``, ``settings``, ``environment``, ``limits``, one key per section,
        ``load_average`` (1-minute load before and after each part), ``section_seconds`` and ``targets``.

    Raises:
        ValueError: an unknown section.
    """
    settings = settings or BenchSettings()
    thread_choice = _choose_threads(settings)
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown bench sections {unknown}; choose from {list(SECTIONS)} or 'all'")
    chosen = [section for section in SECTIONS if section in sections]
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "sections": chosen,
        "settings": json.loads(json.dumps(dataclasses.asdict(settings))),  # tuples as JSON lists
        "environment": {**_environment(settings), "thread_choice": thread_choice},
        "load_average": {},
        "section_seconds": {},
    }
    bandwidth_bytes = settings.bandwidth_mb * 2**20 if settings.bandwidth_mb else None
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("limits", lambda: machine_limits(settings.device, settings.matmul_size, bandwidth_bytes)),
        *((name, lambda name=name: _RUNNERS[name](settings, report["limits"])) for name in chosen),
    ]
    for name, run in parts:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        report[name] = run()
        report["section_seconds"][name] = time.perf_counter() - started
        report["load_average"][name] = [load_before, os.getloadavg()[0]]
        release_memory()
        logger.info("bench %s: %.1f s", name, report["section_seconds"][name])
    report["targets"] = check_targets(report)
    return report
