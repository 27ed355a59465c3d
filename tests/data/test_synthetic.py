"""Tests of the embedded synthetic benchmark: determinism, data contract, and no query-free shortcut."""

from __future__ import annotations

import numpy as np
import pytest

from dmr_jrg_hf.data.synthetic import (
    ACTIONS,
    OBJECTS,
    SPLITS,
    SyntheticBenchmarkConfig,
    generate_synthetic_benchmark,
    oracle_grounding_moments,
)
from dmr_jrg_hf.errors import ConfigError, InputError
from dmr_jrg_hf.geometry import segment_iou
from dmr_jrg_hf.metrics.baselines import FIXED_WINDOWS, fixed_window_moments, query_free_saliency_moments

SMALL = {"num_train_videos": 12, "num_validation_videos": 4, "num_test_videos": 6}
IOU_THRESHOLDS = (0.3, 0.5, 0.7)


@pytest.fixture(scope="module")
def small():
    return generate_synthetic_benchmark(**SMALL, seed=7)


@pytest.fixture(scope="module")
def large_test_split():
    """Only a test split, large enough for stable recall estimates (about 1,500 sentences)."""
    return generate_synthetic_benchmark(num_train_videos=0, num_validation_videos=0, num_test_videos=400, seed=11)


def _all_rows(benchmark):
    return [row for split in SPLITS for row in benchmark.paragraphs[split]]


def _recall(per_video_moments, rows, threshold):
    """Fraction of sentences whose predicted moment (one per video, or one per sentence) has IoU >= threshold."""
    hits = []
    for moments, row in zip(per_video_moments, rows, strict=True):
        gt = np.asarray(row["timestamps"])
        hits.append(segment_iou(np.broadcast_to(moments, gt.shape), gt) >= threshold)
    return float(np.concatenate(hits).mean())


def _frame_centres(row, num_frames):
    return (np.arange(num_frames) + 0.5) * row["duration"] / num_frames


def test_deterministic_for_a_seed(small):
    again = generate_synthetic_benchmark(**SMALL, seed=7)
    assert again.paragraphs == small.paragraphs, "same seed: identical rows"
    assert again.features.keys() == small.features.keys(), "same seed: same videos"
    for video_id, features in small.features.items():
        np.testing.assert_array_equal(again.features[video_id], features, err_msg=f"same seed: video {video_id}")
    np.testing.assert_array_equal(again.prototypes, small.prototypes, err_msg="same seed: prototypes")


def test_another_seed_gives_another_benchmark(small):
    other = generate_synthetic_benchmark(**SMALL, seed=8)
    assert other.paragraphs != small.paragraphs, "another seed: other rows"
    video_id = "syn_train_00000"
    assert not np.array_equal(other.features[video_id], small.features[video_id]), "another seed: other features"


def test_a_split_does_not_change_when_another_grows(small):
    bigger = generate_synthetic_benchmark(**{**SMALL, "num_train_videos": 30}, seed=7)
    assert bigger.paragraphs["test"] == small.paragraphs["test"], "test rows independent of the train size"
    for row in small.paragraphs["test"]:
        video_id = row["video_id"]
        np.testing.assert_array_equal(bigger.features[video_id], small.features[video_id], err_msg=video_id)


def test_split_sizes_and_disjoint_video_ids(small):
    ids = {split: [row["video_id"] for row in small.paragraphs[split]] for split in SPLITS}
    sizes = {split: len(ids[split]) for split in SPLITS}
    assert sizes == {"train": 12, "validation": 4, "test": 6}, f"split sizes {sizes}"
    all_ids = [video_id for split in SPLITS for video_id in ids[split]]
    assert len(set(all_ids)) == len(all_ids), "video ids are unique and splits disjoint"
    assert set(all_ids) == set(small.features), "one feature array per video, none extra"


