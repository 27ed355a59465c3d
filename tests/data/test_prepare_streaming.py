"""The streamed, threaded export of the ``videos`` config against a straightforward reference, and its memory bound."""

from __future__ import annotations

import sys

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dmr_jrg_hf.bench.data import write_activitynet_layout
from dmr_jrg_hf.bench.memory import PeakRSS
from dmr_jrg_hf.data import open_features, prepare_benchmark
from dmr_jrg_hf.data import prepare as prepare_module
from dmr_jrg_hf.data.prepare import _video_table, video_features_schema
from dmr_jrg_hf.errors import DataFormatError


def _reference_table(reader, video_ids, durations) -> pa.Table:
    """The plain way: `datasets` encodes Python rows with the ``videos`` schema."""
    rows = {"video_id": video_ids, "duration": durations, "video_features": [reader[v] for v in video_ids]}
    return datasets.Dataset.from_dict(rows, features=video_features_schema(reader.feature_dim)).data.table


def test_video_table_equals_the_datasets_encoding(tmp_path):
    _, path, _ = write_activitynet_layout(tmp_path, 2**18, feature_dim=7)
    reader = open_features(path)
    video_ids = list(reader)[:5]
    durations = [float(i) for i in range(5)]
    batch = list(zip(video_ids, durations, (reader[v] for v in video_ids), strict=True))
    table = _video_table(batch, video_features_schema(7).arrow_schema)
    assert table.equals(_reference_table(reader, video_ids, durations).cast(table.schema))


def test_streamed_export_equals_the_reference_across_batches_and_shards(tmp_path):
    annotations, path, _ = write_activitynet_layout(tmp_path / "input", 2**19, feature_dim=9)
    prepare_benchmark(
        "activitynet_captions", annotations, path, tmp_path / "out", batch_bytes=20_000, max_shard_size=100_000
    )
    shards = sorted((tmp_path / "out" / "videos").glob("*.parquet"))
    assert len(shards) > 1 and all(pq.ParquetFile(s).num_row_groups > 1 for s in shards[:-1]), "several batches"
    exported = pa.concat_tables([pq.read_table(shard) for shard in shards])
    reader = open_features(path)
    ids = exported.column("video_id").to_pylist()
    assert sorted(ids) == sorted(reader), "every video once"
    reference = _reference_table(reader, ids, exported.column("duration").to_pylist())
    assert exported.column("video_features").equals(
        reference.column("video_features").cast(exported.schema.field("video_features").type)
    )


def test_errors_of_the_writer_thread_reach_the_caller(tmp_path, monkeypatch):
    annotations, path, _ = write_activitynet_layout(tmp_path / "input", 2**17, feature_dim=4)

    def broken(self, batch, num_bytes):
        raise DataFormatError("disk full")

    monkeypatch.setattr(prepare_module._ParquetShards, "write", broken)
    with pytest.raises(DataFormatError, match="disk full"):
        prepare_benchmark("activitynet_captions", annotations, path, tmp_path / "out", batch_bytes=1_000)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the peak counter reset is Linux-only")
def test_peak_memory_follows_the_batch_not_the_file(tmp_path):
    increases, sizes = [], []
    for mib in (16, 64):
        annotations, path, num_bytes = write_activitynet_layout(tmp_path / f"in{mib}", mib * 2**20, feature_dim=500)
        with PeakRSS() as memory:
            prepare_benchmark("activitynet_captions", annotations, path, tmp_path / f"out{mib}", batch_bytes=2 * 2**20)
        increases.append(memory.increase_mib)
        sizes.append(num_bytes / 2**20)
        exported = sum(pq.ParquetFile(p).metadata.num_rows for p in (tmp_path / f"out{mib}" / "videos").iterdir())
        assert exported == len(open_features(path)), f"{mib} MiB: every video exported"
    growth = increases[1] - increases[0]
    assert growth < (sizes[1] - sizes[0]) / 3, f"peak +{increases} MiB for files of {sizes} MiB"
