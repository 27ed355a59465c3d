"""benchmark_retrieval reports latency and exact index sizes (tiny preset, small corpora)."""

from __future__ import annotations

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.inference import benchmark_retrieval
from dmr_jrg_hf.inference.bench import synthetic_index


def test_benchmark_retrieval_reports_every_size():
    report = benchmark_retrieval("tiny", corpus_sizes=(50, 200), num_queries=3, ground_top_ks=(2,), num_sentences=2)
    assert [row["num_videos"] for row in report["retrieve"]] == [50, 200]
    config = DMRJRGConfig.from_preset("tiny")
    for row in report["retrieve"]:
        n = row["num_videos"]
        expected = n * (config.hidden_size + config.num_clips * config.feature_dim) * 4 + n * 8
        assert row["index_mb"] * 2**20 == expected, f"{n} videos: embeddings + clips + durations bytes"
        assert row["median_ms"] > 0
    assert report["retrieve_and_ground"][0]["top_k"] == 2 and report["retrieve_and_ground"][0]["median_ms"] > 0


def test_synthetic_index_has_unit_embeddings():
    index = synthetic_index(DMRJRGConfig.from_preset("tiny"), 30)
    assert len(index) == 30 and abs(float((index.embeddings**2).sum(1).mean()) - 1.0) < 1e-5