def test_rows_follow_the_paragraph_contract(small):
    config = small.config
    for row in _all_rows(small):
        video_id = row["video_id"]
        assert set(row) == {"video_id", "duration", "sentences", "timestamps"}, f"{video_id}: keys {set(row)}"
        assert config.min_duration <= row["duration"] <= config.max_duration, f"{video_id}: duration"
        num_sentences = len(row["sentences"])
        assert config.min_sentences <= num_sentences <= config.max_sentences, f"{video_id}: {num_sentences} sentences"
        assert len(row["timestamps"]) == num_sentences, f"{video_id}: one [start, end] per sentence"
        for index, (start, end) in enumerate(row["timestamps"]):
            assert 0.0 <= start < end <= row["duration"], f"{video_id} sentence {index}: [{start}, {end}]"
        features = small.features[video_id]
        expected_shape = (max(1, round(row["duration"] * config.frames_per_second)), config.feature_dim)
        assert features.shape == expected_shape and features.dtype == np.float32, f"{video_id}: {features.shape}"
        assert np.all(np.isfinite(features)), f"{video_id}: finite features"


def test_sentences_in_chronological_order(small):
    for row in _all_rows(small):
        starts, ends = np.asarray(row["timestamps"]).T
        assert np.all(np.diff(starts) > 0) and np.all(np.diff(ends) > 0), f"{row['video_id']}: order {starts}"


def test_every_word_in_the_vocabulary(small):
    vocabulary = set(small.vocabulary)
    assert list(small.vocabulary) == sorted(vocabulary), "vocabulary sorted without duplicates"
    for row in _all_rows(small):
        for index, sentence in enumerate(row["sentences"]):
            assert sentence == sentence.lower(), f"{row['video_id']} sentence {index}: lower-case"
            unknown = set(sentence.split()) - vocabulary
            assert not unknown, f"{row['video_id']} sentence {index}: words {unknown} not in the vocabulary"


def test_each_sentence_names_its_event_and_events_are_distinct(small):
    for row in _all_rows(small):
        events = small.sentence_events[row["video_id"]]
        assert len({tuple(event) for event in events}) == len(events), f"{row['video_id']}: distinct events"
        for sentence, (action, obj) in zip(row["sentences"], events, strict=True):
            assert f"{ACTIONS[action]} the {OBJECTS[obj]}" in sentence, f"{row['video_id']}: '{sentence}'"
    prototypes = small.event_prototypes("syn_test_00000")
    np.testing.assert_allclose(np.linalg.norm(prototypes, axis=1), 1.0, err_msg="unit prototypes")
    with pytest.raises(InputError, match="syn_test_99999"):
        small.event_prototypes("syn_test_99999")


def test_moment_lengths_and_positions_are_varied(large_test_split):
    rows = large_test_split.paragraphs["test"]
    ratios = np.concatenate([np.diff(row["timestamps"], axis=1)[:, 0] / row["duration"] for row in rows])
    centres = np.concatenate([np.mean(row["timestamps"], axis=1) / row["duration"] for row in rows])
    assert ratios.min() >= 0.045 and ratios.max() <= 0.8, f"moment ratios in [{ratios.min()}, {ratios.max()}]"
    assert np.mean(ratios < 0.1) > 0.1 and np.mean(ratios > 0.3) > 0.1, "short and long moments both common"
    counts = np.histogram(centres, bins=4, range=(0.0, 1.0))[0]
    assert counts.min() > 0.15 * len(centres), f"moment centres spread over the video quarters: {counts}"


def test_feature_norm_independent_of_annotation(large_test_split):
    inside, outside = [], []
    for row in large_test_split.paragraphs["test"]:
        features = large_test_split.features[row["video_id"]]
        centres = _frame_centres(row, len(features))
        annotated = np.zeros(len(features), dtype=bool)
        for start, end in row["timestamps"]:
            annotated |= (centres >= start) & (centres < end)
        norms = np.linalg.norm(features, axis=1)
        inside.append(norms[annotated])
        outside.append(norms[~annotated])
    inside_mean, outside_mean = np.concatenate(inside).mean(), np.concatenate(outside).mean()
    assert np.concatenate(outside).size > 1000, "enough unannotated frames to compare"
    assert abs(inside_mean / outside_mean - 1.0) < 0.02, f"mean norm inside {inside_mean} vs outside {outside_mean}"


