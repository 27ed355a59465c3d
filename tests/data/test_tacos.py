"""TACoS builder: annotator-paragraph rebuilding (DESIGN §2), counts next to the paper's, frames to seconds, errors."""

from __future__ import annotations

import json

import pytest

from dmr_jrg_hf.data.builders import make_builder
from dmr_jrg_hf.data.tacos import split_annotator_runs
from dmr_jrg_hf.errors import DataFormatError

NAME = "tacos"


@pytest.fixture(scope="module")
def collected(tmp_path_factory, shared_benchmarks):
    if not (shared_benchmarks / NAME).is_dir():
        pytest.skip(f"TACoS annotations not found at {shared_benchmarks / NAME}")
    return make_builder(NAME, shared_benchmarks / NAME, cache_dir=tmp_path_factory.mktemp("cache")).collect()


@pytest.mark.parametrize(
    "starts, runs",
    [
        ([], []),
        ([5], [(0, 1)]),
        ([1, 2, 3, 1, 2, 3], [(0, 3), (3, 6)]),
        ([10, 50, 40, 90, 10, 60, 5], [(0, 4), (4, 6), (6, 7)]),
        ([10, 30, 20, 40], [(0, 4)]),
        ([10, 30, 10], [(0, 2), (2, 3)]),
    ],
)
def test_split_annotator_runs(starts, runs):
    assert split_annotator_runs(starts) == runs, f"starts {starts}"


def test_rebuilt_counts_next_to_the_paper(collected):
    """Paper: 1,107 / 418 / 380 pairs, 8.75 sentences, 4.79 min; the rebuilt split has about 9% more paragraphs."""
    rows, report = collected
    counts = {split: len(split_rows) for split, split_rows in rows.items()}
    assert counts == {"train": 1_209, "validation": 453, "test": 415}
    sentences = {split: sum(len(row["sentences"]) for row in split_rows) for split, split_rows in rows.items()}
    assert sentences == {"train": 9_790, "validation": 4_436, "test": 4_001}
    assert round(sum(sentences.values()) / sum(counts.values()), 2) == 8.78, "paper: 8.75"
    durations = {row["video_id"]: row["duration"] for split_rows in rows.values() for row in split_rows}
    assert len(durations) == 127 and round(sum(durations.values()) / 127 / 60, 2) == 4.78, "paper: 4.79 min"
    assert report.counts() == {"train": {"end_after_duration": 43}, "test": {"end_after_duration": 5}}


def test_paragraph_ids_and_frames_to_seconds(collected):
    rows, _ = collected
    first = rows["train"][0]
    assert first["paragraph_id"] == "s17-d69.avi#0" and first["video_id"] == "s17-d69.avi"
    assert first["timestamps"][0] == pytest.approx([224 / 29.4, 358 / 29.4]), "frames divided by fps"
    assert (
        rows["train"][1]["paragraph_id"] == "s17-d69.avi#1"
        and rows["train"][1]["timestamps"][0][0] == first["timestamps"][0][0]
    ), "the second annotator restarts at the first action"


def _entry(**overrides):
    return {"timestamps": [[0, 30], [40, 60]], "sentences": ["a", "b"], "fps": 10.0, "num_frames": 100, **overrides}


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"timestamps": [], "sentences": []}, r"entry 's1-d1\.avi': expected the keys"),
        (_entry(fps=0), "fps and num_frames must be positive"),
        (_entry(timestamps=[[0, 30], [40]]), r"expected timestamps \[\[start_frame, end_frame\]"),
        (_entry(timestamps=[[0, 30], [40, "60"]]), "timestamps must be frame numbers"),
        (_entry(sentences=["a"]), "expected one sentence per timestamp"),
    ],
)
def test_malformed_entries_name_file_and_video(tmp_path, entry, message):
    folder = tmp_path / "tacos"
    folder.mkdir()
    for name in ("train.json", "val.json", "test.json"):
        (folder / name).write_text(json.dumps({"s1-d1.avi": entry if name == "val.json" else _entry()}))
    with pytest.raises(DataFormatError, match=rf"val\.json: .*{message}"):
        make_builder(NAME, folder, cache_dir=tmp_path / "cache").collect()


def test_real_annotations_with_generated_tall_c3d_features(tmp_path, shared_benchmarks):
    from dmr_jrg_hf.data.builders import load_benchmark
    from dmr_jrg_hf.data.readers import write_random_features

    annotations = shared_benchmarks / NAME
    videos = sorted(
        {vid for split in ("train", "val", "test") for vid in json.loads((annotations / f"{split}.json").read_text())}
    )
    features = write_random_features({vid: 20 for vid in videos}, tmp_path / "tall_c3d_features.hdf5", "tacos", 16)
    data = load_benchmark(NAME, annotations, features, feature_dim=16, cache_dir=tmp_path / "cache")
    assert {split: len(rows) for split, rows in data.paragraphs.items()} == {
        "train": 1209,
        "validation": 453,
        "test": 415,
    }
    row = data.paragraphs["test"][0]
    assert row["video_id"].endswith(".avi") and data.features[row["video_id"]].shape == (20, 16)
