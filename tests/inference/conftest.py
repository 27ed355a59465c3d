"""Fixtures of the inference tests: a small synthetic corpus and an untrained tiny model with its processor."""

from __future__ import annotations

import pytest

from dmr_jrg_hf.data.synthetic import generate_synthetic_benchmark
from dmr_jrg_hf.model_builder import build_model_and_processor

FEATURE_RATE = 1.0


@pytest.fixture(scope="module")
def corpus():
    """12 test videos (feature_dim 12 = the tiny preset's D), paragraphs of 2-4 sentences."""
    return generate_synthetic_benchmark(
        num_train_videos=16, num_validation_videos=0, num_test_videos=12, feature_dim=12, max_sentences=4, seed=3
    )


@pytest.fixture(scope="module")
def model_and_processor(corpus):
    spec = {"name": "synthetic", "rate_per_second": FEATURE_RATE, "feature_dim": 12}
    model, processor = build_model_and_processor("tiny", corpus.paragraphs["train"], video_feature_spec=spec)
    return model.eval(), processor


@pytest.fixture(scope="module")
def test_features(corpus):
    return {row["video_id"]: corpus.features[row["video_id"]] for row in corpus.paragraphs["test"]}
