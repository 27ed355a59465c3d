"""ActivityNet Captions annotations (Krishna et al., ICCV 2017) as paragraph rows, as the paper uses them (§IV-A).

Splits follow the paper: ``train`` = ``train.json`` (10,009 paragraphs), ``validation`` = ``val_1.json`` (4,917),
``test`` = ``val_2.json`` (4,885). One paragraph per video, sentences in annotation order; times are in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import DataFormatError
from .schema import BenchmarkSpec, RawParagraph, annotation_path, read_json_object

__all__ = ["ACTIVITYNET_CAPTIONS", "read_activitynet_split"]

_NAME = "activitynet_captions"
_SPLIT_FILES = {"train": "train.json", "validation": "val_1.json", "test": "val_2.json"}
_KEYS = ("duration", "timestamps", "sentences")


def read_activitynet_split(annotations_dir: str | Path, split: str) -> Iterator[RawParagraph]:
    """Reads one split file ``{video_id: {"duration", "timestamps", "sentences"}}`` in file order.

    Args:
        annotations_dir (str or Path): folder holding ``train.json``, ``val_1.json`` and ``val_2.json``.
        split (str): ``"train"``, ``"validation"`` or ``"test"``.

    Yields:
        RawParagraph: one per video, ``paragraph_id == video_id``.

    Raises:
        DataFormatError: on a missing file, invalid JSON or an entry without the three keys.
    """
    path = annotation_path(annotations_dir, _SPLIT_FILES[split], _NAME)
    for video_id, entry in read_json_object(path).items():
        if not isinstance(entry, dict) or any(key not in entry for key in _KEYS):
            found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise DataFormatError(f"{path}: entry {video_id!r}: expected the keys {list(_KEYS)}, got {found}")
        yield RawParagraph(
            paragraph_id=video_id,
            video_id=video_id,
            duration=entry["duration"],
            sentences=entry["sentences"],
            timestamps=entry["timestamps"],
            source=path.name,
        )


ACTIVITYNET_CAPTIONS = BenchmarkSpec(
    name=_NAME,
    pretty_name="ActivityNet Captions (paragraphs)",
    split_files=_SPLIT_FILES,
    read_split=read_activitynet_split,
    options=(),
    feature_layout="activitynet",
    description=(
        "Untrimmed YouTube videos of ActivityNet v1.3, each described by a paragraph of temporally localised "
        "sentences. The paper (DMR-JRG, §IV-A) uses train / val_1 / val_2 as train / validation / test "
        "(10,009 / 4,917 / 4,885 video-paragraph pairs, 3.63 sentences per paragraph)."
    ),
    homepage="https://cs.stanford.edu/people/ranjaykrishna/densevid/",
    citation="""@inproceedings{krishna2017dense,
  title = {Dense-Captioning Events in Videos},
  author = {Krishna, Ranjay and Hata, Kenji and Ren, Frederic and Fei-Fei, Li and Niebles, Juan Carlos},
  booktitle = {Proceedings of the IEEE International Conference on Computer Vision (ICCV)},
  year = {2017}
}""",
    license_note=(
        "No license is stated for the ActivityNet Captions annotations (Hugging Face marks it `other`). "
        "Treat them as academic, non-commercial research data and check the official terms before redistributing."
    ),
)
