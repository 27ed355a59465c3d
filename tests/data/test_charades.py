"""Charades-STA builder on the real annotation files with generated features, the sentence order option and errors."""

from __future__ import annotations

import pytest

from dmr_jrg_hf.data.builders import load_benchmark, make_builder
from dmr_jrg_hf.data.readers import write_random_features
from dmr_jrg_hf.errors import ConfigError, DataFormatError

NAME = "charades_sta"
CSV_HEADER = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\r\n"


@pytest.fixture(scope="module")
def annotations(shared_benchmarks):
    if not (shared_benchmarks / NAME).is_dir():
        pytest.skip(f"Charades-STA annotations not found at {shared_benchmarks / NAME}")
    return shared_benchmarks / NAME


@pytest.fixture(scope="module")
def generated(annotations, tmp_path_factory):
    """The real annotations with random features (charades layout, D = 12) for every video, through `datasets`."""
    root = tmp_path_factory.mktemp("charades")
    rows, _ = make_builder(NAME, annotations, cache_dir=root / "cache").collect()
    lengths = {row["video_id"]: 4 + int(row["duration"]) // 4 for split in rows.values() for row in split}
    features = write_random_features(lengths, root / "vgg_rgb_features.hdf5", layout="charades", feature_dim=12)
    return load_benchmark(NAME, annotations, features, feature_dim=12, cache_dir=root / "cache"), lengths


@pytest.mark.slow
def test_paper_counts_with_generated_features(generated):
    data, lengths = generated
    assert {split: data.paragraphs[split].num_rows for split in data.paragraphs} == {"train": 5_338, "test": 1_334}
    sentences = sum(len(s) for split in data.paragraphs.values() for s in split["sentences"])
    assert sentences == 16_128 and round(sentences / 6_672, 2) == 2.42, "2.42 sentences per paragraph"
    video_id = data.paragraphs["test"][0]["video_id"]
    assert data.features[video_id].shape == (lengths[video_id], 12), "features read lazily from the HDF5 file"


def test_real_defects_are_repaired_not_dropped(generated):
    data, _ = generated
    assert data.report.counts() == {
        "train": {"clamped_outside_moment": 3, "end_after_duration": 1_802, "inverted_moment": 4},
        "test": {"end_after_duration": 562},
    }
    row = data.paragraphs["train"].filter(lambda r: r["video_id"] == "AKKWU")[0]
    assert row["timestamps"] == [pytest.approx([11.17, 12.17])] * 2, "moments past the CSV length clamped"
    for split in data.paragraphs.values():
        for duration, moments in zip(split["duration"], split["timestamps"], strict=True):
            assert all(0 <= start < end <= duration for start, end in moments)


def test_sentences_sorted_by_start_time(generated):
    data, _ = generated
    row = data.paragraphs["train"].filter(lambda r: r["video_id"] == "Y6R7T")[0]
    starts = [start for start, _ in row["timestamps"]]
    assert starts == sorted(starts) and len(starts) > 1, "sentence_order='start'"
    for split in data.paragraphs.values():
        for moments in split["timestamps"]:
            assert [m[0] for m in moments] == sorted(m[0] for m in moments)


def test_file_order_option_keeps_the_file_order(annotations, tmp_path):
    rows, _ = make_builder(NAME, annotations, cache_dir=tmp_path, sentence_order="file").collect()
    by_id = {row["video_id"]: row for row in rows["train"]}
    assert by_id["Y6R7T"]["sentences"][0] == "person begins to play on a phone.", "first line of Y6R7T in the file"
    starts = [[moment[0] for moment in row["timestamps"]] for row in rows["train"]]
    unsorted = sum(1 for row_starts in starts if row_starts != sorted(row_starts))
    assert unsorted > 100, "file order differs from start order for many videos"
    with pytest.raises(ConfigError, match=r"sentence_order must be one of \('start', 'file'\)"):
        make_builder(NAME, annotations, cache_dir=tmp_path, sentence_order="time")


def test_missing_features_error_or_counted_skip(annotations, tmp_path):
    features = write_random_features({"AO8RW": 5}, tmp_path / "few.hdf5", layout="charades", feature_dim=4)
    with pytest.raises(DataFormatError, match=r"charades_sta train: 5337 videos have no features in .*few\.hdf5"):
        make_builder(NAME, annotations, features, cache_dir=tmp_path).collect()
    rows, report = make_builder(NAME, annotations, features, cache_dir=tmp_path, missing_features="skip").collect()
    assert [row["video_id"] for row in rows["train"]] == ["AO8RW"] and rows["test"] == []
    assert report.count("missing_features") == 5_337 + 1_334, "every dropped paragraph is counted"


def _write_folder(tmp_path, train_lines, csv_rows="AO8RW,,,,,,,,,,24.83\r\n", header=CSV_HEADER):
    folder = tmp_path / "charades"
    folder.mkdir()
    (folder / "charades_sta_train.txt").write_text(train_lines)
    (folder / "charades_sta_test.txt").write_text("AO8RW 0.0 6.9##a person is putting a book on a shelf.\n")
    (folder / "Charades_v1_train.csv").write_text(header + csv_rows, newline="")
    (folder / "Charades_v1_test.csv").write_text(header, newline="")
    return folder


@pytest.mark.parametrize(
    "lines, message",
    [
        ("AO8RW 0.0 6.9 a person sits.\n", r"charades_sta_train\.txt:1: expected 'VID start end##sentence'"),
        ("AO8RW 0.0 6.9##ok\nAO8RW 1.0##no end\n", r"charades_sta_train\.txt:2: expected"),
        ("AO8RW zero 6.9##a person sits.\n", r"charades_sta_train\.txt:1: start and end must be seconds"),
        ("XXXXX 0.0 6.9##a person sits.\n", r"video 'XXXXX' \(charades_sta_train\.txt:1\) has no 'length'"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, lines, message):
    with pytest.raises(DataFormatError, match=message):
        make_builder(NAME, _write_folder(tmp_path, lines), cache_dir=tmp_path / "cache").collect()


def test_malformed_duration_tables(tmp_path):
    folder = _write_folder(tmp_path, "AO8RW 0.0 6.9##a.\n", csv_rows="AO8RW,,,,,,,,,,long\r\n")
    with pytest.raises(DataFormatError, match=r"Charades_v1_train\.csv:2: video 'AO8RW': 'length' is not a number"):
        make_builder(NAME, folder, cache_dir=tmp_path / "cache").collect()
    (folder / "Charades_v1_train.csv").write_text("id,duration\r\nAO8RW,3\r\n")
    with pytest.raises(DataFormatError, match=r"expected the columns 'id' and 'length'"):
        make_builder(NAME, folder, cache_dir=tmp_path / "cache").collect()


def test_blank_lines_are_ignored_and_lines_of_a_video_are_merged(tmp_path):
    lines = "AO8RW 5.0 6.9##second.\n\nAO8RW 0.0 2.0##first.\n"
    rows, report = make_builder(NAME, _write_folder(tmp_path, lines), cache_dir=tmp_path / "cache").collect()
    assert rows["train"][0]["sentences"] == ["first.", "second."] and report.items == []
