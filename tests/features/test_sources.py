"""Which files an extraction reads and the ids their features get."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmr_jrg_hf.errors import ConfigError, DataFormatError
from dmr_jrg_hf.features import list_videos


def test_a_folder_gives_its_video_files_sorted_with_subfolders(tmp_path):
    for name in ("b.mp4", "a.MKV", "notes.txt", "sub/c.webm", "sub/d.wav", "._b.mp4", ".cache/e.mp4"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    assert list_videos(tmp_path) == {"a": tmp_path / "a.MKV", "b": tmp_path / "b.mp4", "c": tmp_path / "sub/c.webm"}


def test_a_list_file_is_read_relative_to_its_folder(tmp_path):
    (tmp_path / "lists").mkdir()
    listing = tmp_path / "lists" / "videos.txt"
    listing.write_text("# my corpus\n../clips/x.mp4\n\n/data/y.avi\n")
    assert list_videos(listing) == {"x": tmp_path / "lists/../clips/x.mp4", "y": Path("/data/y.avi")}


def test_a_video_file_and_a_list_of_paths(tmp_path):
    assert list_videos(tmp_path / "one.mp4") == {"one": tmp_path / "one.mp4"}, "listed even before it exists"
    assert list(list_videos(["b/z.mp4", "a/y.mp4"])) == ["z", "y"], "the given order is kept"


def test_two_files_with_one_id_are_an_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"1 video id\(s\) name several files, e.g. 'x': a/x.mp4, b/x.webm"):
        list_videos(["a/x.mp4", "b/x.webm"])


def test_no_video_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=f"videos {tmp_path}: no video found"):
        list_videos(tmp_path)
    with pytest.raises(ConfigError, match="no such folder or file"):
        list_videos(tmp_path / "missing")
