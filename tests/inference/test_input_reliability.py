"""Bad inputs of the processor and the inference API: each is an `InputError` that names the value or the item."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.inference import VideoCorpusIndex, ground, retrieve, retrieve_and_ground

PARAGRAPH = ["the woman carries the towel in the garden", "after that the woman opens the bottle"]


@pytest.fixture(scope="module")
def small_index(model_and_processor, test_features):
    model, processor = model_and_processor
    return VideoCorpusIndex.build(model, processor, test_features, feature_rate=1.0, show_progress=False)


@pytest.mark.parametrize("top_k", [0, -2, 2.5, True, "3", None], ids=repr)
def test_top_k_must_be_a_positive_int(model_and_processor, small_index, top_k):
    model, processor = model_and_processor
    with pytest.raises(InputError, match=rf"top_k must be a positive integer, got {top_k!r}"):
        retrieve(model, processor, PARAGRAPH, small_index, top_k=top_k)


@pytest.mark.parametrize("moments", [0, -1, 1.5, True], ids=repr)
def test_moments_per_sentence_must_be_a_positive_int(model_and_processor, small_index, moments):
    model, processor = model_and_processor
    with pytest.raises(InputError, match=rf"top_k \(moments per sentence\) must be a positive integer, got {moments}"):
        retrieve_and_ground(model, processor, PARAGRAPH, small_index, top_k=2, moments_per_sentence=moments)


@pytest.mark.parametrize("threshold", [math.nan, 0.0, -0.5, 1.5, "0.5"], ids=repr)
def test_nms_threshold_must_be_in_the_unit_interval(model_and_processor, small_index, threshold):
    model, processor = model_and_processor
    with pytest.raises(InputError, match="nms_threshold must be a number in \\(0, 1\\]"):
        retrieve_and_ground(model, processor, PARAGRAPH, small_index, top_k=2, nms_threshold=threshold)


@pytest.mark.parametrize("duration", [True, None, "30", math.nan, 0.0, -4.0], ids=repr)
def test_duration_must_be_a_positive_number(model_and_processor, duration):
    model, processor = model_and_processor
    video = np.ones((20, 12), np.float32)
    expected = rf"video #0: duration must be a positive number of seconds, got {duration!r}"
    with pytest.raises(InputError, match=expected):
        ground(model, processor, PARAGRAPH, video, duration)
    with pytest.raises(InputError, match=r"video 'v1': duration must be a positive number"):
        processor(video_features=[video], durations=[duration], video_ids=["v1"])


def test_durations_of_the_wrong_length_are_named(tiny_processor):
    videos = [np.ones((5, 12), np.float32)] * 3
    with pytest.raises(InputError, match="3 videos but 2 durations"):
        tiny_processor(video_features=videos, durations=[10.0, 12.0])


def test_object_dtype_features_are_rejected(tiny_processor):
    video = np.empty((4, 12), dtype=object)
    video[:] = 1.0
    with pytest.raises(InputError, match="video 'obj': expected numeric features .* got dtype object"):
        tiny_processor(video_features=[video], durations=[10.0], video_ids=["obj"])


def test_features_overflowing_the_normalisation_are_rejected(tiny_processor):
    video = np.full((6, 12), 1e30, np.float32)
    with pytest.raises(InputError, match="video 'huge': the L2 norm of frame 0 overflows float32"):
        tiny_processor(video_features=[video], durations=[10.0], video_ids=["huge"])
    scaled = tiny_processor(video_features=[video / 1e25], durations=[10.0])["clip_features"]
    assert float(scaled.abs().sum()) > 0, "large but finite norms keep their direction"


@pytest.mark.parametrize("sentence", [3, None, ["nested"]], ids=repr)
def test_non_string_sentences_are_named(tiny_processor, sentence):
    with pytest.raises(InputError, match=r"paragraph 0, sentence 1: expected a string"):
        tiny_processor(text=[["a man opens the door", sentence]])


@pytest.mark.parametrize("batch_size", [0, -1, 2.0], ids=repr)
def test_batch_sizes_must_be_positive_ints(model_and_processor, small_index, test_features, batch_size):
    model, processor = model_and_processor
    with pytest.raises(InputError, match=rf"batch_size must be a positive integer, got {batch_size!r}"):
        retrieve_and_ground(model, processor, PARAGRAPH, small_index, top_k=2, batch_size=batch_size)
    with pytest.raises(InputError, match=rf"batch_size must be a positive integer, got {batch_size!r}"):
        VideoCorpusIndex.build(model, processor, test_features, feature_rate=1.0, batch_size=batch_size)


@pytest.mark.parametrize("duration", [True, "30", None], ids=repr)
def test_index_durations_are_checked(model_and_processor, test_features, duration):
    model, processor = model_and_processor
    video_id = next(iter(test_features))
    with pytest.raises(InputError, match=rf"video '{video_id}': duration must be a positive number of seconds"):
        VideoCorpusIndex.build(model, processor, test_features, durations={video_id: duration}, show_progress=False)
