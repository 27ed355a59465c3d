"""Export of a real benchmark to a Hub-ready folder: parquet shards, dataset card, preparation report.

Layout written by :func:`prepare_benchmark`::

    out_dir/
      README.md                       dataset card (``configs:`` YAML, statistics, report, license note, citation)
      paragraphs/{split}-00000-of-00001.parquet
      videos/corpus-00000-of-0000N.parquet   (only with features; one row per video)
      report.json  skipped.jsonl

``datasets.load_dataset(out_dir, "paragraphs")`` (or ``"videos"``) loads it offline, and the folder can be pushed to
the Hub as is. Features are streamed: a batch of about ``batch_bytes`` of videos is read while the previous one is
written, so memory stays bounded whatever the file size.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from ..errors import DataFormatError
from ..files import atomic_folder
from .builders import make_builder
from .readers import VideoFeatureReader
from .schema import FEATURE_COLUMN, REPAIR_REASONS, BenchmarkSpec, PreparationReport, paragraph_features

__all__ = ["prepare_benchmark", "render_dataset_card", "video_features_schema"]

logger = logging.getLogger(__name__)

_PAPER_COUNTS = {
    "activitynet_captions": "10,009 / 4,917 / 4,885 pairs, 3.63 sentences per paragraph, 117.60 s",
    "charades_sta": "5,338 / 1,334 pairs, 2.41 sentences per paragraph, 29.8 s",
    "tacos": "1,107 / 418 / 380 pairs, 8.75 sentences per paragraph, 4.79 min",
}


def video_features_schema(feature_dim: int) -> datasets.Features:
    """Schema of the ``videos`` config: ``video_id``, ``duration`` (s), ``video_features`` ``Array2D((None, D))``."""
    return datasets.Features(
        {
            "video_id": datasets.Value("string"),
            "duration": datasets.Value("float64"),
            FEATURE_COLUMN: datasets.Array2D((None, feature_dim), "float32"),
        }
    )


def _video_table(batch: Sequence[tuple[str, float, np.ndarray]], schema: pa.Schema) -> pa.Table:
    """Arrow table of a batch of videos over one flat float32 buffer: one copy of the values, no Python floats.

    ``pa.array`` on a NumPy array converts element by element; ``Array.from_buffers`` wraps the buffer as it is.
    """
    lengths = np.array([array.shape[0] for _, _, array in batch], dtype=np.int64)
    feature_dim = batch[0][2].shape[1]
    flat = np.concatenate([array.reshape(-1) for _, _, array in batch])  # (sum of T * D,) float32
    values = pa.Array.from_buffers(pa.float32(), len(flat), [None, pa.py_buffer(flat)])
    row_offsets = np.arange(0, len(flat) + 1, feature_dim, dtype=np.int32)
    video_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    rows = pa.ListArray.from_arrays(pa.array(row_offsets), values)
    videos = pa.ListArray.from_arrays(pa.array(video_offsets), rows)
    column_type = schema.field(FEATURE_COLUMN).type
    return pa.Table.from_arrays(
        [
            pa.array([video_id for video_id, _, _ in batch], pa.string()),
            pa.array([duration for _, duration, _ in batch], pa.float64()),
            pa.ExtensionArray.from_storage(column_type, videos),
        ],
        schema=schema,
    )


# Dictionary encoding and min/max statistics of the float values cost more than the rest of the export together
# (random-like values never repeat, and nobody filters on a feature value); the id and duration columns keep both.
_PARQUET_OPTIONS = {"use_dictionary": ["video_id"], "write_statistics": ["video_id", "duration"]}


class _ParquetShards:
    """Row groups -> ``corpus-XXXXX-of-YYYYY.parquet`` files, a new file once one holds ``max_shard_bytes``."""

    def __init__(self, folder: Path, schema: pa.Schema, max_shard_bytes: int):
        self.folder, self.schema, self.max_shard_bytes = folder, schema, max_shard_bytes
        self.paths: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.shard_bytes = 0

    def write(self, batch: Sequence[tuple[str, float, np.ndarray]], num_bytes: int) -> None:
        """Write one batch of videos as a row group (runs on the writer thread)."""
        if self.writer is None or self.shard_bytes >= self.max_shard_bytes:
            self.close_current()
            self.paths.append(self.folder / f"corpus-{len(self.paths):05d}.parquet")
            self.writer, self.shard_bytes = pq.ParquetWriter(self.paths[-1], self.schema, **_PARQUET_OPTIONS), 0
        self.writer.write_table(_video_table(batch, self.schema), row_group_size=len(batch))
        self.shard_bytes += num_bytes

    def close_current(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def finish(self) -> int:
        """Close the last file, name every file ``-of-`` the total and return the number of shards."""
        self.close_current()
        for index, path in enumerate(self.paths):
            path.rename(self.folder / f"corpus-{index:05d}-of-{len(self.paths):05d}.parquet")
        return len(self.paths)


def _write_video_shards(
    reader: VideoFeatureReader,
    videos: Iterable[tuple[str, float]],
    folder: Path,
    max_shard_bytes: int,
    batch_bytes: int,
) -> dict[str, int]:
    """Streams the videos into ``corpus-XXXXX-of-YYYYY.parquet`` shards; returns counts (videos, frames, shards).

    The main thread reads and checks one batch of about ``batch_bytes`` while a writer thread encodes the previous
    one (pyarrow releases the GIL), so reading and writing overlap and at most two batches are in memory.
    """
    folder.mkdir(parents=True)
    shards = _ParquetShards(folder, video_features_schema(reader.feature_dim).arrow_schema, max_shard_bytes)
    counts = {"videos": 0, "frames": 0}
    batch, pending, writing = [], 0, None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-writer") as pool:
        for video_id, duration in tqdm(list(videos), desc="videos", unit="video", disable=None):
            array = reader[video_id]
            batch.append((video_id, duration, array))
            pending += array.nbytes
            counts["videos"] += 1
            counts["frames"] += array.shape[0]
            if pending >= batch_bytes:
                if writing is not None:
                    writing.result()
                writing, batch, pending = pool.submit(shards.write, batch, pending), [], 0
        if writing is not None:
            writing.result()
        if batch:
            shards.write(batch, pending)
    return {**counts, "shards": shards.finish()}


def _configs_yaml(splits: Sequence[str], with_videos: bool) -> str:
    lines = ["configs:", "- config_name: paragraphs", "  default: true", "  data_files:"]
    for split in splits:
        lines += [f"  - split: {split}", f"    path: paragraphs/{split}-*.parquet"]
    if with_videos:
        lines += ["- config_name: videos", "  data_files:", "  - split: corpus", "    path: videos/corpus-*.parquet"]
    return "\n".join(lines)


def _written_splits(report: PreparationReport) -> list[str]:
    """Splits with at least one paragraph: an empty split has no parquet file (``datasets`` cannot load one)."""
    return [split for split, stats in report.statistics.items() if stats["paragraphs"]]


def _empty_splits_note(report: PreparationReport) -> str:
    empty = [split for split, stats in report.statistics.items() if not stats["paragraphs"]]
    return f"\nSplits with no paragraph left are not written: {', '.join(empty)}.\n" if empty else ""


def _statistics_table(report: PreparationReport) -> str:
    lines = [
        "| split | paragraphs | sentences | sentences / paragraph (max) | videos | mean duration (s) |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for split, stats in report.statistics.items():
        lines.append(
            f"| {split} | {stats['paragraphs']:,} | {stats['sentences']:,} | "
            f"{stats['sentences_per_paragraph']:.2f} ({stats['max_sentences']}) | {stats['videos']:,} | "
            f"{stats['mean_duration']:.1f} |"
        )
    return "\n".join(lines)


def _report_table(report: PreparationReport) -> str:
    counts = report.counts()
    if not counts:
        return "Nothing was repaired or skipped."
    lines = ["| split | reason | action | count |", "|---|---|---|---:|"]
    for split, counter in counts.items():
        for reason, number in counter.items():
            action = "repaired" if reason in REPAIR_REASONS else "skipped"
            lines.append(f"| {split} | `{reason}` | {action} | {number:,} |")
    return "\n".join(lines)


def render_dataset_card(spec: BenchmarkSpec, report: PreparationReport, video_counts: dict[str, Any] | None) -> str:
    """The README.md of an exported folder: YAML metadata with ``configs:``, then the card's Markdown body.

    Args:
        spec (BenchmarkSpec): the benchmark's metadata.
        report (PreparationReport): preparation report with its statistics.
        video_counts (dict, optional): ``videos``, ``frames``, ``shards``, ``feature_dim``, ``source`` and
            ``extractor`` (the feature file's metadata: ``encoder`` and ``fps`` when ``extract-features`` wrote it) of
            the ``videos`` config; None when no features were exported.
    """
    header = "\n".join(
        [
            "---",
            f"pretty_name: {spec.pretty_name}",
            "license: other",
            "language:\n- en",
            "tags:\n- video-paragraph-retrieval\n- video-grounding\n- temporal-sentence-grounding",
            _configs_yaml(_written_splits(report), video_counts is not None),
            "---",
        ]
    )
    videos = "No features were exported (annotation-only folder)."
    if video_counts:
        dim = video_counts["feature_dim"]
        videos = (
            f"`videos` (split `corpus`): {video_counts['videos']:,} videos, {video_counts['frames']:,} feature rows "
            f"of D = {dim} (`video_features`, float32 `Array2D((None, {dim}))`), from `{video_counts['source']}`, "
            f"in {video_counts['shards']} parquet shard(s)."
        )
        extractor = video_counts.get("extractor") or {}
        if "encoder" in extractor and "fps" in extractor:
            videos += f" Extracted with `{extractor['encoder']}` at {extractor['fps']:g} feature rows per second."
    body = f"""
# {spec.pretty_name}

{spec.description}

Prepared with `dmr_jrg_hf` (`dmr-jrg prepare {spec.name}`) for video paragraph retrieval and grounding (DMR-JRG).
Home page of the data: {spec.homepage}

## Configs

- `paragraphs` (default): one row per video-paragraph pair: `paragraph_id`, `video_id`, `duration` (s),
  `sentences` (list of str), `timestamps` (list of `[start, end]` in seconds, one per sentence).
- {videos}

```python
import datasets
paragraphs = datasets.load_dataset("path/or/repo", "paragraphs")
```

## Statistics

{_statistics_table(report)}
{_empty_splits_note(report)}

The paper reports: {_PAPER_COUNTS.get(spec.name, "n/a")}.

## Preparation report

Defects of the distributed files are repaired moment by moment (inverted moments swapped, ends clipped to the
duration, zero-length moments widened); only what cannot be repaired is dropped. Full list: `skipped.jsonl`;
counts: `report.json`.

{_report_table(report)}

## License

{spec.license_note}

## Citation

```bibtex
{spec.citation}
```
"""
    return header + "\n" + body


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise DataFormatError(f"output folder {out_dir} is a file")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise DataFormatError(f"output folder {out_dir} is not empty; pass overwrite=True (--overwrite) to replace it")


def _write_folder(
    out_dir: Path, builder, rows, report: PreparationReport, written: list[str], max_shard_size: int, batch_bytes: int
) -> None:
    """Parquet configs, report and card of a prepared benchmark into ``out_dir`` (a fresh staging folder)."""
    (out_dir / "paragraphs").mkdir()
    for split in written:
        dataset = datasets.Dataset.from_list(rows[split], features=paragraph_features())
        dataset.to_parquet(out_dir / "paragraphs" / f"{split}-00000-of-00001.parquet")
    video_counts = None
    if builder.feature_reader is not None:
        videos = {row["video_id"]: row["duration"] for split_rows in rows.values() for row in split_rows}
        reader = builder.feature_reader
        video_counts = _write_video_shards(reader, videos.items(), out_dir / "videos", max_shard_size, batch_bytes)
        video_counts.update(feature_dim=reader.feature_dim, source=reader.path.name, extractor=reader.file_metadata())
        reader.close()
    report.to_json(out_dir / "report.json")
    report.write_jsonl(out_dir / "skipped.jsonl")
    (out_dir / "README.md").write_text(render_dataset_card(builder.SPEC, report, video_counts), encoding="utf-8")


def prepare_benchmark(
    name: str,
    annotations_dir: str | Path,
    features: str | Path | None,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    max_shard_size: int = 500 * 2**20,
    batch_bytes: int = 64 * 2**20,
    **options: Any,
) -> PreparationReport:
    """Writes a Hub-ready folder for a benchmark (see the module docstring) and returns its preparation report.

    Args:
        name (str): ``"activitynet_captions"``, ``"charades_sta"`` or ``"tacos"``.
        annotations_dir (str or Path): folder with the annotation files.
        features (str or Path, optional): HDF5 file or ``.npy`` folder; None writes the ``paragraphs`` config only.
        out_dir (str or Path): output folder (created; must be empty unless ``overwrite``). The folder is written
            as a hidden sibling and renamed at the end: a failure leaves ``out_dir`` as it was.
        overwrite (bool, default False): replace a non-empty ``out_dir`` (only once the new folder is complete).
        max_shard_size (int, default 500 MiB): bytes of features per ``videos`` shard before a new one starts.
        batch_bytes (int, default 64 MiB): bytes of features held in memory before a row group is written.
        **options: builder options (``feature_dim``, ``missing_features``, ``dataset_key``, ``sentence_order``, ...).

    Returns:
        PreparationReport: also written to ``report.json`` and ``skipped.jsonl``.

    Raises:
        ConfigError, DataFormatError: as :func:`~dmr_jrg_hf.data.load_benchmark`, for a non-empty ``out_dir``, or when
            no split has a paragraph left. A split left empty (every paragraph skipped) is not written, with a warning
            and a note on the card.
    """
    out_dir = Path(out_dir)
    _check_out_dir(out_dir, overwrite)
    with tempfile.TemporaryDirectory() as cache_dir:
        builder = make_builder(name, annotations_dir, features, cache_dir=cache_dir, **options)
        rows, report = builder.collect()
    written = _written_splits(report)
    if not written:
        raise DataFormatError(f"{name}: no paragraph is left in any split, nothing to write\n{report.summary()}")
    for split in sorted(set(rows) - set(written)):
        logger.warning("%s: split %r has no paragraph left (see the report); it is not written", name, split)
    with atomic_folder(out_dir) as staging:
        _write_folder(staging, builder, rows, report, written, max_shard_size, batch_bytes)
    logger.info("%s", report.summary())
    return report
