"""Feature writers: the layouts and metadata they write, what they refuse to extend, and that a write interrupted
half-way leaves no half video behind."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from dmr_jrg_hf.data import open_features
from dmr_jrg_hf.data.readers import write_random_features
from dmr_jrg_hf.errors import DataFormatError
from dmr_jrg_hf.features import writer as writer_module
from dmr_jrg_hf.features.spec import SAMPLING_RULE
from dmr_jrg_hf.features.writer import HDF5FeatureWriter, NpyFeatureWriter, open_feature_writer

ENCODER = "org/tiny-encoder"


def _metadata(duration: float, rows: int) -> dict:
    return {
        "duration": duration,
        "fps": 1.0,
        "encoder": ENCODER,
        "num_frames": rows,
        "frames_per_row": 1,
        "num_decoded_frames": rows * 7,
        "source_fps": 7.0,
        "codec": "mpeg4",
    }


def _features(rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, 4)).astype(np.float32)


def test_layout_is_chosen_by_the_suffix(tmp_path):
    assert isinstance(open_feature_writer(tmp_path / "f.hdf5", ENCODER, 1.0), HDF5FeatureWriter)
    assert isinstance(open_feature_writer(tmp_path / "f.H5", ENCODER, 1.0), HDF5FeatureWriter)
    assert isinstance(open_feature_writer(tmp_path / "folder", ENCODER, 1.0), NpyFeatureWriter)


def test_hdf5_file_holds_one_dataset_per_video_with_its_metadata(tmp_path):
    path = tmp_path / "features.hdf5"
    writer = HDF5FeatureWriter(path, ENCODER, 1.0)
    writer.write("v1", _features(3, 0), _metadata(3.2, 3))
    writer.write("v2", _features(5, 1), _metadata(4.9, 5))
    assert writer.completed() == {"v1", "v2"} and not path.exists(), "videos wait in <file>.partial until finish"
    assert writer.finish() == path
    assert not (tmp_path / "features.hdf5.partial").exists(), "the staging folder is removed"
    with h5py.File(path, "r") as handle:
        assert sorted(handle) == ["v1", "v2"] and isinstance(handle["v1"], h5py.Dataset), "charades layout"
        np.testing.assert_array_equal(handle["v2"][()], _features(5, 1))
        assert handle["v2"].dtype == np.float32
        assert handle["v1"].attrs["duration"] == 3.2 and handle["v1"].attrs["encoder"] == ENCODER
        assert handle.attrs["encoder"] == ENCODER and handle.attrs["fps"] == 1.0
        assert handle.attrs["feature_dim"] == 4 and handle.attrs["sampling"] == SAMPLING_RULE
    reader = open_features(path)
    assert reader.video_metadata("v2") == _metadata(4.9, 5), "metadata round trip through the package's reader"
    assert reader.durations() == {"v1": 3.2, "v2": 4.9}


def test_hdf5_file_is_extended_with_new_videos(tmp_path):
    path = tmp_path / "features.hdf5"
    first = HDF5FeatureWriter(path, ENCODER, 1.0)
    first.write("v1", _features(3, 0), _metadata(3.0, 3))
    first.finish()
    second = HDF5FeatureWriter(path, ENCODER, 1.0)
    assert second.completed() == {"v1"}
    second.write("v2", _features(2, 1), _metadata(2.0, 2))
    second.finish()
    reader = open_features(path)
    assert sorted(reader) == ["v1", "v2"]
    np.testing.assert_array_equal(reader["v1"], _features(3, 0))
    assert reader.video_metadata("v1")["duration"] == 3.0, "copied videos keep their metadata"


def test_a_merge_killed_after_its_rename_is_finished_by_the_next_run(tmp_path):
    path = tmp_path / "features.hdf5"
    writer = HDF5FeatureWriter(path, ENCODER, 1.0)
    writer.write("v1", _features(3, 0), _metadata(3.0, 3))
    staged = tmp_path / "kept.partial"
    shutil.copytree(tmp_path / "features.hdf5.partial", staged)
    writer.finish()
    shutil.copytree(staged, tmp_path / "features.hdf5.partial")  # the file has v1, and so has <file>.partial
    resumed = HDF5FeatureWriter(path, ENCODER, 1.0)
    assert resumed.completed() == {"v1"}
    resumed.write("v2", _features(2, 1), _metadata(2.0, 2))
    resumed.finish()
    assert sorted(open_features(path)) == ["v1", "v2"]
    assert not (tmp_path / "features.hdf5.partial").exists()


def test_npy_folder_layout_and_metadata(tmp_path):
    folder = tmp_path / "features"
    writer = NpyFeatureWriter(folder, ENCODER, 1.0)
    writer.write("v1", _features(3, 0), _metadata(3.0, 3))
    assert writer.finish() == folder
    assert sorted(path.name for path in folder.iterdir()) == ["extraction.json", "v1.json", "v1.npy"]
    reader = open_features(folder)
    assert list(reader) == ["v1"]
    assert reader.video_metadata("v1") == _metadata(3.0, 3)
    assert reader.file_metadata()["encoder"] == ENCODER and reader.durations() == {"v1": 3.0}


@pytest.mark.parametrize("layout", ["features.hdf5", "features"])
def test_other_encoder_or_rate_is_refused(tmp_path, layout):
    path = tmp_path / layout
    writer = open_feature_writer(path, ENCODER, 1.0)
    writer.write("v1", _features(3, 0), _metadata(3.0, 3))
    writer.finish()
    with pytest.raises(DataFormatError, match=r"holds features of encoder .org/tiny-encoder. at 1.0 fps, but this"):
        open_feature_writer(path, "org/other-encoder", 1.0)
    with pytest.raises(DataFormatError, match="extracts 'org/tiny-encoder' at 2 fps"):
        open_feature_writer(path, ENCODER, 2.0)


def test_files_not_written_by_the_extractor_are_refused(tmp_path):
    benchmark = write_random_features({"v1": 3}, tmp_path / "c3d.hdf5", layout="charades", feature_dim=4)
    with pytest.raises(DataFormatError, match="not written by extract-features"):
        HDF5FeatureWriter(benchmark, ENCODER, 1.0)
    npy = write_random_features({"v1": 3}, tmp_path / "i3d", layout="npy", feature_dim=4)
    with pytest.raises(DataFormatError, match="holds .npy files but no extraction.json"):
        NpyFeatureWriter(npy, ENCODER, 1.0)
    garbage = tmp_path / "garbage.hdf5"
    garbage.write_bytes(b"not an hdf5 file")
    with pytest.raises(DataFormatError, match="garbage.hdf5: not a readable HDF5 file"):
        HDF5FeatureWriter(garbage, ENCODER, 1.0)


def test_feature_dimension_must_stay_the_same(tmp_path):
    writer = NpyFeatureWriter(tmp_path / "features", ENCODER, 1.0)
    writer.write("v1", _features(3, 0), _metadata(3.0, 3))
    with pytest.raises(DataFormatError, match=r"video 'v2': features of shape \(3, 5\), expected \(T, 4\)"):
        writer.write("v2", np.zeros((3, 5), np.float32), _metadata(3.0, 3))


def test_a_write_killed_half_way_leaves_no_half_video(tmp_path, monkeypatch):
    writer = HDF5FeatureWriter(tmp_path / "features.hdf5", ENCODER, 1.0)
    writer.write("v1", _features(3, 0), _metadata(3.0, 3))
    real_save = np.save

    def save_half_then_die(handle, array, allow_pickle):
        real_save(handle, array[:1], allow_pickle=allow_pickle)  # some bytes reach the disk
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module.np, "save", save_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        writer.write("v2", _features(4, 1), _metadata(4.0, 4))
    monkeypatch.undo()
    staging = tmp_path / "features.hdf5.partial"
    assert sorted(path.name for path in staging.iterdir()) == ["extraction.json", "v1.json", "v1.npy", "v2.json"]
    resumed = HDF5FeatureWriter(tmp_path / "features.hdf5", ENCODER, 1.0)
    assert resumed.completed() == {"v1"}, "v2 has no .npy: it is not complete and will be extracted again"
    resumed.write("v2", _features(4, 1), _metadata(4.0, 4))
    resumed.finish()
    np.testing.assert_array_equal(open_features(tmp_path / "features.hdf5")["v2"], _features(4, 1))
