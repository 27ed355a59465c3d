"""Shared fixtures: offline hub, seeded RNGs, a tiny config and processor."""

from __future__ import annotations

import os
import random
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig  # noqa: E402
from dmr_jrg_hf.data.synthetic import generate_synthetic_benchmark  # noqa: E402
from dmr_jrg_hf.model_builder import build_model_and_processor  # noqa: E402
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor  # noqa: E402

SHARED_BENCHMARKS = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"

TINY_SENTENCES = [
    "a man opens the door of the kitchen",
    "he walks out of the room",
    "the dog barks at the man",
    "a woman cuts the bread on the table",
    "she puts the knife in the drawer",
    "the man sits on the chair and reads",
]


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture
def tiny_config() -> DMRJRGConfig:
    return DMRJRGConfig.from_preset("tiny")


@pytest.fixture
def tiny_processor(tiny_config) -> DMRJRGProcessor:
    return DMRJRGProcessor.from_corpus(TINY_SENTENCES, config=tiny_config, seed=0)


@pytest.fixture(scope="session")
def shared_benchmarks() -> Path:
    if not SHARED_BENCHMARKS.is_dir():
        pytest.skip(f"benchmark annotations not found at {SHARED_BENCHMARKS}")
    return SHARED_BENCHMARKS


# The search corpus of the inference and CLI tests: a small synthetic corpus and an untrained tiny model.


@pytest.fixture(scope="module")
def corpus():
    """12 test videos (feature_dim 12 = the tiny preset's D), paragraphs of 2-4 sentences."""
    return generate_synthetic_benchmark(
        num_train_videos=16, num_validation_videos=0, num_test_videos=12, feature_dim=12, max_sentences=4, seed=3
    )


@pytest.fixture(scope="module")
def model_and_processor(corpus):
    spec = {"name": "synthetic", "rate_per_second": 1.0, "feature_dim": 12}
    model, processor = build_model_and_processor("tiny", corpus.paragraphs["train"], video_feature_spec=spec)
    return model.eval(), processor


@pytest.fixture(scope="module")
def test_features(corpus):
    return {row["video_id"]: corpus.features[row["video_id"]] for row in corpus.paragraphs["test"]}
