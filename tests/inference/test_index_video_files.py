"""VideoCorpusIndex records the video file of each video indexed from files: save/load round trip, old folders without
files, add/remove, and the checks on ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmr_jrg_hf.errors import DataFormatError, InputError
from dmr_jrg_hf.inference import VideoCorpusIndex
from dmr_jrg_hf.inference.index_files import INDEX_METADATA_FILE


def _build(model, processor, features, **kwargs):
    return VideoCorpusIndex.build(model, processor, features, show_progress=False, **kwargs)


@pytest.fixture
def some_features(test_features):
    return dict(list(test_features.items())[:3])


def test_video_files_round_trip_through_save_and_load(model_and_processor, some_features, tmp_path):
    model, processor = model_and_processor
    first, second, third = some_features
    files = {first: tmp_path / "videos" / f"{first}.mp4", second: "relative/b.webm"}
    index = _build(model, processor, some_features, video_files=files)
    expected = {first: str(files[first].resolve()), second: str((Path.cwd() / "relative/b.webm").resolve())}
    assert index.video_files == expected, "absolute paths, only the videos that have one"
    loaded = VideoCorpusIndex.load(index.save(tmp_path / "index"))
    assert loaded.video_files == expected
    assert loaded.video_file(first) == files[first].resolve() and loaded.video_file(third) is None
    with pytest.raises(InputError, match="unknown video id 'nope'"):
        loaded.video_file("nope")


def test_an_index_saved_before_video_files_loads_without_them(model_and_processor, some_features, tmp_path):
    model, processor = model_and_processor
    folder = _build(model, processor, some_features).save(tmp_path / "index")
    metadata = json.loads((folder / INDEX_METADATA_FILE).read_text())
    del metadata["video_files"]
    (folder / INDEX_METADATA_FILE).write_text(json.dumps(metadata))
    loaded = VideoCorpusIndex.load(folder)
    assert loaded.video_files == {} and all(loaded.video_file(video_id) is None for video_id in some_features)


def test_add_and_remove_keep_the_files_of_the_indexed_videos(model_and_processor, test_features, tmp_path):
    model, processor = model_and_processor
    ids = list(test_features)[:4]
    index = _build(model, processor, {ids[0]: test_features[ids[0]]}, video_files={ids[0]: tmp_path / "a.mp4"})
    index.add(model, processor, {i: test_features[i] for i in ids[1:]}, show_progress=False, video_files={ids[2]: "c"})
    assert set(index.video_files) == {ids[0], ids[2]}
    index.remove([ids[0]])
    assert set(index.video_files) == {ids[2]}
    with pytest.raises(InputError, match=r"video files of videos that the features do not hold: \['elsewhere'\]"):
        index.add(model, processor, {ids[0]: test_features[ids[0]]}, video_files={"elsewhere": "e.mp4"})
    assert ids[0] not in index, "nothing added when a file names another video"


def test_a_file_of_a_video_that_is_not_indexed_is_a_format_error(model_and_processor, some_features):
    model, processor = model_and_processor
    index = _build(model, processor, some_features)
    with pytest.raises(DataFormatError, match=r"video files of videos that are not indexed: \['ghost'\]"):
        VideoCorpusIndex(
            index.video_ids, index.embeddings, index.clip_features, index.durations, video_files={"ghost": "g.mp4"}
        )
