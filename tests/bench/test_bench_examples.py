"""examples/bench_model.py and examples/bench_retrieval.py run the suite's sections and write its JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from dmr_jrg_hf.bench import suite
from dmr_jrg_hf.bench.hardware import machine_limits

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch):
    monkeypatch.setattr(suite, "machine_limits", lambda device, *_: machine_limits(device, 64, 2**20, repeats=1))


def test_bench_model_example(tmp_path, capsys):
    output = tmp_path / "model.json"
    assert _example("bench_model").main(["--presets", "tiny", "--steps", "1", "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert report["sections"] == ["model"] and [row["name"] for row in report["model"]] == ["tiny"]
    assert "model step (fp32" in capsys.readouterr().out


def test_bench_retrieval_example(tmp_path, capsys):
    output = tmp_path / "retrieval.json"
    args = ["--preset", "tiny", "--corpus-sizes", "50", "--large-corpus", "0", "--num-queries", "2"]
    assert _example("bench_retrieval").main([*args, "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert [(row["num_videos"], row["backend"]) for row in report["retrieval"]["search"]] == [
        (50, "exact"),
        (50, "int8"),
    ]
    assert report["retrieval"]["retrieve_and_ground"][0]["top_k"] == 1
    assert "retrieval (tiny model" in capsys.readouterr().out
