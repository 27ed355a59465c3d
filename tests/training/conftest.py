from __future__ import annotations

import pytest
from helpers import make_tiny_model

from dmr_jrg_hf.data.synthetic import generate_synthetic_benchmark


@pytest.fixture(scope="session")
def small_benchmark():
    return generate_synthetic_benchmark(
        num_train_videos=12, num_validation_videos=4, num_test_videos=6, feature_dim=12, max_duration=40.0
    )


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
