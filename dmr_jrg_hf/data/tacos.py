"""TACoS annotations (Regneri et al., TACL 2013) in the 2D-TAN JSON format, rebuilt into annotator paragraphs.

Each video's list concatenates the descriptions of many annotators without boundaries; :func:`split_annotator_runs`
rebuilds them (DESIGN §2): a new paragraph starts when a start frame is lower than the previous one *and* not above
any start already in the current paragraph. Times are frames, divided by ``fps``; the duration is ``num_frames / fps``.

Note:
    The paper reports 1,107 / 418 / 380 TaCoS pairs; its splitting rule is not published. This rule gives
    1,209 / 453 / 415 paragraphs on the 2D-TAN files, with 8.78 sentences per paragraph (paper: 8.75).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import DataFormatError
from .schema import BenchmarkSpec, RawParagraph, annotation_path, read_json_object

__all__ = ["TACOS", "read_tacos_split", "split_annotator_runs"]

_NAME = "tacos"
_SPLIT_FILES = {"train": "train.json", "validation": "val.json", "test": "test.json"}
_KEYS = ("timestamps", "sentences", "fps", "num_frames")


def split_annotator_runs(starts: Sequence[float]) -> list[tuple[int, int]]:
    """Splits a sequence of start frames into annotator runs: ``[(first, stop), ...]`` index ranges.

    A run ends before index ``i`` when ``starts[i] < starts[i - 1]`` and ``starts[i] <= min(starts of the run)``.

    Example:
        >>> split_annotator_runs([10, 50, 40, 90, 10, 60, 5])
        [(0, 4), (4, 6), (6, 7)]
    """
    runs, first, lowest = [], 0, None
    for index, start in enumerate(starts):
        if index > first and start < starts[index - 1] and start <= lowest:
            runs.append((first, index))
            first, lowest = index, None
        lowest = start if lowest is None else min(lowest, start)
    if len(starts):
        runs.append((first, len(starts)))
    return runs


def _check_entry(path: Path, video_id: str, entry: object) -> None:
    if not isinstance(entry, dict) or any(key not in entry for key in _KEYS):
        found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise DataFormatError(f"{path}: entry {video_id!r}: expected the keys {list(_KEYS)}, got {found}")
    if not all(isinstance(entry[key], int | float) and entry[key] > 0 for key in ("fps", "num_frames")):
        raise DataFormatError(f"{path}: entry {video_id!r}: fps and num_frames must be positive numbers")
    timestamps = entry["timestamps"]
    if not (isinstance(timestamps, list) and all(isinstance(t, list) and len(t) == 2 for t in timestamps)):
        raise DataFormatError(f"{path}: entry {video_id!r}: expected timestamps [[start_frame, end_frame], ...]")
    if not all(isinstance(value, int | float) for moment in timestamps for value in moment):
        raise DataFormatError(f"{path}: entry {video_id!r}: timestamps must be frame numbers")
    if not isinstance(entry["sentences"], list) or len(entry["sentences"]) != len(timestamps):
        raise DataFormatError(f"{path}: entry {video_id!r}: expected one sentence per timestamp")


def read_tacos_split(annotations_dir: str | Path, split: str) -> Iterator[RawParagraph]:
    """Reads one split file and yields one paragraph per annotator run.

    Args:
        annotations_dir (str or Path): folder holding ``train.json``, ``val.json`` and ``test.json``.
        split (str): ``"train"``, ``"validation"`` or ``"test"``.

    Yields:
        RawParagraph: ``paragraph_id`` is ``"<video_id>#<run>"``; ``video_id`` is the feature key (``s13-d21.avi``).

    Raises:
        DataFormatError: on a missing file, invalid JSON or a malformed entry (names the file and the video).
    """
    path = annotation_path(annotations_dir, _SPLIT_FILES[split], _NAME)
    for video_id, entry in read_json_object(path).items():
        _check_entry(path, video_id, entry)
        fps = float(entry["fps"])
        seconds = [[start / fps, end / fps] for start, end in entry["timestamps"]]
        for run, (first, stop) in enumerate(split_annotator_runs([start for start, _ in entry["timestamps"]])):
            yield RawParagraph(
                paragraph_id=f"{video_id}#{run}",
                video_id=video_id,
                duration=entry["num_frames"] / fps,
                sentences=entry["sentences"][first:stop],
                timestamps=seconds[first:stop],
                source=path.name,
            )


TACOS = BenchmarkSpec(
    name=_NAME,
    pretty_name="TACoS (annotator paragraphs)",
    split_files=_SPLIT_FILES,
    read_split=read_tacos_split,
    options=(),
    feature_layout="tacos",
    description=(
        "Cooking videos of MPII Composites with many annotators' descriptions per video (2D-TAN split). Each "
        "annotator's description is one paragraph, rebuilt from the start frames. The paper (DMR-JRG, §IV-A) "
        "reports 1,107 / 418 / 380 pairs and 8.75 sentences per paragraph; the rebuilt split differs (see the card)."
    ),
    homepage="https://www.coli.uni-saarland.de/projects/smile/page.php?id=tacos",
    citation="""@article{regneri2013grounding,
  title = {Grounding Action Descriptions in Videos},
  author = {Regneri, Michaela and Rohrbach, Marcus and Wetzel, Dominikus and Thater, Stefan
            and Schiele, Bernt and Pinkal, Manfred},
  journal = {Transactions of the Association for Computational Linguistics},
  volume = {1},
  pages = {25--36},
  year = {2013}
}""",
    license_note=(
        "No license was found for the TACoS annotations. Treat them as academic, non-commercial research data and "
        "check the official terms before redistributing."
    ),
)
