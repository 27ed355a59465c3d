"""`datasets` builders of the real benchmarks (paper §IV-A) and ``load_benchmark``, their one-call entry point.

``datasets`` >= 4 no longer runs loading scripts, so the builders live in the package: one
``datasets.GeneratorBasedBuilder`` per benchmark, registered in ``BENCHMARKS``. A builder reads the annotation files
of DESIGN §2, applies the defect policy of :mod:`dmr_jrg_hf.data.schema`, checks that every video has features (when a
feature file is given) and writes paragraph rows; features stay in their file (lazy, the default) or are embedded as
``Array2D((None, D), "float32")`` in a ``video_features`` column.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from datasets.builder import Key

from ..errors import ConfigError, DataFormatError
from ..version import __version__
from .activitynet import ACTIVITYNET_CAPTIONS
from .charades import CHARADES_STA, SENTENCE_ORDERS
from .readers import VideoFeatureReader, open_features
from .schema import (
    FEATURE_COLUMN,
    BenchmarkSpec,
    DefectPolicy,
    PreparationReport,
    clean_paragraph,
    paragraph_features,
    paragraph_statistics,
)
from .tacos import TACOS

__all__ = [
    "BENCHMARKS",
    "MISSING_FEATURE_POLICIES",
    "ActivityNetCaptionsBuilder",
    "BenchmarkBuilder",
    "BenchmarkConfig",
    "BenchmarkData",
    "CharadesSTABuilder",
    "CharadesSTAConfig",
    "TACoSBuilder",
    "attach_features",
    "get_builder_class",
    "load_benchmark",
    "make_builder",
]

logger = logging.getLogger(__name__)

MISSING_FEATURE_POLICIES = ("error", "skip")
_BASE_CONFIG_FIELDS = {field.name for field in dataclasses.fields(datasets.BuilderConfig)}


@dataclass
class BenchmarkConfig(datasets.BuilderConfig):
    """Options shared by the benchmark builders.

    Args:
        annotations_dir (str): folder with the benchmark's annotation files.
        features_path (str, optional): HDF5 feature file or folder of ``{video_id}.npy``; None builds annotation-only
            rows.
        embed_features (bool, default False): store each paragraph's ``(T, D)`` features in ``video_features``.
        feature_dim (int, optional): D the features must have (usually ``config.feature_dim``); None infers it.
        dataset_key (str, optional): dataset inside a video's HDF5 group (default ``c3d_features``).
        missing_features (str, default "error"): a paragraph whose video has no features raises (``"error"``) or is
            dropped and counted as ``missing_features`` (``"skip"``).
        zero_length_width (float, default 1.0): see :class:`~dmr_jrg_hf.data.schema.DefectPolicy`.
        time_tolerance (float, default 1e-6): see :class:`~dmr_jrg_hf.data.schema.DefectPolicy`.
        outside_moment (str, default "clamp"): see :class:`~dmr_jrg_hf.data.schema.DefectPolicy`.
    """

    annotations_dir: str | None = None
    features_path: str | None = None
    embed_features: bool = False
    feature_dim: int | None = None
    dataset_key: str | None = None
    missing_features: str = "error"
    zero_length_width: float = 1.0
    time_tolerance: float = 1e-6
    outside_moment: str = "clamp"

    def __post_init__(self):
        super().__post_init__()
        if self.annotations_dir is None:
            raise ConfigError("annotations_dir is required (the folder with the benchmark's annotation files)")
        if self.missing_features not in MISSING_FEATURE_POLICIES:
            raise ConfigError(
                f"missing_features must be one of {MISSING_FEATURE_POLICIES}, got {self.missing_features!r}"
            )
        if self.embed_features and self.features_path is None:
            raise ConfigError("embed_features=True needs a feature file (features=...)")
        try:
            self.defect_policy()
        except DataFormatError as error:
            raise ConfigError(str(error)) from error

    def defect_policy(self) -> DefectPolicy:
        """The :class:`DefectPolicy` these options describe."""
        return DefectPolicy(self.zero_length_width, self.time_tolerance, self.outside_moment)


@dataclass
class CharadesSTAConfig(BenchmarkConfig):
    """:class:`BenchmarkConfig` plus ``sentence_order`` (``"start"``, default, or ``"file"``) for Charades-STA."""

    sentence_order: str = "start"

    def __post_init__(self):
        super().__post_init__()
        if self.sentence_order not in SENTENCE_ORDERS:
            raise ConfigError(f"sentence_order must be one of {SENTENCE_ORDERS}, got {self.sentence_order!r}")


class BenchmarkBuilder(datasets.GeneratorBasedBuilder):
    """Base builder: parses the splits of ``SPEC`` once per instance and writes one row per paragraph.

    Subclasses set ``SPEC`` (and ``BUILDER_CONFIG_CLASS`` when the benchmark has its own options).
    """

    SPEC: BenchmarkSpec
    BUILDER_CONFIG_CLASS = BenchmarkConfig
    VERSION = datasets.Version("1.0.0")

    def __init__(self, *args, **kwargs):
        self._reader: VideoFeatureReader | None = None
        self._collected: tuple[dict[str, list[dict[str, Any]]], PreparationReport] | None = None
        super().__init__(*args, **kwargs)

    @property
    def feature_reader(self) -> VideoFeatureReader | None:
        """The lazy reader of ``config.features_path`` (None for annotation-only builds)."""
        if self._reader is None and self.config.features_path is not None:
            self._reader = open_features(self.config.features_path, self.config.feature_dim, self.config.dataset_key)
        return self._reader

    @property
    def feature_dim(self) -> int | None:
        """D of the features: ``config.feature_dim`` or, when None, the D of the first video in the file."""
        reader = self.feature_reader
        if reader is None:
            return None
        if reader.feature_dim is None:
            first = next(iter(reader), None)
            if first is None:
                raise DataFormatError(f"{self.SPEC.name}: feature file {reader.path} holds no video")
            reader.shape(first)
        return reader.feature_dim

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=self.SPEC.description,
            features=paragraph_features(self.feature_dim if self.config.embed_features else None),
            homepage=self.SPEC.homepage,
            citation=self.SPEC.citation,
            license="other",
        )

    def collect(self) -> tuple[dict[str, list[dict[str, Any]]], PreparationReport]:
        """Parses and cleans every split (cached on the instance).

        Returns:
            tuple: ``{split: [paragraph row, ...]}`` (annotation columns only) and the :class:`PreparationReport`.

        Raises:
            DataFormatError: on a malformed annotation, a missing file, a video without features (unless
                ``missing_features="skip"``) or a feature array of the wrong rank or dimension.
        """
        if self._collected is None:
            report = PreparationReport(self.SPEC.name)
            policy = self.config.defect_policy()
            options = {name: getattr(self.config, name) for name in self.SPEC.options}
            rows = {}
            for split in self.SPEC.split_files:
                raws = self.SPEC.read_split(self.config.annotations_dir, split, **options)
                cleaned = [row for raw in raws if (row := clean_paragraph(raw, split, policy, report)) is not None]
                rows[split] = self._keep_videos_with_features(split, cleaned, report)
                report.statistics[split] = paragraph_statistics(rows[split])
            self._collected = rows, report
        return self._collected

    def _keep_videos_with_features(
        self, split: str, rows: list[dict[str, Any]], report: PreparationReport
    ) -> list[dict[str, Any]]:
        reader = self.feature_reader
        if reader is None:
            return rows
        missing = sorted({row["video_id"] for row in rows if row["video_id"] not in reader})
        if missing and self.config.missing_features == "error":
            raise DataFormatError(
                f"{self.SPEC.name} {split}: {len(missing)} videos have no features in {reader.path} "
                f"(first: {missing[:5]}); pass missing_features='skip' (--missing-features skip) to drop and count "
                "their paragraphs"
            )
        missing_set = set(missing)
        kept = [row for row in rows if row["video_id"] not in missing_set]
        for video_id in dict.fromkeys(row["video_id"] for row in kept):
            reader.shape(video_id)
        _warn_on_duration_mismatch(split, kept, reader)
        for row in rows:
            if row["video_id"] in missing_set:
                report.add(
                    split,
                    "missing_features",
                    paragraph_id=row["paragraph_id"],
                    video_id=row["video_id"],
                    detail=f"no features in {reader.path.name}",
                    source=reader.path.name,
                )
        return kept

    def _split_generators(self, dl_manager) -> list[datasets.SplitGenerator]:
        rows, _ = self.collect()
        return [datasets.SplitGenerator(name=split, gen_kwargs={"split": split}) for split in rows]

    def _generate_examples(self, split: str):
        rows, _ = self.collect()
        for index, row in enumerate(rows[split]):
            if self.config.embed_features:
                row = {**row, FEATURE_COLUMN: self.feature_reader[row["video_id"]]}
            yield Key(0, index), row


def _warn_on_duration_mismatch(split: str, rows: list[dict[str, Any]], reader: VideoFeatureReader) -> None:
    """Log the videos whose feature file records a duration (``extract-features`` does) that differs from the
    annotation's by more than 1 s and 5 %: features and annotations of different cuts of a video. The annotation's
    duration is kept (moments are in its time base)."""
    recorded = reader.durations()
    different = {
        row["video_id"]: (row["duration"], recorded[row["video_id"]])
        for row in rows
        if row["video_id"] in recorded
        and abs(recorded[row["video_id"]] - row["duration"]) > max(1.0, 0.05 * row["duration"])
    }
    if different:
        video_id, (annotated, extracted) = next(iter(different.items()))
        logger.warning(
            "%s: %d video(s) last differently in the annotations and in %s (e.g. %r: %.1f s annotated, %.1f s "
            "decoded); the annotated durations are used",
            split,
            len(different),
            reader.path.name,
            video_id,
            annotated,
            extracted,
        )


class ActivityNetCaptionsBuilder(BenchmarkBuilder):
    """ActivityNet Captions: train / validation (val_1) / test (val_2), one paragraph per video."""

    SPEC = ACTIVITYNET_CAPTIONS


class CharadesSTABuilder(BenchmarkBuilder):
    """Charades-STA: train / test, one paragraph per video, sentences ordered by ``sentence_order``."""

    SPEC = CHARADES_STA
    BUILDER_CONFIG_CLASS = CharadesSTAConfig


class TACoSBuilder(BenchmarkBuilder):
    """TACoS (2D-TAN split): train / validation / test, one paragraph per rebuilt annotator description."""

    SPEC = TACOS


BENCHMARKS: dict[str, type[BenchmarkBuilder]] = {
    "activitynet_captions": ActivityNetCaptionsBuilder,
    "charades_sta": CharadesSTABuilder,
    "tacos": TACoSBuilder,
}


def get_builder_class(name: str) -> type[BenchmarkBuilder]:
    """The builder class of a benchmark; an unknown name raises a ConfigError listing the choices."""
    if name not in BENCHMARKS:
        close = difflib.get_close_matches(name, BENCHMARKS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown benchmark {name!r}{hint}; choices: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


def _check_options(builder_class: type[BenchmarkBuilder], options: Mapping[str, Any]) -> None:
    allowed = {field.name for field in dataclasses.fields(builder_class.BUILDER_CONFIG_CLASS)} - _BASE_CONFIG_FIELDS
    for key in options:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            valid = ", ".join(sorted(allowed))
            raise ConfigError(f"unknown option {key!r} for {builder_class.SPEC.name}{hint}; valid options: {valid}")


def _fingerprint(annotations_dir: Path, features: Path | None) -> str:
    """Cache key from the package version and the size/mtime of the annotation files and the feature path."""
    digest = hashlib.sha256(__version__.encode())
    paths = sorted(path for path in annotations_dir.iterdir() if path.is_file()) if annotations_dir.is_dir() else []
    for path in [*paths, *([features] if features is not None and features.exists() else [])]:
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def make_builder(
    name: str,
    annotations_dir: str | Path,
    features: str | Path | None = None,
    *,
    cache_dir: str | Path | None = None,
    **options: Any,
) -> BenchmarkBuilder:
    """Instantiates the builder of ``name`` for the given files; ``options`` are fields of its config class."""
    builder_class = get_builder_class(name)
    _check_options(builder_class, options)
    annotations_dir = Path(annotations_dir)
    if not annotations_dir.is_dir():
        raise DataFormatError(f"{name}: annotations folder {annotations_dir} not found")
    features_path = Path(features) if features is not None else None
    return builder_class(
        cache_dir=str(cache_dir) if cache_dir is not None else None,
        dataset_name=name,
        hash=_fingerprint(annotations_dir, features_path),
        annotations_dir=str(annotations_dir.resolve()),
        features_path=str(features_path.resolve()) if features_path is not None else None,
        **options,
    )


@dataclass
class BenchmarkData:
    """What :func:`load_benchmark` returns.

    Args:
        paragraphs (datasets.DatasetDict): splits ``train``, ``validation`` (when the benchmark has one) and ``test``.
        features (Mapping[str, np.ndarray] or None): lazy reader of the feature file (None for annotation-only).
        report (PreparationReport): repaired and skipped items per split and reason, and the split statistics.
    """

    paragraphs: datasets.DatasetDict
    features: Mapping[str, np.ndarray] | None
    report: PreparationReport


def _empty_split(builder: BenchmarkBuilder) -> datasets.Dataset:
    """A split with no rows (every paragraph skipped): `datasets` cannot read one back, so build it from the schema."""
    features = builder.info.features
    return datasets.Dataset.from_dict({name: [] for name in features}, features=features)


def load_benchmark(
    name: str,
    annotations_dir: str | Path,
    features: str | Path | None = None,
    *,
    embed_features: bool = False,
    feature_dim: int | None = None,
    cache_dir: str | Path | None = None,
    **builder_options: Any,
) -> BenchmarkData:
    """Builds (or loads from the `datasets` cache) a real benchmark in paragraph form, with the paper's splits.

    Args:
        name (str): ``"activitynet_captions"``, ``"charades_sta"`` or ``"tacos"``.
        annotations_dir (str or Path): folder with the benchmark's annotation files (DESIGN §2).
        features (str or Path, optional): HDF5 file or ``.npy`` folder; None gives annotation-only datasets.
        embed_features (bool, default False): embed ``video_features`` as ``Array2D((None, D))`` in every row.
        feature_dim (int, optional): D the features must have (pass ``config.feature_dim``); None infers it.
        cache_dir (str or Path, optional): `datasets` cache folder (default: the `datasets` cache).
        **builder_options: fields of the builder config (``missing_features``, ``dataset_key``,
            ``zero_length_width``, ``time_tolerance``, and ``sentence_order`` for Charades-STA).

    Returns:
        BenchmarkData: ``paragraphs`` (DatasetDict), ``features`` (lazy reader or None) and ``report``.

    Raises:
        ConfigError: on an unknown benchmark or option (the message lists the valid ones).
        DataFormatError: on a missing or malformed file, or a video without valid features.

    Example:
        >>> from pathlib import Path
        >>> root = Path("..") / "shared" / "benchmarks" / "charades_sta"
        >>> data = load_benchmark("charades_sta", root) if root.is_dir() else None  # doctest: +SKIP
        >>> data.paragraphs["train"].num_rows  # doctest: +SKIP
        5338
    """
    builder = make_builder(
        name,
        annotations_dir,
        features,
        cache_dir=cache_dir,
        embed_features=embed_features,
        feature_dim=feature_dim,
        **builder_options,
    )
    builder.download_and_prepare()
    rows, report = builder.collect()
    paragraphs = datasets.DatasetDict(
        {
            split: builder.as_dataset(split=split) if split_rows else _empty_split(builder)
            for split, split_rows in rows.items()
        }
    )
    logger.info("%s", report.summary())
    return BenchmarkData(paragraphs=paragraphs, features=builder.feature_reader, report=report)


def attach_features(
    dataset: datasets.Dataset, features: Mapping[str, np.ndarray], column: str = FEATURE_COLUMN
) -> datasets.Dataset:
    """Adds a lazily read ``video_features`` column: each access reads the rows' videos from ``features``.

    Args:
        dataset (datasets.Dataset): paragraph rows with a ``video_id`` column.
        features (Mapping[str, np.ndarray]): e.g. ``BenchmarkData.features``.
        column (str, default "video_features"): name of the added column.

    Returns:
        datasets.Dataset: the same rows with an on-the-fly transform (``Dataset.with_transform``).
    """

    def _add_features(batch: dict[str, list]) -> dict[str, list]:
        return {**batch, column: [features[video_id] for video_id in batch["video_id"]]}

    return dataset.with_transform(_add_features)
