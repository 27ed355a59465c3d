"""prepare_benchmark: Hub-ready folder (parquet configs, card, report) loadable offline with datasets.load_dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml

from dmr_jrg_hf.data import open_features, prepare_benchmark, write_random_features
from dmr_jrg_hf.errors import DataFormatError

REPO = Path(__file__).resolve().parents[2]
SHARED_BENCHMARKS = REPO.parent / "shared" / "benchmarks"
LENGTHS = {"s1-d1.avi": 30, "s1-d2.avi": 45, "s2-d1.avi": 20}


def _tacos_folder(tmp_path):
    folder = tmp_path / "tacos"
    folder.mkdir()
    entry = {
        "timestamps": [[10, 40], [50, 90], [10, 90], [95, 80]],
        "sentences": ["cut", "wash", "cook", "serve"],
        "fps": 10.0,
        "num_frames": 100,
    }
    splits = {"train.json": ["s1-d1.avi", "s1-d2.avi"], "val.json": ["s2-d1.avi"], "test.json": ["s1-d1.avi"]}
    for name, video_ids in splits.items():
        (folder / name).write_text(json.dumps({video_id: entry for video_id in video_ids}))
    return folder


@pytest.fixture
def exported(tmp_path):
    features = write_random_features(LENGTHS, tmp_path / "tall_c3d_features.hdf5", layout="tacos", feature_dim=16)
    out = tmp_path / "out"
    report = prepare_benchmark("tacos", _tacos_folder(tmp_path), features, out, max_shard_size=1_000, batch_bytes=1)
    return out, features, report


def _card_metadata(out: Path) -> dict:
    text = (out / "README.md").read_text()
    assert text.startswith("---\n"), "card starts with YAML metadata"
    return yaml.safe_load(text.split("---\n")[1])


def test_folder_layout_and_card(exported):
    out, _, report = exported
    assert sorted(path.name for path in (out / "paragraphs").iterdir()) == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
        "validation-00000-of-00001.parquet",
    ]
    shards = sorted(path.name for path in (out / "videos").iterdir())
    assert shards == [f"corpus-{i:05d}-of-00003.parquet" for i in range(3)], (
        "a video (>= 1,280 bytes) fills a 1 kB shard"
    )
    metadata = _card_metadata(out)
    assert [config["config_name"] for config in metadata["configs"]] == ["paragraphs", "videos"]
    assert metadata["configs"][0]["default"] is True and metadata["license"] == "other"
    card = (out / "README.md").read_text()
    assert "@article{regneri2013grounding" in card and "No license was found" in card, "citation and license note"
    assert "| train | 4 | 8 | 2.00 (2) | 2 | 10.0 |" in card, "statistics table"
    assert "| train | `inverted_moment` | repaired | 2 |" in card, "report table"
    assert json.loads((out / "report.json").read_text())["counts"] == report.counts()
    assert len((out / "skipped.jsonl").read_text().splitlines()) == len(report.items) == 4


def test_load_dataset_offline_from_the_folder(exported, tmp_path):
    out, features, report = exported
    paragraphs = datasets.load_dataset(str(out), "paragraphs", cache_dir=str(tmp_path / "hf"))
    assert {split: ds.num_rows for split, ds in paragraphs.items()} == {"train": 4, "validation": 2, "test": 2}
    assert paragraphs["train"][0]["paragraph_id"] == "s1-d1.avi#0"
    assert paragraphs["train"][1]["timestamps"] == [[1.0, 9.0], [8.0, 9.5]], "inverted [9.5, 8.0] swapped"
    videos = datasets.load_dataset(str(out), "videos", cache_dir=str(tmp_path / "hf"))["corpus"]
    assert videos.features["video_features"] == datasets.Array2D((None, 16), "float32")
    reader = open_features(features)
    for row in videos.with_format("numpy"):
        np.testing.assert_array_equal(row["video_features"], reader[row["video_id"]], err_msg=row["video_id"])
    assert sorted(videos["video_id"]) == sorted(LENGTHS) and videos["duration"] == [10.0, 10.0, 10.0]


def test_annotation_only_export_and_non_empty_folder(tmp_path):
    folder = _tacos_folder(tmp_path)
    prepare_benchmark("tacos", folder, None, tmp_path / "out")
    assert not (tmp_path / "out" / "videos").exists()
    assert [config["config_name"] for config in _card_metadata(tmp_path / "out")["configs"]] == ["paragraphs"]
    with pytest.raises(DataFormatError, match="is not empty; pass overwrite=True"):
        prepare_benchmark("tacos", folder, None, tmp_path / "out")
    prepare_benchmark("tacos", folder, None, tmp_path / "out", overwrite=True)
    assert datasets.load_dataset(str(tmp_path / "out"), "paragraphs", cache_dir=str(tmp_path / "hf"))["test"].num_rows


def test_a_split_left_empty_is_not_written_and_the_card_says_so(tmp_path, caplog):
    without_validation_video = {video: length for video, length in LENGTHS.items() if video != "s2-d1.avi"}
    features = write_random_features(without_validation_video, tmp_path / "f.hdf5", layout="tacos", feature_dim=8)
    out = tmp_path / "out"
    with caplog.at_level("WARNING", logger="dmr_jrg_hf.data.prepare"):
        report = prepare_benchmark("tacos", _tacos_folder(tmp_path), features, out, missing_features="skip")
    assert report.statistics["validation"]["paragraphs"] == 0
    assert "split 'validation' has no paragraph left" in caplog.text
    assert sorted(path.name for path in (out / "paragraphs").iterdir()) == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
    ]
    splits = [entry["split"] for entry in _card_metadata(out)["configs"][0]["data_files"]]
    assert splits == ["train", "test"]
    assert "Splits with no paragraph left are not written: validation." in (out / "README.md").read_text()
    paragraphs = datasets.load_dataset(str(out), "paragraphs", cache_dir=str(tmp_path / "hf"))
    assert {split: ds.num_rows for split, ds in paragraphs.items()} == {"train": 4, "test": 2}
    nothing = write_random_features({"other.avi": 5}, tmp_path / "none.hdf5", layout="tacos", feature_dim=8)
    with pytest.raises(DataFormatError, match="no paragraph is left in any split"):
        prepare_benchmark("tacos", tmp_path / "tacos", nothing, tmp_path / "none", missing_features="skip")
    assert not (tmp_path / "none").exists(), "nothing written"


@pytest.mark.slow
def test_script_on_real_charades_with_generated_features(tmp_path):
    annotations = SHARED_BENCHMARKS / "charades_sta"
    if not annotations.is_dir():
        pytest.skip(f"Charades-STA annotations not found at {annotations}")
    features = tmp_path / "features.hdf5"
    scripts = REPO / "datasets_scripts"
    make = [sys.executable, str(scripts / "make_random_features.py"), "charades_sta"]
    make += ["--annotations", str(annotations)]
    subprocess.run([*make, "--out", str(features), "--feature-dim", "8", "--num-frames", "6"], check=True)
    prepare = [sys.executable, str(scripts / "prepare_charades_sta.py"), "--annotations", str(annotations)]
    result = subprocess.run(
        [*prepare, "--features", str(features), "--out", str(tmp_path / "out"), "--feature-dim", "8"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "train: 5,338 paragraphs, 12,408 sentences" in result.stdout, result.stdout
    assert "train: repaired 3 x clamped_outside_moment" in result.stdout
    paragraphs = datasets.load_dataset(str(tmp_path / "out"), "paragraphs", cache_dir=str(tmp_path / "hf"))
    assert paragraphs["test"].num_rows == 1_334
    failed = subprocess.run(
        [*prepare, "--features", str(features), "--out", str(tmp_path / "out"), "--feature-dim", "9", "--overwrite"],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1 and "expected (T, 9) float32, got (6, 8)" in failed.stderr, failed.stderr
    assert datasets.load_dataset(str(tmp_path / "out"), "paragraphs", cache_dir=str(tmp_path / "hf2"))[
        "test"
    ].num_rows == (1_334), "the failed --overwrite run left the folder as it was"
