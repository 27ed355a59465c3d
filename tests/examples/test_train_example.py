"""examples/train.py trains through the Python API (build_model_and_processor + DMRJRGTrainer)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmr_jrg_hf import DMRJRGModel
from dmr_jrg_hf.hub.model_folder import check_model_folder

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train.py"


@pytest.mark.slow
def test_the_training_example_trains_a_loadable_model(tmp_path):
    command = [sys.executable, str(EXAMPLE), "--preset", "tiny", "--epochs", "1", "--output-dir", str(tmp_path)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "best epoch 1" in result.stdout
    check_model_folder(tmp_path)  # remote code and model card: ready to push
    model = DMRJRGModel.from_pretrained(tmp_path)
    assert model.config.num_train_epochs == 1 and model.config.feature_dim == 64, "schedule and D from the data"
