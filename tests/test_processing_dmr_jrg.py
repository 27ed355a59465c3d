from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from dmr_jrg_hf.errors import ConfigError, InputError
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor

ONE_VIDEO = {"text": [["the dog"]], "video_features": [np.ones((4, 12))], "durations": [3.0]}
PARAGRAPHS = [["a man opens the door of the kitchen", "he walks out"], ["the dog barks"]]


def _videos(rng, dims=12):
    return [rng.random((40, dims), dtype=np.float32), rng.random((3, dims), dtype=np.float32)]


def _batch(processor, rng, **kwargs):
    return processor(text=PARAGRAPHS, video_features=_videos(rng), durations=[20.0, 5.0], **kwargs)


def test_output_keys_and_shapes(tiny_processor):
    batch = _batch(tiny_processor, np.random.default_rng(0), timestamps=[[[0, 5], [5, 20]], [[1, 2]]])
    expected = {
        "word_ids": (2, 2, 8),
        "word_mask": (2, 2, 8),
        "masked_word_ids": (2, 2, 8),
        "masked_positions": (2, 2, 8),
        "sentence_mask": (2, 2),
        "clip_features": (2, 8, 12),
        "map_mask": (8, 8),
        "durations": (2,),
        "timestamps": (2, 2, 2),
    }
    assert {key: tuple(value.shape) for key, value in batch.items()} == expected
    assert batch["sentence_mask"].tolist() == [[True, True], [True, False]]


def test_mask_counts_floor_third_at_least_one(tiny_processor):
    batch = _batch(tiny_processor, np.random.default_rng(0))
    # sentence lengths 8, 3 / 3, 0 -> masked floor(8/3)=2, 1 / 1, 0
    assert batch["word_mask"].sum(-1).tolist() == [[8, 3], [3, 0]]
    assert batch["masked_positions"].sum(-1).tolist() == [[2, 1], [1, 0]]
    assert not (batch["masked_positions"] & ~batch["word_mask"]).any(), "masked a padding position"
    masked = batch["masked_word_ids"][batch["masked_positions"]]
    assert (masked == tiny_processor.vocabulary.mask_id).all()
    kept = ~batch["masked_positions"]
    assert torch.equal(batch["masked_word_ids"][kept], batch["word_ids"][kept])


def test_masking_is_seeded(tiny_processor):
    rng = np.random.default_rng(0)
    first = _batch(tiny_processor, rng, mask_seed=3)["masked_positions"]
    assert torch.equal(first, _batch(tiny_processor, rng, mask_seed=3)["masked_positions"])
    assert torch.equal(
        _batch(tiny_processor, rng)["masked_positions"], _batch(tiny_processor, rng)["masked_positions"]
    )


@pytest.mark.parametrize("num_sentences", [1, 12])
def test_padding_any_number_of_sentences(tiny_processor, num_sentences):
    long = ["a man opens the door"] * num_sentences
    batch = tiny_processor(text=[long, ["the dog barks"]])
    assert tuple(batch["sentence_mask"].shape) == (2, num_sentences)
    assert batch["sentence_mask"][0].all()
    assert batch["sentence_mask"][1].tolist() == [True] + [False] * (num_sentences - 1)
    assert not batch["word_mask"][1, 1:].any()


def test_clip_features_are_normalised_then_pooled(tiny_processor):
    # constant frames of norm 5: every clip is the unit vector
    features = np.tile(np.array([3.0, 4.0] + [0.0] * 10, dtype=np.float32), (50, 1))
    batch = tiny_processor(video_features=[features], durations=[10.0])
    np.testing.assert_allclose(batch["clip_features"][0, :, :2].numpy(), np.tile([0.6, 0.8], (8, 1)), rtol=1e-6)


