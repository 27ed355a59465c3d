"""``dmr-jrg extract-features`` end to end: two tiny videos and a corrupt one, its JSON summary, skipped.jsonl, and the
one-line errors."""

from __future__ import annotations

import json

import h5py
import pytest
from video_helpers import write_video

from dmr_jrg_hf.cli import build_parser, main


def _videos(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "kitchen.mp4", 25, rate=10)  # 2.5 s: 2 rows at 1 fps
    write_video(folder / "garden.avi", 12, rate=4, codec="mjpeg", pix_fmt="yuvj420p")  # 3 s: 3 rows
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    return folder


def test_extract_features_end_to_end(tmp_path, tiny_clip_dir, capsys):
    videos, output = _videos(tmp_path), tmp_path / "out" / "features.hdf5"
    arguments = ["extract-features", str(videos), "--encoder", str(tiny_clip_dir), "--fps", "1", "--out", str(output)]
    assert main([*arguments, "--batch-size", "2", "--device", "cpu", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["extracted"], summary["already_done"], summary["skipped"]) == (2, 0, {"unreadable": 1})
    assert summary["num_rows"] == 5 and summary["video_seconds"] == 5.5
    with h5py.File(output, "r") as handle:
        assert {key: handle[key].shape for key in handle} == {"garden": (3, 16), "kitchen": (2, 16)}
        assert handle["kitchen"].attrs["duration"] == 2.5 and handle.attrs["fps"] == 1.0
    skipped = [json.loads(line) for line in (tmp_path / "out" / "skipped.jsonl").read_text().splitlines()]
    assert [(item["video_id"], item["path"], item["reason"]) for item in skipped] == [
        ("broken", str(videos / "broken.mp4"), "unreadable")
    ]
    assert main([*arguments, "-q"]) == 0, "a second run finds everything done"
    assert json.loads(capsys.readouterr().out)["already_done"] == 2


def test_no_decodable_video_is_a_one_line_error(tmp_path, tiny_clip_dir, capsys):
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "broken.mp4").write_bytes(b"not a video")
    output = tmp_path / "features.hdf5"
    assert main(["extract-features", str(tmp_path / "videos"), "--encoder", str(tiny_clip_dir), "--out", str(output),
                 "-q"]) == 1  # fmt: skip
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after the loading bar of transformers
    assert error.startswith(
        f"dmr-jrg extract-features: error: none of the 1 video(s) could be decoded (first: {tmp_path}/videos/"
        "broken.mp4: unreadable"
    ), error


def test_an_output_of_another_rate_is_a_one_line_error_naming_it(tmp_path, tiny_clip_dir, capsys):
    videos, output = _videos(tmp_path), tmp_path / "features.hdf5"
    common = ["extract-features", str(videos), "--encoder", str(tiny_clip_dir), "--out", str(output), "-q"]
    assert main(common) == 0
    capsys.readouterr()
    assert main([*common, "--fps", "2"]) == 1
    error = capsys.readouterr().err.strip()
    assert (
        error.startswith(f"dmr-jrg extract-features: error: {output} holds features of encoder") and "2 fps" in error
    )


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["extract-features", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--encoder ENCODER Hub id or folder of a vision model (default: openai/clip-vit-base-patch32)" in help_text
    assert "--fps FPS feature rows per second (default: 1.0)" in help_text
    assert "--dtype {fp32,bf16,fp16}" in help_text and "--num-workers" in help_text and "--max-duration" in help_text
