"""Data-preparation benchmark: the generated ActivityNet layout is the official one, and the export is measured."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dmr_jrg_hf.bench.data import benchmark_data_preparation, write_activitynet_layout
from dmr_jrg_hf.data import load_benchmark, open_features

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not


def test_generated_layout_reads_as_activitynet_captions(tmp_path):
    annotations, features, num_bytes = write_activitynet_layout(tmp_path / "input", 2**20, feature_dim=16)
    assert sorted(path.name for path in annotations.glob("*.json")) == ["train.json", "val_1.json", "val_2.json"]
    reader = open_features(features)
    assert num_bytes == sum(reader[video_id].nbytes for video_id in reader), "feature bytes as reported"
    assert 0.8 * 2**20 <= num_bytes <= 1.25 * 2**20, f"about the size asked: {num_bytes}"
    entry = next(iter(json.loads((annotations / "train.json").read_text()).values()))
    assert len(entry["sentences"]) == len(entry["timestamps"]) == 2
    data = load_benchmark("activitynet_captions", annotations, features, cache_dir=str(tmp_path / "cache"))
    total = sum(len(split) for split in data.paragraphs.values())
    assert total == len(reader) and not data.report.counts(), "every video kept, nothing repaired"
    first = data.paragraphs["train"][0]
    assert data.features[first["video_id"]].shape == (int(np.ceil(2 * first["duration"])), 16)


def test_benchmark_data_preparation_reports_throughput_and_memory(tmp_path):
    report = benchmark_data_preparation(size_mb=1, feature_dim=16, work_dir=tmp_path)
    assert report["num_videos"] == len(open_features(tmp_path / "input" / "sub_activitynet_v1-3.c3d.hdf5"))
    assert report["mb_per_s"] == report["feature_mb"] / report["prepare_seconds"]
    assert report["peak_rss_mib"] >= report["peak_rss_increase_mib"] >= 0
    assert report["output_mb"] > 0.9 * report["feature_mb"], "the export holds every feature value"
    assert (tmp_path / "prepared" / "videos").is_dir(), "a given work folder is kept"
