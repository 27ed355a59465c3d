from __future__ import annotations

import pytest

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.data.synthetic import generate_synthetic_benchmark
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor


@pytest.fixture(scope="session")
def small_benchmark():
    return generate_synthetic_benchmark(
        num_train_videos=12, num_validation_videos=4, num_test_videos=6, feature_dim=12, max_duration=40.0
    )


def make_tiny_model(benchmark, seed: int = 0, **overrides):
    """A seeded (model, processor) pair of the tiny preset for ``benchmark`` (vocabulary from its training split)."""
    import torch

    config = DMRJRGConfig.from_preset("tiny", **overrides)
    sentences = [s for row in benchmark.paragraphs["train"] for s in row["sentences"]]
    processor = DMRJRGProcessor.from_corpus(sentences, config=config, seed=0)
    torch.manual_seed(seed)
    model = DMRJRGModel(config)
    model.set_word_vectors(processor.word_vectors)
    return model, processor


@pytest.fixture
def build_model(small_benchmark):
    """A fresh seeded (model, processor) pair of the tiny preset for the small synthetic benchmark."""

    def build(seed: int = 0, **overrides):
        return make_tiny_model(small_benchmark, seed, **overrides)

    return build


@pytest.fixture(autouse=True)
def _fresh_accelerator_state():
    """Accelerate keeps one process-wide state (precision, device); each test starts as a new process would."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
