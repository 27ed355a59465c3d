"""Plain-text rendering of a `run_suite` report: one aligned table per section, then the targets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["format_table"]


def _grid(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[str(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))]
    for row in cells:
        lines.append(
            "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
    return lines


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _limits(report: dict[str, Any]) -> list[str]:
    limits, environment = report["limits"], report["environment"]
    flops = ", ".join(f"{name} {_number(v and v / 1e9, 1)} GFLOP/s" for name, v in limits["matmul_flops"].items())
    return [
        f"machine: {limits['device']}, {limits['threads']} threads ({environment['cpu_count']} CPUs; chosen by "
        f"{environment['thread_choice']['by']}), torch {environment['torch']}",
        f"limits: matmul {flops}; read bandwidth {limits['read_bandwidth_bytes_per_s'] / 1e9:.2f} GB/s",
    ]


def _model(rows: list[dict[str, Any]]) -> list[str]:
    headers = ["model step", "B", "M", "J", "K", "params", "GFLOP", "ops", "s/step", "GFLOP/s", "peak", "mem MiB"]
    headers.append("100 ep h")
    table = [
        [
            row["name"],
            row["batch_size"],
            row["num_sentences"],
            row["num_words"],
            row["num_clips"],
            f"{row['num_parameters'] / 1e6:.1f}M",
            _number(row["flops_per_step"] and row["flops_per_step"] / 1e9, 1),
            _number(row.get("operators_per_step"), 0),
            _number(row["mean_step_seconds"], 3),
            _number(row["achieved_flops_per_s"] and row["achieved_flops_per_s"] / 1e9, 1),
            _percent(row["peak_fraction"]),
            _number(row.get("peak_device_memory_mib", row["peak_rss_increase_mib"]), 0),
            _number(row["projected_100_epochs_hours"], 1),
        ]
        for row in rows
    ]
    dtype = rows[0]["dtype"] if rows else ""
    memory = "peak device memory" if rows and "peak_device_memory_mib" in rows[0] else "peak RSS increase"
    return [
        f"model step ({dtype}; ops = ATen operators dispatched by forward + backward; mem = {memory}; 100 ep h = "
        "100 epochs over 10,009 paragraphs)",
        *_grid(headers, table),
    ]


def _evaluation(report: dict[str, Any]) -> list[str]:
    rows = [
        [name, _number(t["seconds"]), _number(t["paragraphs_per_s"], 1)] for name, t in report["protocols"].items()
    ]
    rows.append(
        [
            "plain forward",
            _number(report["plain_forward_seconds"]),
            _number(report["num_paragraphs"] / report["plain_forward_seconds"], 1),
        ]
    )
    ratio = report.get("vprg_over_forward")
    return [
        f"evaluation ({report['model']} model, {report['num_paragraphs']} paragraphs, batch {report['batch_size']}); "
        f"vprg / plain forward = {_number(ratio)}",
        *_grid(["protocol", "s", "paragraphs/s"], rows),
    ]


def _retrieval(report: dict[str, Any]) -> list[str]:
    search = [
        [
            f"{row['num_videos']:,}",
            row["backend"],
            _number(row.get("median_ms")),
            _number(row.get("p95_ms")),
            _number(row.get("bound_ms")),
            _number(row.get("bound_ratio")),
            _number(row.get("index_mb"), 1),
            _number(row.get("recall"), 3),
            _number(row.get("median_pool"), 0),
        ]
        for row in report["search"]
    ]
    lines = [
        f"retrieval ({report['preset']} model, top-{report['top_k']}, bound = embedding bytes / "
        f"{report['bandwidth_bytes_per_s'] / 1e9:.2f} GB/s)",
        *_grid(
            ["search videos", "backend", "median ms", "p95 ms", "bound ms", "ratio", "index MiB", "recall", "pool"],
            search,
        ),
    ]
    calls = [
        [f"retrieve {r['num_videos']:,}", "-", _number(r["median_ms"]), _number(r["p95_ms"])]
        for r in report["retrieve"]
    ]
    calls += [
        [f"retrieve_and_ground {r['num_videos']:,}", r["top_k"], _number(r["median_ms"]), _number(r["p95_ms"])]
        for r in report["retrieve_and_ground"]
    ]
    return [*lines, *_grid(["call", "top-k", "median ms", "p95 ms"], calls)] if calls else lines


def _data(report: dict[str, Any]) -> list[str]:
    return [
        f"data preparation: {report['feature_mb']:,.0f} MiB of features, {report['num_videos']:,} videos in "
        f"{report['prepare_seconds']:.1f} s = {report['mb_per_s']:.0f} MiB/s; peak RSS {report['peak_rss_mib']:,.0f} "
        f"MiB (+{report['peak_rss_increase_mib']:,.0f} during the export)"
    ]


def format_table(report: dict[str, Any]) -> str:
    """Render a `run_suite` report as aligned plain-text tables (sections in the report's order).

    Example:
        >>> report = {"limits": {"device": "cpu", "threads": 2, "matmul_flops": {"fp32": 6e10, "bf16": None},
        ...           "read_bandwidth_bytes_per_s": 7e9}, "environment": {"cpu_count": 2, "torch": "2.13",
        ...           "thread_choice": {"by": "setting"}},
        ...           "sections": [], "load_average": {}, "section_seconds": {"limits": 3.0}, "targets": []}
        >>> print(format_table(report).splitlines()[1])
        limits: matmul fp32 60.0 GFLOP/s, bf16 - GFLOP/s; read bandwidth 7.00 GB/s
    """
    blocks = [_limits(report)]
    renderers = {"model": _model, "eval": _evaluation, "retrieval": _retrieval, "data": _data}
    blocks += [renderers[section](report[section]) for section in report["sections"]]
    if report["targets"]:
        rows = [
            [
                t["name"],
                _number(t["value"]),
                ("≥ " if t["at_least"] else "≤ ") + _number(t["limit"]),
                "yes" if t["met"] else "NO",
            ]
            for t in report["targets"]
        ]
        blocks.append(_grid(["target", "measured", "limit", "met"], rows))
    seconds = ", ".join(f"{name} {value:.0f} s" for name, value in report["section_seconds"].items())
    loads = ", ".join(f"{name} {a:.1f}->{b:.1f}" for name, (a, b) in report["load_average"].items())
    blocks.append(
        [f"time: {seconds}; total {sum(report['section_seconds'].values()):.0f} s", f"load average: {loads}"]
    )
    return "\n\n".join("\n".join(block) for block in blocks)
