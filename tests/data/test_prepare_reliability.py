"""Failure paths of benchmark preparation: a used output folder, a failure half-way, non-UTF-8 annotation files.

Each case asserts the error class, that the message names the item, and that the output folder is unchanged."""

from __future__ import annotations

import json

import pytest
from helpers import folder_snapshot

from dmr_jrg_hf.cli import main
from dmr_jrg_hf.data import prepare_benchmark, write_random_features
from dmr_jrg_hf.errors import DataFormatError

LENGTHS = {"s1-d1.avi": 30, "s1-d2.avi": 45, "s2-d1.avi": 20}
CSV_HEADER = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\r\n"


def _tacos_folder(root):
    folder = root / "tacos"
    folder.mkdir()
    entry = {"timestamps": [[10, 40], [50, 90]], "sentences": ["cut", "wash"], "fps": 10.0, "num_frames": 100}
    splits = {"train.json": ["s1-d1.avi", "s1-d2.avi"], "val.json": ["s2-d1.avi"], "test.json": ["s1-d1.avi"]}
    for name, video_ids in splits.items():
        (folder / name).write_text(json.dumps({video_id: entry for video_id in video_ids}))
    return folder


@pytest.fixture
def tacos(tmp_path):
    """Annotations, features and a prepared folder ``out`` of a 3-video TACoS-layout benchmark."""
    annotations = _tacos_folder(tmp_path)
    features = write_random_features(LENGTHS, tmp_path / "tall_c3d_features.hdf5", layout="tacos", feature_dim=8)
    prepare_benchmark("tacos", annotations, features, tmp_path / "out")
    return annotations, features, tmp_path / "out"


def test_a_used_output_folder_is_refused_before_the_work(tacos, monkeypatch):
    annotations, features, out = tacos
    before = folder_snapshot(out)

    def never(*args, **kwargs):
        raise AssertionError("the annotations were read before the output folder was checked")

    monkeypatch.setattr("dmr_jrg_hf.data.prepare.make_builder", never)
    with pytest.raises(DataFormatError, match=rf"output folder {out} is not empty; pass overwrite=True"):
        prepare_benchmark("tacos", annotations, features, out)
    assert folder_snapshot(out) == before


def test_a_failure_half_way_leaves_the_folder_as_it_was(tacos, monkeypatch):
    annotations, features, out = tacos
    before = folder_snapshot(out)

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr("dmr_jrg_hf.data.prepare._write_video_shards", disk_full)
    with pytest.raises(OSError, match="No space left"):
        prepare_benchmark("tacos", annotations, features, out, overwrite=True)
    assert folder_snapshot(out) == before
    assert sorted(path.name for path in out.parent.iterdir() if path.name.startswith(".")) == [], "no staging left"


def test_a_failure_in_a_new_folder_leaves_nothing(tmp_path, monkeypatch):
    annotations = _tacos_folder(tmp_path)
    features = write_random_features(LENGTHS, tmp_path / "f.hdf5", layout="tacos", feature_dim=8)
    monkeypatch.setattr("dmr_jrg_hf.data.prepare.render_dataset_card", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        prepare_benchmark("tacos", annotations, features, tmp_path / "new")
    assert not (tmp_path / "new").exists(), "no half-written folder"


def test_overwrite_replaces_the_folder(tacos):
    annotations, features, out = tacos
    (out / "stale.txt").write_text("from an older export")
    prepare_benchmark("tacos", annotations, None, out, overwrite=True)
    assert not (out / "stale.txt").exists() and not (out / "videos").exists(), "the old folder is gone"
    assert (out / "paragraphs").is_dir()


@pytest.mark.parametrize("benchmark", ["tacos", "charades_sta txt", "charades_sta csv"])
def test_a_non_utf8_annotation_file_names_the_byte(tmp_path, benchmark):
    if benchmark == "tacos":
        folder = _tacos_folder(tmp_path)
        bad = folder / "val.json"
        bad.write_bytes(b'{"s2-d1.avi": {"sentences": ["caf\xe9"]}}')
        offset = bad.read_bytes().index(b"\xe9")
    else:
        folder = tmp_path / "charades"
        folder.mkdir()
        for split in ("train", "test"):
            (folder / f"charades_sta_{split}.txt").write_text("AO8RW 0.0 6.9##a person is putting a book\n")
            (folder / f"Charades_v1_{split}.csv").write_text(CSV_HEADER + "AO8RW,s,k,5,5,Yes,x,o,d,a,33.67\r\n")
        bad = folder / ("charades_sta_test.txt" if benchmark.endswith("txt") else "Charades_v1_test.csv")
        bad.write_bytes(bad.read_bytes() + b"AO8RW 1.0 2.0##he opens the caf\xe9 door\n")
        offset = bad.read_bytes().index(b"\xe9")
    name = benchmark.split()[0]
    with pytest.raises(DataFormatError, match=rf"{bad}: not UTF-8 text \(byte 0xe9 at byte offset {offset}\)"):
        prepare_benchmark(name, folder, None, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_prepare_exposes_overwrite_and_missing_features(tacos, tmp_path, capsys):
    annotations, features, out = tacos
    before = folder_snapshot(out)
    base = ["prepare", "tacos", "--annotations", str(annotations), "--out", str(out)]
    assert main(base) == 1
    assert "pass overwrite=True (--overwrite)" in capsys.readouterr().err
    assert folder_snapshot(out) == before
    partial = write_random_features({"s1-d1.avi": 30}, tmp_path / "partial.hdf5", layout="tacos", feature_dim=8)
    assert main([*base, "--overwrite", "--features", str(partial)]) == 1
    assert "(--missing-features skip)" in capsys.readouterr().err
    assert folder_snapshot(out) == before
    assert main([*base, "--overwrite", "--features", str(partial), "--missing-features", "skip"]) == 0
    assert json.loads((out / "report.json").read_text())["counts"]["train"]["missing_features"] == 1