def test_unknown_words_map_to_unk(tiny_processor):
    batch = tiny_processor(text=[["the zebra opens the door"]])
    assert batch["word_ids"][0, 0, 1].item() == tiny_processor.vocabulary.unk_id


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"text": [[]]}, "paragraph 0: expected a non-empty list of sentences"),
        ({"text": [["the dog"], ["zzz qqq"]]}, "paragraph 1, sentence 0 ('zzz qqq') has no word in the vocabulary"),
        ({"text": [["!!!"]]}, "has no word in the vocabulary"),
        ({"video_features": [np.full((4, 12), np.nan)], "durations": [3.0]}, "video 0: features contain NaN"),
        ({"video_features": [np.full((4, 12), np.inf)], "durations": [3.0], "video_ids": ["v_x"]}, "video 'v_x'"),
        ({"video_features": [np.zeros((0, 12))], "durations": [3.0]}, "zero frames"),
        ({"video_features": [np.zeros((4,))], "durations": [3.0]}, "expected features of shape (num_frames"),
        ({"video_features": [np.zeros((4, 7))], "durations": [3.0]}, "expected feature_dim 12"),
        ({"video_features": [np.zeros((4, 12))], "durations": [0.0]}, "duration must be a positive"),
        ({"video_features": [np.zeros((4, 12))], "durations": [-2.0]}, "duration must be a positive"),
        (
            {
                "text": [["the dog"]],
                "video_features": [np.ones((4, 12))],
                "durations": [3.0],
                "timestamps": [[[2, 1]]],
            },
            "sentence 0: timestamp [2.0, 1.0] is not inside [0, 3.0]",
        ),
        (
            {
                "text": [["the dog"]],
                "video_features": [np.ones((4, 12))],
                "durations": [3.0],
                "timestamps": [[[0, 4]]],
            },
            "timestamp [0.0, 4.0] is not inside",
        ),
        (
            {
                "text": [["the dog"]],
                "video_features": [np.ones((4, 12))],
                "durations": [3.0],
                "timestamps": [[[float("nan"), 1.0]]],
            },
            "timestamp [nan, 1.0] is not inside",
        ),
        ({}, "give text, video_features, or both"),
    ],
)
def test_bad_inputs_name_the_item(tiny_processor, kwargs, message):
    with pytest.raises(InputError) as error:
        tiny_processor(**kwargs)
    assert message in str(error.value)


def test_post_process_grounding_converts_cells_and_applies_nms(tiny_processor):
    scores = torch.zeros(1, 2, 8, 8)
    scores[0, 0, 2, 3] = 0.9  # cell (2, 3) of K=8 in a 16 s video -> [4, 8] s
    scores[0, 0, 2, 4] = 0.8  # [4, 10] s overlaps the first with IoU 4/6 -> suppressed at 0.5
    scores[0, 0, 6, 7] = 0.7  # [12, 16] s
    moments = tiny_processor.post_process_grounding(
        scores, torch.tensor([16.0]), torch.tensor([[True, False]]), top_k=2, nms_threshold=0.5
    )
    assert len(moments) == 1 and len(moments[0]) == 1, "padded sentence must be left out"
    first, second = moments[0][0]
    assert (first.start, first.end, first.rank) == (4.0, 8.0, 1)
    assert first.score == pytest.approx(0.9)
    assert (second.start, second.end, second.rank) == (12.0, 16.0, 2)


@pytest.mark.slow
def test_save_and_load_in_a_fresh_offline_process(tiny_processor, tmp_path):
    tiny_processor.save_pretrained(tmp_path)
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.bin"))
    rng = np.random.default_rng(1)
    features = rng.random((30, 12), dtype=np.float32)
    np.save(tmp_path / "features.npy", features)
    expected = tiny_processor(text=PARAGRAPHS[:1], video_features=[features], durations=[9.0])
    script = f"""
import json, numpy as np
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor
processor = DMRJRGProcessor.from_pretrained({str(tmp_path)!r})
features = np.load({str(tmp_path / "features.npy")!r})
batch = processor(text={PARAGRAPHS[:1]!r}, video_features=[features], durations=[9.0])
print(json.dumps({{key: value.tolist() for key, value in batch.items()}}))
"""
    env = {"HF_HUB_OFFLINE": "1", "PATH": "", "PYTHONPATH": str(tmp_path.parent)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**env, **_keep_env()})
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    for key, value in expected.items():
        np.testing.assert_array_equal(np.asarray(loaded[key]), value.numpy(), err_msg=key)


