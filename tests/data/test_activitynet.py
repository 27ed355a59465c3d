"""ActivityNet Captions builder on the real annotation files (paper counts, defect policy) and on malformed files."""

from __future__ import annotations

import json

import pytest

from dmr_jrg_hf.data.builders import load_benchmark, make_builder
from dmr_jrg_hf.data.readers import write_random_features
from dmr_jrg_hf.errors import DataFormatError

NAME = "activitynet_captions"


@pytest.fixture(scope="module")
def collected(tmp_path_factory, shared_benchmarks):
    if not (shared_benchmarks / NAME).is_dir():
        pytest.skip(f"ActivityNet Captions annotations not found at {shared_benchmarks / NAME}")
    builder = make_builder(NAME, shared_benchmarks / NAME, cache_dir=tmp_path_factory.mktemp("cache"))
    return builder.collect()


@pytest.mark.slow
def test_paper_counts(collected):
    rows, report = collected
    counts = {split: len(split_rows) for split, split_rows in rows.items()}
    assert counts == {"train": 10_009, "validation": 4_917, "test": 4_885}, "paper §IV-A: 10,009 / 4,917 / 4,885"
    sentences = sum(len(row["sentences"]) for split_rows in rows.values() for row in split_rows)
    assert sentences == 71_957 and round(sentences / 19_811, 2) == 3.63, "3.63 sentences per paragraph"
    durations = {row["video_id"]: row["duration"] for split_rows in rows.values() for row in split_rows}
    assert len(durations) == 14_926 and round(sum(durations.values()) / len(durations), 2) == 117.60
    assert report.statistics["train"]["paragraphs"] == 10_009


def test_annotation_order_and_stripped_sentences(collected):
    rows, _ = collected
    first = rows["train"][0]
    assert first["video_id"] == "v_QOlSCBRmfWY" and first["paragraph_id"] == "v_QOlSCBRmfWY"
    assert first["sentences"][1] == "The girl dances around the room while the camera captures her movements."
    assert first["timestamps"] == [[0.83, 19.86], [17.37, 60.81], [56.26, 79.42]], "annotation order kept"


def test_real_defects_are_repaired_not_dropped(collected):
    rows, report = collected
    row = next(row for row in rows["train"] if row["video_id"] == "v_0bosp4-pyTM")
    assert row["timestamps"][3] == [60.71, 61.29], "inverted moment [61.29, 60.71] swapped"
    zero = next(row for row in rows["train"] if row["video_id"] == "v_N7ppHQNikv8")
    assert zero["timestamps"][2] == pytest.approx([34.27, 35.27]), "zero-length moment widened to 1 s"
    assert report.counts() == {
        "train": {"end_after_duration": 29, "inverted_moment": 2, "zero_length_moment": 2},
        "validation": {"end_after_duration": 5},
        "test": {"end_after_duration": 1},
    }
    inverted = {item["video_id"] for item in report.items if item["reason"] == "inverted_moment"}
    assert inverted == {"v_0bosp4-pyTM", "v_rhOtqArO-3Y"}
    for split_rows in rows.values():
        for row in split_rows:
            assert all(0 <= start < end <= row["duration"] for start, end in row["timestamps"]), row["video_id"]


def _write_split_files(folder, train):
    folder.mkdir(exist_ok=True)
    good = {"v_b": {"duration": 5.0, "timestamps": [[0, 1]], "sentences": ["b"]}}
    (folder / "train.json").write_text(train if isinstance(train, str) else json.dumps(train))
    for name in ("val_1.json", "val_2.json"):
        (folder / name).write_text(json.dumps(good))
    return folder


@pytest.mark.parametrize(
    "train, message",
    [
        ("{not json", r"train\.json: not valid JSON"),
        ("[1, 2]", r"train\.json: expected a JSON object"),
        ({"v_a": {"duration": 5.0, "sentences": ["a"]}}, r"entry 'v_a': expected the keys"),
        ({"v_a": [1, 2]}, r"entry 'v_a': expected the keys .* got list"),
        ({"v_a": {"duration": -1, "timestamps": [[0, 1]], "sentences": ["a"]}}, "video 'v_a' .*positive duration"),
        ({"v_a": {"duration": 5, "timestamps": [[0, 1]], "sentences": ["a", "b"]}}, "2 sentences but 1 timestamps"),
        ({"v_a": {"duration": 5, "timestamps": [[0, None]], "sentences": ["a"]}}, r"sentence 0: expected \[start"),
    ],
)
def test_malformed_json_is_an_error_naming_file_and_entry(tmp_path, train, message):
    folder = _write_split_files(tmp_path / "anet", train)
    with pytest.raises(DataFormatError, match=message):
        make_builder(NAME, folder, cache_dir=tmp_path / "cache").collect()


def test_missing_split_file_is_an_error(tmp_path):
    folder = _write_split_files(tmp_path / "anet", {})
    (folder / "val_2.json").unlink()
    with pytest.raises(DataFormatError, match=r"activitynet_captions: annotation file .*val_2\.json not found"):
        make_builder(NAME, folder, cache_dir=tmp_path / "cache").collect()


def test_official_hdf5_layout_end_to_end(tmp_path):
    train = {
        "v_a": {"duration": 20.0, "timestamps": [[0, 5], [6, 4]], "sentences": ["one", " two"]},
        "v_c": {"duration": 8.0, "timestamps": [[1, 2]], "sentences": ["three"]},
    }
    folder = _write_split_files(tmp_path / "anet", train)
    features = write_random_features({"v_a": 9, "v_b": 4, "v_c": 6}, tmp_path / "c3d.hdf5", feature_dim=500)
    data = load_benchmark(NAME, folder, features, feature_dim=500, cache_dir=tmp_path / "cache")
    assert data.paragraphs["train"]["timestamps"][0] == [[0.0, 5.0], [4.0, 6.0]]
    assert data.features["v_c"].shape == (6, 500), "lazy reader of the official group layout"
    assert data.report.count("inverted_moment", "train") == 1
