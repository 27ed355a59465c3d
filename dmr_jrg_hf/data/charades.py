"""Charades-STA annotations (Gao et al., ICCV 2017) as paragraph rows: all moments of one video form a paragraph.

Annotation lines read ``VID start end##sentence`` (seconds); durations come from the ``length`` column of
``Charades_v1_{train,test}.csv`` (parsed by header name, so the full original tables work as well as trimmed ones).
The file order of a video's lines is arbitrary, so sentences are sorted by start time by default
(``sentence_order="start"``; ``"file"`` keeps the file order). Splits: ``train`` (5,338) and ``test`` (1,334).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from ..errors import DataFormatError
from ..files import read_text_file
from .schema import BenchmarkSpec, RawParagraph, annotation_path

__all__ = ["CHARADES_STA", "SENTENCE_ORDERS", "read_charades_durations", "read_charades_split"]

_NAME = "charades_sta"
_SPLIT_FILES = {"train": "charades_sta_train.txt", "test": "charades_sta_test.txt"}
_DURATION_FILES = ("Charades_v1_train.csv", "Charades_v1_test.csv")
SENTENCE_ORDERS = ("start", "file")


def read_charades_durations(annotations_dir: str | Path) -> dict[str, float]:
    """Video id -> duration (seconds) from the ``id`` and ``length`` columns of both Charades CSV tables.

    Raises:
        DataFormatError: on a missing file or column, or a ``length`` that is not a number (names file and line).
    """
    durations: dict[str, float] = {}
    for file_name in _DURATION_FILES:
        path = annotation_path(annotations_dir, file_name, _NAME)
        with io.StringIO(read_text_file(path), newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"id", "length"} <= set(reader.fieldnames):
                raise DataFormatError(f"{path}: expected the columns 'id' and 'length', got {reader.fieldnames}")
            for row in reader:
                try:
                    durations[row["id"]] = float(row["length"])
                except (TypeError, ValueError) as error:
                    raise DataFormatError(
                        f"{path}:{reader.line_num}: video {row['id']!r}: 'length' is not a number: {row['length']!r}"
                    ) from error
    return durations


def _parse_line(line: str, where: str) -> tuple[str, float, float, str]:
    head, separator, sentence = line.partition("##")
    fields = head.split()
    if not separator or len(fields) != 3:
        raise DataFormatError(f"{where}: expected 'VID start end##sentence', got {line!r}")
    try:
        return fields[0], float(fields[1]), float(fields[2]), sentence
    except ValueError as error:
        raise DataFormatError(f"{where}: start and end must be seconds, got {line!r}") from error


def _group_lines(path: Path) -> dict[str, list[tuple[float, float, str, int]]]:
    grouped: dict[str, list[tuple[float, float, str, int]]] = {}
    with io.StringIO(read_text_file(path), newline=None) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            video_id, start, end, sentence = _parse_line(line.rstrip("\r\n"), f"{path}:{number}")
            grouped.setdefault(video_id, []).append((start, end, sentence, number))
    return grouped


def read_charades_split(
    annotations_dir: str | Path, split: str, sentence_order: str = "start"
) -> Iterator[RawParagraph]:
    """Reads one split: one paragraph per video, in order of the video's first line.

    Args:
        annotations_dir (str or Path): folder with ``charades_sta_{train,test}.txt`` and ``Charades_v1_*.csv``.
        split (str): ``"train"`` or ``"test"``.
        sentence_order (str, default "start"): ``"start"`` sorts a video's sentences by (start, end) of the moment,
            with inverted moments read as (min, max); ``"file"`` keeps the file order.

    Yields:
        RawParagraph: ``paragraph_id == video_id``; ``source`` is ``file:first_line``.

    Raises:
        DataFormatError: on a malformed line (file and line number), a missing file, or a video without duration.
    """
    if sentence_order not in SENTENCE_ORDERS:
        raise DataFormatError(f"sentence_order must be one of {SENTENCE_ORDERS}, got {sentence_order!r}")
    path = annotation_path(annotations_dir, _SPLIT_FILES[split], _NAME)
    durations = read_charades_durations(annotations_dir)
    for video_id, moments in _group_lines(path).items():
        if video_id not in durations:
            raise DataFormatError(
                f"video {video_id!r} ({path.name}:{moments[0][3]}) has no 'length' in {' or '.join(_DURATION_FILES)}"
            )
        if sentence_order == "start":
            moments = sorted(moments, key=lambda moment: (min(moment[:2]), max(moment[:2])))
        yield RawParagraph(
            paragraph_id=video_id,
            video_id=video_id,
            duration=durations[video_id],
            sentences=[moment[2] for moment in moments],
            timestamps=[[moment[0], moment[1]] for moment in moments],
            source=f"{path.name}:{moments[0][3]}",
        )


CHARADES_STA = BenchmarkSpec(
    name=_NAME,
    pretty_name="Charades-STA (paragraphs)",
    split_files=_SPLIT_FILES,
    read_split=read_charades_split,
    options=("sentence_order",),
    feature_layout="charades",
    description=(
        "Indoor activity videos of Charades with sentence-level temporal annotations (Charades-STA). All the "
        "sentences of a video form its paragraph, sorted by start time. The paper (DMR-JRG, §IV-A) uses the "
        "official split: 5,338 / 1,334 video-paragraph pairs, 2.41 sentences per paragraph."
    ),
    homepage="https://github.com/jiyanggao/TALL",
    citation="""@inproceedings{gao2017tall,
  title = {TALL: Temporal Activity Localization via Language Query},
  author = {Gao, Jiyang and Sun, Chen and Yang, Zhenheng and Nevatia, Ram},
  booktitle = {Proceedings of the IEEE International Conference on Computer Vision (ICCV)},
  year = {2017}
}
@inproceedings{sigurdsson2016hollywood,
  title = {Hollywood in Homes: Crowdsourcing Data Collection for Activity Understanding},
  author = {Sigurdsson, Gunnar A. and Varol, G{\\"u}l and Wang, Xiaolong and Farhadi, Ali
            and Laptev, Ivan and Gupta, Abhinav},
  booktitle = {Proceedings of the European Conference on Computer Vision (ECCV)},
  year = {2016}
}""",
    license_note=(
        "Charades-STA states no license; it builds on Charades (Allen Institute for AI), whose terms are reported as "
        "non-commercial research use without redistribution. Check the official Charades license before pushing "
        "this folder to a public repository."
    ),
)