def _keep_env() -> dict[str, str]:
    import os

    return {key: os.environ[key] for key in ("HOME", "PYTHONPATH") if key in os.environ}


def test_processor_round_trip_keeps_settings(tiny_processor, tmp_path):
    tiny_processor.save_pretrained(tmp_path)
    loaded = DMRJRGProcessor.from_pretrained(tmp_path)
    assert loaded.to_dict() == tiny_processor.to_dict()
    np.testing.assert_array_equal(loaded.word_vectors, tiny_processor.word_vectors)
    assert loaded.vocabulary.words == tiny_processor.vocabulary.words


def test_long_video_settings_round_trip(tiny_config, tmp_path):
    durations = [20.0, 40.0, 60.0, 80.0, 100.0, 300.0]
    processor = DMRJRGProcessor.from_corpus(PARAGRAPHS[0], config=tiny_config, training_durations=durations)
    # numpy's linear percentile: 95 % of the way between 100 and 300 -> 250; chunking above the longest, 300 s
    assert processor.long_video_window_seconds == 250.0 and processor.long_video_threshold_seconds == 300.0
    assert processor.long_video_overlap == 0.5
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert (saved["long_video_window_seconds"], saved["long_video_overlap"]) == (250.0, 0.5)
    loaded = DMRJRGProcessor.from_pretrained(tmp_path)
    assert loaded.to_dict() == processor.to_dict()
    overridden = DMRJRGProcessor.from_pretrained(
        tmp_path, long_video_overlap=0.25, long_video_relevance_temperature=None
    )
    assert overridden.long_video_overlap == 0.25 and overridden.long_video_relevance_temperature is None
    overridden.save_pretrained(tmp_path / "unweighted")
    assert DMRJRGProcessor.from_pretrained(tmp_path / "unweighted").long_video_relevance_temperature is None


def test_a_processor_saved_before_chunked_grounding_loads_with_chunking_off(tiny_processor, tmp_path):
    tiny_processor.save_pretrained(tmp_path)
    path = tmp_path / "processor_config.json"
    settings = json.loads(path.read_text())
    names = ("window_seconds", "overlap", "threshold_seconds", "relevance_temperature")
    for name in names:
        del settings[f"long_video_{name}"]
    path.write_text(json.dumps(settings))
    loaded = DMRJRGProcessor.from_pretrained(tmp_path)
    assert loaded.long_video_window_seconds is None and loaded.long_video_threshold_seconds is None
    assert (loaded.long_video_overlap, loaded.long_video_relevance_temperature) == (0.5, 0.1)


def test_without_training_durations_chunking_is_off(tiny_processor):
    assert tiny_processor.long_video_window_seconds is None and tiny_processor.long_video_threshold_seconds is None


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"long_video_window_seconds": 60.0, "long_video_overlap": 1.0}, r"long_video_overlap must be .* \[0, 1\)"),
        ({"long_video_window_seconds": 60.0, "long_video_overlap": -0.1}, "long_video_overlap must be"),
        ({"long_video_window_seconds": 0.0}, "long_video_window_seconds: duration must be a positive number"),
        ({"long_video_relevance_temperature": 0.0}, "long_video_relevance_temperature must be a positive number"),
        ({"long_video_relevance_temperature": "0.1"}, "long_video_relevance_temperature must be a positive number"),
        (
            {"long_video_window_seconds": 60.0, "long_video_threshold_seconds": 30.0},
            r"long_video_threshold_seconds \(30.0\) must be at least long_video_window_seconds \(60.0\)",
        ),
    ],
)
def test_bad_long_video_settings_name_the_field(tiny_processor, settings, message):
    with pytest.raises(ConfigError, match=message):
        DMRJRGProcessor(tiny_processor.vocabulary, **settings)


def test_the_threshold_defaults_to_the_window(tiny_processor):
    processor = DMRJRGProcessor(tiny_processor.vocabulary, long_video_window_seconds=90)
    assert processor.long_video_threshold_seconds == processor.long_video_window_seconds == 90.0
