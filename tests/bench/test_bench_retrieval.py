"""Retrieval benchmark: latency rows per corpus, exact index sizes and the bandwidth bound (tiny preset)."""

from __future__ import annotations

import numpy as np
import pytest

from dmr_jrg_hf.bench import retrieval
from dmr_jrg_hf.bench.retrieval import benchmark_retrieval, latency_ms, synthetic_index
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not


def test_benchmark_retrieval_reports_every_size():
    report = benchmark_retrieval(
        "tiny", corpus_sizes=(200, 50), faiss_size=300, num_queries=3, ground_top_ks=(2,), bandwidth=1e9
    )
    config = DMRJRGConfig.from_preset("tiny")
    assert [(row["num_videos"], row["backend"]) for row in report["search"]] == [
        (50, "exact"),
        (50, "int8"),
        (200, "exact"),
        (200, "int8"),
        (300, "exact"),
        (300, "int8"),
        (300, "faiss"),
    ]
    for row in report["search"]:
        n = row["num_videos"]
        clips = config.num_clips * config.feature_dim if n < 300 else 0
        assert row["index_mb"] * 2**20 == n * (config.hidden_size + clips) * 4 + n * 8, f"{n}: arrays' bytes"
        scanned = n * (config.hidden_size + 4) if row["backend"] == "int8" else n * config.hidden_size * 4
        assert row["bytes_scanned"] == scanned, f"{n} {row['backend']}: bytes per video"
        fp32_bytes = n * config.hidden_size * 4
        assert row["bound_ms"] == pytest.approx(1000 * fp32_bytes / 1e9), f"{n}: fp32 bytes / bandwidth"
        assert row["bound_ratio"] == pytest.approx(row["median_ms"] / row["bound_ms"])
        assert 0 < row["median_ms"] <= row["p95_ms"]
    for row in report["search"][1::2][:3]:
        assert row["backend"] == "int8" and row["recall"] == 1.0, f"{row['num_videos']}: the exact top-k"
        assert row["max_score_difference"] < 1e-5 and row["max_pool"] <= row["num_videos"]
    assert [row["num_videos"] for row in report["retrieve"]] == [50, 200]
    (ground,) = report["retrieve_and_ground"]
    assert ground["top_k"] == 2 and ground["num_videos"] == 50 and ground["median_ms"] > 0


def test_latency_percentiles(monkeypatch):
    ticks = [t for i in range(1, 21) for t in (0.0, i / 1000)]  # calls of 1, 2, ..., 20 ms
    monkeypatch.setattr(retrieval.time, "perf_counter", iter(ticks).__next__)
    calls = []
    report = latency_ms(calls.append, 20)
    assert calls == [0, *range(20)], "one untimed call first"
    assert report == pytest.approx({"median_ms": 10.5, "p95_ms": 19.05})


def test_synthetic_index_has_unit_embeddings_and_lazy_zero_clips():
    index = synthetic_index(DMRJRGConfig.from_preset("tiny"), 30)
    assert len(index) == 30 and np.allclose((index.embeddings**2).sum(1), 1.0, atol=1e-5)
    assert index.clip_features.shape == (30, 8, 12) and not index.clip_features.any()
    assert synthetic_index(DMRJRGConfig.from_preset("tiny"), 5, store_clip_features=False).clip_features is None
