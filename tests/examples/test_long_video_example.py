"""examples/long_video_grounding.py prints its grounding and retrieval tables for a synthetic-benchmark model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmr_jrg_hf.data.synthetic import generate_synthetic_benchmark
from dmr_jrg_hf.model_builder import build_model_and_processor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "long_video_grounding.py"


@pytest.mark.slow
def test_the_long_video_example_prints_both_tables(tmp_path):
    benchmark = generate_synthetic_benchmark(num_train_videos=20, num_validation_videos=0, num_test_videos=0)
    rows = benchmark.paragraphs["train"]
    model, processor = build_model_and_processor("tiny", rows, features=benchmark.features)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    command = [sys.executable, str(EXAMPLE), "--model", str(tmp_path), "--num-paragraphs", "3"]
    command += ["--lengths", "300", "--sweep-length", "300"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    grounding = [line for line in lines if line.startswith("| 300 s, ")]
    assert len(grounding) == 3 + 2 + 2, "whole, chunked (weighted, unweighted), two other windows; two retrievals"
    assert any("best_window" in line for line in grounding) and any("pooled" in line for line in grounding)
    assert "torch threads: 1" in lines[0] and "3 test paragraphs" in lines[0]