def test_query_free_saliency_no_better_than_best_fixed_window(large_test_split):
    rows = large_test_split.paragraphs["test"]
    durations = np.array([row["duration"] for row in rows])
    saliency = query_free_saliency_moments([large_test_split.features[row["video_id"]] for row in rows], durations, 16)
    for threshold in IOU_THRESHOLDS:
        fixed = {window: _recall(fixed_window_moments(durations, window), rows, threshold) for window in FIXED_WINDOWS}
        best_window = max(fixed, key=fixed.get)
        salient = _recall(saliency, rows, threshold)
        assert salient <= fixed[best_window] + 0.02, (
            f"R@1 IoU={threshold}: query-free saliency {salient:.3f} beats the best fixed window "
            f"({best_window}, {fixed[best_window]:.3f}) by more than 2 points"
        )


def test_saliency_check_catches_an_energy_leak(large_test_split):
    """Positive control: brighten each paragraph's first moment by 30 % and the saliency rule clearly wins."""
    rows = large_test_split.paragraphs["test"]
    durations = np.array([row["duration"] for row in rows])
    leaky = []
    for row in rows:
        features = large_test_split.features[row["video_id"]].copy()
        centres = _frame_centres(row, len(features))
        start, end = row["timestamps"][0]
        features[(centres >= start) & (centres < end)] *= 1.3
        leaky.append(features)
    salient = _recall(query_free_saliency_moments(leaky, durations, 16), rows, 0.5)
    best_fixed = max(_recall(fixed_window_moments(durations, window), rows, 0.5) for window in FIXED_WINDOWS)
    assert salient > best_fixed + 0.04, f"leaky features: saliency {salient:.3f} vs best fixed window {best_fixed:.3f}"


def test_oracle_that_reads_the_event_grounds_most_sentences(large_test_split):
    rows = large_test_split.paragraphs["test"]
    oracle = oracle_grounding_moments(large_test_split, "test", num_clips=16)
    recall = _recall(oracle, rows, 0.5)
    assert recall >= 0.85, f"oracle on the 16-clip grid: R@1 IoU=0.5 {recall:.3f}"
    fine = _recall(oracle_grounding_moments(large_test_split, "test", num_clips=64), rows, 0.7)
    assert fine >= 0.85, f"oracle on a 64-clip grid: R@1 IoU=0.7 {fine:.3f}"


def test_to_dataset_dict_matches_rows(small):
    dataset_dict = small.to_dataset_dict()
    assert set(dataset_dict) == set(SPLITS), f"splits {set(dataset_dict)}"
    for split in SPLITS:
        dataset = dataset_dict[split]
        assert dataset.column_names == ["video_id", "duration", "sentences", "timestamps"], f"{split}: columns"
        assert dataset.to_list() == small.paragraphs[split], f"{split}: rows round-trip"


def test_videos_dataset_holds_the_features(small):
    videos = small.videos_dataset().with_format("numpy")
    assert videos.num_rows == len(small.features), "one row per video of every split"
    assert videos.features["features"].shape == (None, small.config.feature_dim), "Array2D((None, D))"
    row = videos[3]
    np.testing.assert_array_equal(row["features"], small.features[row["video_id"]], err_msg=row["video_id"])
    test_videos = small.videos_dataset("test")
    assert test_videos["video_id"] == [row["video_id"] for row in small.paragraphs["test"]], "videos of one split"
    with pytest.raises(InputError, match="'dev'"):
        small.videos_dataset("dev")


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"num_test_videos": -1}, "num_test_videos"),
        ({"max_sentences": 1}, "max_sentences"),
        ({"overlap_probability": 1.5}, "overlap_probability"),
        ({"min_moment_ratio": 0.2}, "min_moment_ratio"),
        ({"num_actions": 99}, "num_actions"),
        ({"noise_level": 0.1}, "noise_level"),
    ],
)
def test_bad_config_names_the_field(overrides, field):
    with pytest.raises(ConfigError, match=field):
        generate_synthetic_benchmark(**overrides)


def test_config_object_and_overrides_combine():
    config = SyntheticBenchmarkConfig(num_train_videos=2, num_validation_videos=0, num_test_videos=1, feature_dim=8)
    benchmark = generate_synthetic_benchmark(config, seed=5)
    assert benchmark.config.seed == 5 and benchmark.config.feature_dim == 8, "overrides replace config fields"
    assert benchmark.features["syn_train_00001"].shape[1] == 8, "feature_dim from the config"
