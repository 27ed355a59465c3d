"""Feature readers: the official HDF5 layouts and npy folders, checked reads, clear errors, random-feature writer."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest

from dmr_jrg_hf.data.readers import (
    FEATURE_LAYOUTS,
    FeatureNotFoundError,
    HDF5FeatureReader,
    NpyFolderFeatureReader,
    open_features,
    write_random_features,
)
from dmr_jrg_hf.errors import DataFormatError

LENGTHS = {"v_QOlSCBRmfWY": 7, "s13-d21.avi": 3, "AO8RW": 5}


def _suffix(layout: str) -> str:
    return "" if layout == "npy" else ".hdf5"


@pytest.mark.parametrize("layout", FEATURE_LAYOUTS)
def test_each_layout_round_trips(tmp_path, layout):
    path = write_random_features(LENGTHS, tmp_path / f"features{_suffix(layout)}", layout=layout, feature_dim=6)
    reader = open_features(path, feature_dim=6)
    assert sorted(reader) == sorted(LENGTHS), f"{layout}: keys"
    assert len(reader) == 3, f"{layout}: len"
    for video_id, length in LENGTHS.items():
        array = reader[video_id]
        assert array.shape == (length, 6) and array.dtype == np.float32, f"{layout}: {video_id} shape/dtype"
        assert reader.shape(video_id) == (length, 6), f"{layout}: {video_id} shape() without reading"
    assert "missing" not in reader and reader.get("missing") is None, f"{layout}: absent video"


def test_activitynet_layout_is_group_with_c3d_features(tmp_path):
    path = write_random_features({"v_a": 4}, tmp_path / "anet.hdf5", layout="activitynet", feature_dim=5)
    with h5py.File(path, "r") as handle:
        assert isinstance(handle["v_a"], h5py.Group) and handle["v_a"]["c3d_features"].shape == (4, 5)
    charades = write_random_features({"AO8RW": 4}, tmp_path / "ch.hdf5", layout="charades", feature_dim=5)
    with h5py.File(charades, "r") as handle:
        assert isinstance(handle["AO8RW"], h5py.Dataset), "charades layout: one dataset per video at the root"


def test_same_seed_same_values_across_layouts(tmp_path):
    hdf5 = open_features(write_random_features(LENGTHS, tmp_path / "a.hdf5", layout="tacos", feature_dim=4, seed=3))
    npy = open_features(write_random_features(LENGTHS, tmp_path / "npy", layout="npy", feature_dim=4, seed=3))
    for video_id in LENGTHS:
        np.testing.assert_array_equal(hdf5[video_id], npy[video_id], err_msg=video_id)


def test_missing_video_names_video_and_file(tmp_path):
    reader = open_features(write_random_features({"a": 2}, tmp_path / "f.hdf5", layout="charades", feature_dim=3))
    with pytest.raises(FeatureNotFoundError, match=r"video 'b' is not in .*f\.hdf5") as info:
        reader["b"]
    assert isinstance(info.value, KeyError) and isinstance(info.value, DataFormatError)
    assert str(info.value).startswith("video 'b'"), "message is not repr-quoted like a bare KeyError"


def test_wrong_feature_dim_is_an_error(tmp_path):
    path = write_random_features({"a": 2}, tmp_path / "f.hdf5", layout="charades", feature_dim=3)
    with pytest.raises(DataFormatError, match=r"video 'a' in .*: expected \(T, 500\) float32, got \(2, 3\)"):
        HDF5FeatureReader(path, feature_dim=500)["a"]
    with pytest.raises(DataFormatError, match=r"expected \(T, 500\)"):
        HDF5FeatureReader(path, feature_dim=500).shape("a")


def test_inferred_feature_dim_must_stay_the_same(tmp_path):
    path = tmp_path / "f.hdf5"
    with h5py.File(path, "w") as handle:
        handle["a"] = np.zeros((2, 3), np.float32)
        handle["b"] = np.zeros((2, 4), np.float32)
    reader = open_features(path)
    assert reader["a"].shape == (2, 3) and reader.feature_dim == 3
    with pytest.raises(DataFormatError, match=r"video 'b'.*expected \(T, 3\)"):
        reader["b"]


@pytest.mark.parametrize(
    "value, message",
    [
        (np.zeros((0, 3), np.float32), r"got \(0, 3\)"),
        (np.zeros((3,), np.float32), r"got \(3,\)"),
        (np.zeros((2, 3, 1), np.float32), r"got \(2, 3, 1\)"),
        (np.array([[1.0, np.nan, 0.0]], np.float32), r"NaN or Inf .* row 0"),
        (np.array([[0.0, 0.0, 0.0], [np.inf, 0, 0]], np.float64), r"NaN or Inf .* row 1"),
        (np.zeros((2, 3), np.int64), r"got dtype int64"),
    ],
)
def test_bad_arrays_are_errors_naming_the_video(tmp_path, value, message):
    folder = tmp_path / "npy"
    folder.mkdir()
    np.save(folder / "vid.npy", value)
    with pytest.raises(DataFormatError, match=rf"video 'vid'.*{message}"):
        NpyFolderFeatureReader(folder)["vid"]


def test_float64_is_returned_as_float32(tmp_path):
    folder = tmp_path / "npy"
    folder.mkdir()
    np.save(folder / "vid.npy", np.ones((2, 3), np.float64))
    assert NpyFolderFeatureReader(folder, feature_dim=3)["vid"].dtype == np.float32


def test_group_layout_needs_a_known_dataset_key(tmp_path):
    path = tmp_path / "f.hdf5"
    with h5py.File(path, "w") as handle:
        group = handle.create_group("v_a")
        group["rgb"] = np.zeros((2, 3), np.float32)
        group["flow"] = np.ones((2, 3), np.float32)
    with pytest.raises(DataFormatError, match=r"video 'v_a'.*one dataset \(pass dataset_key\).*\['flow', 'rgb'\]"):
        open_features(path)["v_a"]
    np.testing.assert_array_equal(open_features(path, dataset_key="flow")["v_a"], np.ones((2, 3)))


def test_open_features_rejects_unknown_paths(tmp_path):
    with pytest.raises(DataFormatError, match="expected an HDF5 file"):
        open_features(tmp_path / "features.pkl")
    with pytest.raises(DataFormatError, match="not found"):
        open_features(tmp_path / "absent.hdf5")
    (tmp_path / "broken.hdf5").write_bytes(b"not hdf5")
    with pytest.raises(DataFormatError, match="not a readable HDF5 file"):
        len(open_features(tmp_path / "broken.hdf5"))


def test_reader_pickles_without_its_handle(tmp_path):
    reader = open_features(write_random_features({"a": 2}, tmp_path / "f.hdf5", layout="tacos", feature_dim=3))
    before = reader["a"]
    clone = pickle.loads(pickle.dumps(reader))
    np.testing.assert_array_equal(clone["a"], before, err_msg="reopened reader reads the same values")
    reader.close()
    np.testing.assert_array_equal(reader["a"], before, err_msg="a closed reader reopens on access")


def test_unknown_layout_lists_the_choices(tmp_path):
    with pytest.raises(DataFormatError, match="activitynet, charades, tacos, npy"):
        write_random_features({"a": 1}, tmp_path / "f.hdf5", layout="csv")
