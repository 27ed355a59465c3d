"""`build_model_and_processor`: the data sets vocab_size and feature_dim through validated overrides; one seed, one
model."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from dmr_jrg_hf import DMRJRGConfig, build_model_and_processor
from dmr_jrg_hf.errors import ConfigError, InputError

ROWS = [
    {"video_id": "v0", "sentences": ["a man opens the door", "he walks out"]},
    {"video_id": "v1", "sentences": ["a woman reads a book"]},
]
FEATURES = {"v0": np.zeros((20, 7), dtype=np.float32), "v1": np.zeros((10, 7), dtype=np.float32)}


def test_vocab_size_and_feature_dim_come_from_the_data_and_are_logged(caplog):
    config = DMRJRGConfig.from_preset("tiny")
    with caplog.at_level(logging.INFO, logger="dmr_jrg_hf.model_builder"):
        model, processor = build_model_and_processor(config, ROWS, features=FEATURES)
    assert model.config.vocab_size == len(processor.vocabulary) != config.vocab_size
    assert model.config.feature_dim == processor.feature_dim == 7
    assert (config.vocab_size, config.feature_dim) == (40, 12), "the caller's config is left unchanged"
    assert "vocab_size set from the data" in caplog.text and "feature_dim set from the data: 7" in caplog.text
    torch.testing.assert_close(model.word_vectors, torch.as_tensor(processor.word_vectors))


def test_one_seed_gives_one_model_and_a_preset_name_works():
    first, _ = build_model_and_processor("tiny", ROWS, seed=3)
    second, _ = build_model_and_processor(DMRJRGConfig.from_preset("tiny"), ROWS, seed=3)
    other, _ = build_model_and_processor("tiny", ROWS, seed=4)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert any(not torch.equal(a, c) for a, c in zip(first.parameters(), other.parameters(), strict=True))


def test_the_config_preset_decides_the_word_vector_postprocessing():
    _, plain = build_model_and_processor("tiny", ROWS)
    whiten = DMRJRGConfig.from_preset("tiny", word_vector_postprocessing="whiten")
    _, whitened = build_model_and_processor(whiten, ROWS)
    corpus_rows = [plain.vocabulary.encode(["man"])[0]]
    assert not np.allclose(plain.word_vectors[corpus_rows], whitened.word_vectors[corpus_rows])


def test_bad_input_names_the_problem():
    with pytest.raises(InputError, match="training row 0: expected a mapping with 'sentences'"):
        build_model_and_processor("tiny", ["a man opens the door"])
    with pytest.raises(InputError, match="video 'v0' of the first training row has no features"):
        build_model_and_processor("tiny", ROWS, features={"v1": FEATURES["v1"]})
    with pytest.raises(ConfigError, match="unknown preset"):
        build_model_and_processor("tinyy", ROWS)


def test_long_video_settings_come_from_the_training_durations():
    video_durations = np.arange(20.0, 220.0, 10.0)  # 20 videos
    rows = [
        {"video_id": f"v{i}", "sentences": ROWS[i % 2]["sentences"], "duration": seconds}
        for i, seconds in enumerate(video_durations)
    ]
    rows += [{**rows[-1], "sentences": ["he walks out"]}] * 5  # more paragraphs of one video count it once
    _, processor = build_model_and_processor("tiny", rows)
    assert processor.long_video_window_seconds == pytest.approx(np.percentile(video_durations, 95))  # 200.5
    assert processor.long_video_threshold_seconds == 210.0
    _, without = build_model_and_processor("tiny", ROWS)
    assert without.long_video_window_seconds is None, "rows without durations: chunking off"
