"""load_benchmark / BENCHMARKS: registry, options, lazy vs embedded features, caching (on small generated files)."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest

from dmr_jrg_hf.data import BENCHMARKS, DMRJRGCollator, attach_features, get_builder_class, load_benchmark
from dmr_jrg_hf.data.readers import write_random_features
from dmr_jrg_hf.errors import ConfigError, DataFormatError

VIDEOS = {"v_a": (20.0, 9), "v_b": (12.0, 5), "v_c": (30.0, 11), "v_d": (8.0, 4)}


def _anet_folder(tmp_path):
    folder = tmp_path / "anet"
    folder.mkdir()
    sentences = ["a man opens the door of the kitchen", " he walks out of the room", "the dog barks at the man"]
    splits = {"train.json": ["v_a", "v_b", "v_c"], "val_1.json": ["v_d"], "val_2.json": ["v_d", "v_a"]}
    for name, video_ids in splits.items():
        entries = {
            video_id: {
                "duration": VIDEOS[video_id][0],
                "timestamps": [[0.0, 3.0], [2.0, 7.5], [7.0, 6.0]][: 1 + index % 3],
                "sentences": sentences[: 1 + index % 3],
            }
            for index, video_id in enumerate(video_ids)
        }
        (folder / name).write_text(json.dumps(entries))
    return folder


@pytest.fixture
def anet(tmp_path):
    lengths = {video_id: length for video_id, (_, length) in VIDEOS.items()}
    features = write_random_features(lengths, tmp_path / "c3d.hdf5", layout="activitynet", feature_dim=12)
    return _anet_folder(tmp_path), features


def test_registry_names_and_unknown_name():
    assert list(BENCHMARKS) == ["activitynet_captions", "charades_sta", "tacos"]
    assert all(issubclass(builder, datasets.GeneratorBasedBuilder) for builder in BENCHMARKS.values())
    with pytest.raises(ConfigError, match=r"unknown benchmark 'charades'.*did you mean 'charades_sta'.*choices: a"):
        get_builder_class("charades")


def test_unknown_option_suggests_the_closest(anet, tmp_path):
    folder, features = anet
    with pytest.raises(ConfigError, match=r"unknown option 'missing_feature'.*did you mean 'missing_features'"):
        load_benchmark("activitynet_captions", folder, features, cache_dir=tmp_path / "c", missing_feature="skip")
    with pytest.raises(ConfigError, match="sentence_order"):
        load_benchmark("activitynet_captions", folder, cache_dir=tmp_path / "c", sentence_order="file")
    with pytest.raises(ConfigError, match=r"missing_features must be one of \('error', 'skip'\)"):
        load_benchmark("activitynet_captions", folder, features, cache_dir=tmp_path / "c", missing_features="warn")
    with pytest.raises(ConfigError, match="embed_features=True needs a feature file"):
        load_benchmark("activitynet_captions", folder, cache_dir=tmp_path / "c", embed_features=True)
    with pytest.raises(DataFormatError, match="annotations folder .* not found"):
        load_benchmark("activitynet_captions", tmp_path / "nowhere", cache_dir=tmp_path / "c")


def test_annotation_only_dataset(anet, tmp_path):
    folder, _ = anet
    data = load_benchmark("activitynet_captions", folder, cache_dir=tmp_path / "cache")
    assert data.features is None and list(data.paragraphs) == ["train", "validation", "test"]
    assert data.paragraphs["test"]["video_id"] == ["v_d", "v_a"], "annotation order kept"
    columns = {"paragraph_id", "video_id", "duration", "sentences", "timestamps"}
    assert set(data.paragraphs["train"].column_names) == columns
    assert data.paragraphs["train"][2]["timestamps"][2] == [6.0, 7.0], "the policy applies through datasets too"


def test_lazy_and_embedded_features_give_identical_batches(anet, tmp_path, tiny_config, tiny_processor):
    folder, features = anet
    lazy = load_benchmark("activitynet_captions", folder, features, feature_dim=12, cache_dir=tmp_path / "c")
    embedded = load_benchmark(
        "activitynet_captions", folder, features, embed_features=True, feature_dim=12, cache_dir=tmp_path / "c"
    )
    assert "video_features" not in lazy.paragraphs["train"].column_names, "lazy rows hold annotations only"
    assert embedded.paragraphs["train"].features["video_features"] == datasets.Array2D((None, 12), "float32")
    lazy_rows = attach_features(lazy.paragraphs["train"], lazy.features)[0:3]
    embedded_rows = embedded.paragraphs["train"].with_format("numpy")[0:3]
    assert lazy_rows["video_id"] == list(embedded_rows["video_id"])
    for a, b in zip(lazy_rows["video_features"], embedded_rows["video_features"], strict=True):
        np.testing.assert_array_equal(a, b, err_msg="same features, lazy vs embedded")

    corpus = [sentence for sentences in lazy.paragraphs["train"]["sentences"] for sentence in sentences]
    processor = type(tiny_processor).from_corpus(corpus, config=tiny_config.with_overrides(feature_dim=12))
    embedded_rows = embedded.paragraphs["train"].with_format("numpy")
    embedded_features = {row["video_id"]: row["video_features"] for row in embedded_rows}
    rows = list(lazy.paragraphs["train"])
    from_lazy = DMRJRGCollator(processor, lazy.features)(rows)
    from_embedded = DMRJRGCollator(processor, embedded_features)(rows)
    assert from_lazy.keys() == from_embedded.keys()
    for key, value in from_lazy.items():
        assert bool((value == from_embedded[key]).all()), f"collated {key} differs between lazy and embedded"


def test_cache_is_reused_and_report_survives(anet, tmp_path):
    folder, features = anet
    first = load_benchmark("activitynet_captions", folder, features, cache_dir=tmp_path / "cache")
    second = load_benchmark("activitynet_captions", folder, features, cache_dir=tmp_path / "cache")
    assert first.paragraphs["train"].cache_files == second.paragraphs["train"].cache_files, "cache reused"
    assert second.report.counts() == first.report.counts() == {"train": {"inverted_moment": 1}}
    edited = {"v_b": {"duration": 12.0, "timestamps": [[1, 2]], "sentences": ["x"]}}
    (folder / "train.json").write_text(json.dumps(edited))
    third = load_benchmark("activitynet_captions", folder, features, cache_dir=tmp_path / "cache")
    assert third.paragraphs["train"].num_rows == 1, "an edited annotation file invalidates the cache"


def test_feature_problems_are_caught_at_load(anet, tmp_path):
    folder, features = anet
    with pytest.raises(DataFormatError, match=r"video 'v_a' in .*c3d\.hdf5: expected \(T, 500\) float32, got \(9, 12"):
        load_benchmark("activitynet_captions", folder, features, feature_dim=500, cache_dir=tmp_path / "c")
    partial = write_random_features({"v_a": 3, "v_b": 3}, tmp_path / "partial.hdf5", feature_dim=12)
    with pytest.raises(DataFormatError, match=r"train: 1 videos have no features .*\['v_c'\].*missing_features="):
        load_benchmark("activitynet_captions", folder, partial, cache_dir=tmp_path / "c")
    data = load_benchmark("activitynet_captions", folder, partial, missing_features="skip", cache_dir=tmp_path / "c")
    assert data.paragraphs["train"]["video_id"] == ["v_a", "v_b"] and data.paragraphs["validation"].num_rows == 0
    assert data.report.counts()["validation"] == {"missing_features": 1}
    assert data.report.count("missing_features") == 3, "v_c (train) and v_d (validation, test) counted"


def test_embedded_nan_is_an_error_naming_the_video(anet, tmp_path):
    folder, _ = anet
    lengths = {video_id: length for video_id, (_, length) in VIDEOS.items()}
    npy = write_random_features(lengths, tmp_path / "npy", "npy", 12)
    broken = np.load(npy / "v_b.npy")
    broken[2, 3] = np.nan
    np.save(npy / "v_b.npy", broken)
    with pytest.raises(datasets.exceptions.DatasetGenerationError) as info:
        load_benchmark("activitynet_captions", folder, npy, embed_features=True, cache_dir=tmp_path / "c")
    assert "video 'v_b'" in str(info.value.__cause__) and "NaN or Inf" in str(info.value.__cause__)
