"""Paragraph rows of the real benchmarks: the row schema, the defect policy and the preparation report (DESIGN §2).

Every benchmark parser turns its annotation files into :class:`RawParagraph` records; :func:`clean_paragraph` applies
one documented defect policy to them and records every repair or skip in a :class:`PreparationReport`.

Defect policy (moments in seconds, applied in this order to each sentence):

1. ``inverted_moment`` (repaired): ``start > end`` is swapped (ActivityNet ``v_0bosp4-pyTM``, 4 Charades-STA moments).
2. ``negative_start`` (repaired): ``start < 0`` is clipped to 0.
3. ``clamped_outside_moment`` (repaired): a moment that starts at or after the duration (3 Charades-STA train
   moments against the CSV ``length``) is clamped to the last ``zero_length_width`` seconds of the video, so that its
   paragraph keeps its place; with ``outside_moment="drop"`` its sentence is dropped instead
   (``dropped_outside_moment``, skipped).
4. ``end_after_duration`` (repaired): ``end > duration`` is clipped to the duration. Ends past the duration by at most
   ``time_tolerance`` (float noise such as ``95.04`` vs ``95.03999999999999``) are clipped without being counted.
5. ``zero_length_moment`` (repaired): ``end - start <= time_tolerance`` is widened to ``zero_length_width`` seconds
   centred on the point and shifted inside ``[0, duration]`` (the whole video when it is shorter).
6. ``empty_sentence`` (skipped): a sentence that is empty after ``strip()`` is dropped with its moment.
7. ``empty_paragraph`` (skipped): a paragraph left without sentences is dropped.

Repairs act on single moments, so the paragraph counts of the paper are kept. Structural defects (a malformed line or
JSON entry, a non-positive duration, non-finite times, unequal sentence/timestamp lists) raise
:class:`~dmr_jrg_hf.errors.DataFormatError` naming the file and the item.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

from ..errors import DataFormatError
from ..files import read_json_file

__all__ = [
    "FEATURE_COLUMN",
    "OUTSIDE_MOMENT_POLICIES",
    "PARAGRAPH_COLUMNS",
    "REPAIR_REASONS",
    "SKIP_REASONS",
    "BenchmarkSpec",
    "DefectPolicy",
    "PreparationReport",
    "RawParagraph",
    "annotation_path",
    "clean_paragraph",
    "paragraph_features",
    "paragraph_statistics",
    "read_json_object",
]

logger = logging.getLogger(__name__)

PARAGRAPH_COLUMNS = ("paragraph_id", "video_id", "duration", "sentences", "timestamps")
FEATURE_COLUMN = "video_features"
REPAIR_REASONS = (
    "inverted_moment",
    "negative_start",
    "clamped_outside_moment",
    "end_after_duration",
    "zero_length_moment",
)
SKIP_REASONS = ("dropped_outside_moment", "empty_sentence", "empty_paragraph", "missing_features")
OUTSIDE_MOMENT_POLICIES = ("clamp", "drop")


def paragraph_features(feature_dim: int | None = None) -> datasets.Features:
    """The `datasets` schema of a paragraph row; with ``feature_dim`` it adds the embedded ``video_features`` column.

    Args:
        feature_dim (int, optional): D of the embedded clip features, stored as ``Array2D((None, D), "float32")``.

    Returns:
        datasets.Features: ``paragraph_id``, ``video_id`` (string), ``duration`` (float64 seconds), ``sentences``
        (list of strings), ``timestamps`` (list of ``[start, end]`` float64 seconds) and optionally ``video_features``.
    """
    columns = {
        "paragraph_id": datasets.Value("string"),
        "video_id": datasets.Value("string"),
        "duration": datasets.Value("float64"),
        "sentences": datasets.List(datasets.Value("string")),
        "timestamps": datasets.List(datasets.List(datasets.Value("float64"), length=2)),
    }
    if feature_dim is not None:
        columns[FEATURE_COLUMN] = datasets.Array2D((None, feature_dim), "float32")
    return datasets.Features(columns)


@dataclass(frozen=True)
class RawParagraph:
    """One paragraph as read from an annotation file, before the defect policy.

    Args:
        paragraph_id (str): unique within its split (the video id, or ``"<video_id>#<n>"`` for TACoS).
        video_id (str): key of the video in the feature file.
        duration (float): video duration in seconds.
        sentences (list[str]): sentences in paragraph order, as written in the file.
        timestamps (list[tuple[float, float]]): one ``(start, end)`` in seconds per sentence, as written.
        source (str): file (and line) the paragraph comes from, for error messages and the report.
    """

    paragraph_id: str
    video_id: str
    duration: float
    sentences: Sequence[str]
    timestamps: Sequence[Sequence[float]]
    source: str


@dataclass(frozen=True)
class BenchmarkSpec:
    """What a builder needs to know about one benchmark: its files, its parser and its card metadata.

    Args:
        name (str): registry name (``"charades_sta"``).
        pretty_name (str): name for the dataset card.
        split_files (dict[str, str]): split -> annotation file name inside the annotations folder.
        read_split (Callable): ``read_split(annotations_dir, split, **options) -> Iterator[RawParagraph]``.
        options (tuple[str, ...]): names of the benchmark-specific builder options passed to ``read_split``.
        feature_layout (str): layout of the official feature file (see ``readers.FEATURE_LAYOUTS``).
        description (str): one paragraph for the dataset card.
        homepage (str): the dataset's home page.
        citation (str): BibTeX of the dataset paper(s).
        license_note (str): what is known of the annotation license.
    """

    name: str
    pretty_name: str
    split_files: dict[str, str]
    read_split: Callable[..., Iterator[RawParagraph]]
    options: tuple[str, ...]
    feature_layout: str
    description: str
    homepage: str
    citation: str
    license_note: str


@dataclass(frozen=True)
class DefectPolicy:
    """Parameters of the defect policy of this module's docstring.

    Args:
        zero_length_width (float, default 1.0): width in seconds given to a zero-length moment.
        time_tolerance (float, default 1e-6): seconds below which an overshoot or a length counts as float noise.
        outside_moment (str, default "clamp"): a moment starting at or after the duration is clamped to the video's
            end (``"clamp"``) or its sentence is dropped (``"drop"``).
    """

    zero_length_width: float = 1.0
    time_tolerance: float = 1e-6
    outside_moment: str = "clamp"

    def __post_init__(self):
        if not self.zero_length_width > 0:
            raise DataFormatError(f"zero_length_width must be > 0 seconds, got {self.zero_length_width}")
        if not self.time_tolerance >= 0:
            raise DataFormatError(f"time_tolerance must be >= 0 seconds, got {self.time_tolerance}")
        if self.outside_moment not in OUTSIDE_MOMENT_POLICIES:
            raise DataFormatError(
                f"outside_moment must be one of {OUTSIDE_MOMENT_POLICIES}, got {self.outside_moment!r}"
            )


@dataclass
class PreparationReport:
    """Every repaired or skipped item of a benchmark preparation, with counts per split and reason.

    Args:
        benchmark (str): benchmark name (``"activitynet_captions"``, ...).
        items (list[dict]): one record per repair or skip: ``split``, ``reason``, ``action`` (``"repaired"`` or
            ``"skipped"``), ``paragraph_id``, ``video_id``, ``sentence_index`` (or None), ``detail``, ``source``.
        statistics (dict[str, dict[str, float]]): per split, the counts of :func:`paragraph_statistics`.
        max_examples (int, default 5): examples kept per reason in :meth:`to_dict`.
    """

    benchmark: str
    items: list[dict[str, Any]] = field(default_factory=list)
    statistics: dict[str, dict[str, float]] = field(default_factory=dict)
    max_examples: int = 5

    def add(
        self,
        split: str,
        reason: str,
        *,
        paragraph_id: str,
        video_id: str,
        detail: str,
        source: str,
        sentence_index: int | None = None,
    ) -> None:
        """Records one repair or skip; ``reason`` must be one of ``REPAIR_REASONS`` or ``SKIP_REASONS``."""
        if reason not in REPAIR_REASONS + SKIP_REASONS:
            raise ValueError(f"unknown report reason {reason!r}; expected one of {REPAIR_REASONS + SKIP_REASONS}")
        action = "repaired" if reason in REPAIR_REASONS else "skipped"
        self.items.append(
            {
                "split": split,
                "reason": reason,
                "action": action,
                "paragraph_id": paragraph_id,
                "video_id": video_id,
                "sentence_index": sentence_index,
                "detail": detail,
                "source": source,
            }
        )

    def counts(self) -> dict[str, dict[str, int]]:
        """Number of items per split and reason: ``{split: {reason: count}}``."""
        table: dict[str, Counter] = defaultdict(Counter)
        for item in self.items:
            table[item["split"]][item["reason"]] += 1
        return {split: dict(sorted(counter.items())) for split, counter in table.items()}

    def count(self, reason: str | None = None, split: str | None = None) -> int:
        """Number of items with the given reason and split (None matches any)."""
        return sum(
            1
            for item in self.items
            if (reason is None or item["reason"] == reason) and (split is None or item["split"] == split)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: counts per split, totals per reason, a few examples per reason and the statistics."""
        examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in self.items:
            if len(examples[item["reason"]]) < self.max_examples:
                examples[item["reason"]].append(item)
        totals = Counter(item["reason"] for item in self.items)
        return {
            "benchmark": self.benchmark,
            "counts": self.counts(),
            "totals": dict(sorted(totals.items())),
            "examples": dict(examples),
            "statistics": self.statistics,
        }

    def to_json(self, path: str | Path) -> Path:
        """Writes :meth:`to_dict` to ``path`` (``report.json``) and returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    def write_jsonl(self, path: str | Path) -> Path:
        """Writes every item, one JSON object a line (``skipped.jsonl``), and returns the path."""
        path = Path(path)
        with path.open("w", encoding="utf-8") as handle:
            for item in self.items:
                handle.write(json.dumps(item) + "\n")
        return path

    def summary(self) -> str:
        """A few human-readable lines: statistics per split, then repaired/skipped counts per reason and split."""
        lines = [f"{self.benchmark}: preparation report"]
        for split, stats in self.statistics.items():
            lines.append(
                f"  {split}: {stats['paragraphs']:,} paragraphs, {stats['sentences']:,} sentences "
                f"({stats['sentences_per_paragraph']:.2f} per paragraph), {stats['videos']:,} videos, "
                f"mean duration {stats['mean_duration']:.1f} s"
            )
        if not self.items:
            lines.append("  nothing repaired or skipped")
        for split, counter in self.counts().items():
            for reason, number in counter.items():
                action = "repaired" if reason in REPAIR_REASONS else "skipped"
                lines.append(f"  {split}: {action} {number:,} x {reason}")
        return "\n".join(lines)


def annotation_path(annotations_dir: str | Path, file_name: str, benchmark: str) -> Path:
    """``annotations_dir / file_name``, or a DataFormatError naming the benchmark and the missing file."""
    path = Path(annotations_dir) / file_name
    if not path.is_file():
        raise DataFormatError(f"{benchmark}: annotation file {path} not found")
    return path


def read_json_object(path: Path) -> dict[str, Any]:
    """Loads a JSON file whose top level must be an object; a DataFormatError names the file otherwise."""
    data = read_json_file(path)
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected a JSON object {{video_id: entry}}, got {type(data).__name__}")
    return data


def _check_structure(paragraph: RawParagraph) -> None:
    where = f"video {paragraph.video_id!r} in {paragraph.source}"
    for name in ("sentences", "timestamps"):
        if not isinstance(getattr(paragraph, name), list | tuple):
            raise DataFormatError(f"{where}: expected a list of {name}, got {getattr(paragraph, name)!r}")
    if not (isinstance(paragraph.duration, int | float) and math.isfinite(paragraph.duration)):
        raise DataFormatError(f"{where}: expected a finite duration in seconds, got {paragraph.duration!r}")
    if paragraph.duration <= 0:
        raise DataFormatError(f"{where}: expected a positive duration, got {paragraph.duration}")
    if len(paragraph.sentences) != len(paragraph.timestamps):
        raise DataFormatError(
            f"{where}: {len(paragraph.sentences)} sentences but {len(paragraph.timestamps)} timestamps"
        )
    for index, (sentence, moment) in enumerate(zip(paragraph.sentences, paragraph.timestamps, strict=True)):
        if not isinstance(sentence, str):
            raise DataFormatError(f"{where}, sentence {index}: expected a string, got {sentence!r}")
        if not (
            isinstance(moment, Sequence)
            and len(moment) == 2
            and all(isinstance(value, int | float) and math.isfinite(value) for value in moment)
        ):
            raise DataFormatError(f"{where}, sentence {index}: expected [start, end] finite seconds, got {moment!r}")


def _repair_moment(
    moment: Sequence[float], duration: float, policy: DefectPolicy
) -> tuple[tuple[float, float] | None, list[tuple[str, str]]]:
    """Applies steps 1–5 of the policy to one moment; returns the moment (None if skipped) and (reason, detail)s."""
    start, end = float(moment[0]), float(moment[1])
    events = []
    if start > end:
        events.append(("inverted_moment", f"[{start}, {end}] swapped"))
        start, end = end, start
    if start < 0:
        events.append(("negative_start", f"start {start} clipped to 0"))
        start = 0.0
    if start >= duration:
        where = f"[{start}, {end}] starts at or after the duration {duration}"
        if policy.outside_moment == "drop":
            return None, [*events, ("dropped_outside_moment", f"{where}; sentence dropped")]
        clamped = (max(0.0, duration - policy.zero_length_width), float(duration))
        return clamped, [*events, ("clamped_outside_moment", f"{where}; clamped to [{clamped[0]}, {clamped[1]}]")]
    if end > duration + policy.time_tolerance:
        events.append(("end_after_duration", f"end {end} clipped to the duration {duration}"))
    end = min(end, duration)
    if end - start <= policy.time_tolerance:
        width = min(policy.zero_length_width, duration)
        new_start = min(max(0.0, (start + end - width) / 2), duration - width)
        events.append(("zero_length_moment", f"[{start}, {end}] widened to [{new_start}, {new_start + width}]"))
        start, end = new_start, new_start + width
    return (start, end), events


def _where(paragraph: RawParagraph) -> dict[str, str]:
    return {"paragraph_id": paragraph.paragraph_id, "video_id": paragraph.video_id, "source": paragraph.source}


def clean_paragraph(
    paragraph: RawParagraph, split: str, policy: DefectPolicy, report: PreparationReport
) -> dict[str, Any] | None:
    """Applies the defect policy to one paragraph and returns its row (None when the whole paragraph is dropped).

    Args:
        paragraph (RawParagraph): the paragraph as read.
        split (str): split name, for the report.
        policy (DefectPolicy): repair parameters.
        report (PreparationReport): receives one item per repair or skip.

    Returns:
        dict or None: a paragraph row with the columns of ``PARAGRAPH_COLUMNS``; sentences are stripped.

    Raises:
        DataFormatError: on a structural defect (see the module docstring), naming the video and the file.
    """
    _check_structure(paragraph)
    sentences, timestamps = [], []
    for index, (sentence, moment) in enumerate(zip(paragraph.sentences, paragraph.timestamps, strict=True)):
        repaired, events = _repair_moment(moment, paragraph.duration, policy)
        if repaired is not None and not sentence.strip():
            events.append(("empty_sentence", "sentence is empty after strip()"))
            repaired = None
        for reason, detail in events:
            report.add(split, reason, sentence_index=index, detail=detail, **_where(paragraph))
        if repaired is not None:
            sentences.append(sentence.strip())
            timestamps.append(list(repaired))
    if not sentences:
        report.add(split, "empty_paragraph", detail="no sentence left after the defect policy", **_where(paragraph))
        return None
    return {
        "paragraph_id": paragraph.paragraph_id,
        "video_id": paragraph.video_id,
        "duration": float(paragraph.duration),
        "sentences": sentences,
        "timestamps": timestamps,
    }


def paragraph_statistics(rows: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Counts of a split: paragraphs, sentences, sentences per paragraph (mean, max), videos, mean duration (s).

    The mean duration is taken over paragraphs, as in the statistics of ``shared/benchmarks/README.md``.
    """
    rows = list(rows)
    lengths = [len(row["sentences"]) for row in rows]
    return {
        "paragraphs": len(rows),
        "sentences": sum(lengths),
        "sentences_per_paragraph": sum(lengths) / max(len(rows), 1),
        "max_sentences": max(lengths, default=0),
        "videos": len({row["video_id"] for row in rows}),
        "mean_duration": sum(row["duration"] for row in rows) / max(len(rows), 1),
    }
