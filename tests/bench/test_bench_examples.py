"""examples/bench_model.py and examples/bench_retrieval.py run the suite's sections and write its JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from dmr_jrg_hf.bench import suite
from dmr_jrg_hf.bench.hardware import machine_limits

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not

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


CHARADES = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "charades_sta"


@pytest.mark.slow
@pytest.mark.skipif(
    not (CHARADES / "charades_sta_train.txt").is_file(), reason="shared Charades-STA annotations absent"
)
@pytest.mark.parametrize(
    "layout",
    [[], ["--full-layout"], ["--reconstructor-layout", "packed"]],
    ids=["real sentences", "full layout", "packed reconstructor"],
)
def test_charades_epoch_example(monkeypatch, capsys, layout):
    arguments = ["--annotations", str(CHARADES), "--steps", "1", "--hidden-size", "16", "--threads", "1", *layout]
    monkeypatch.setattr("sys.argv", ["charades_epoch_benchmark.py", *arguments])
    _example("charades_epoch_benchmark").main()
    report = json.loads(capsys.readouterr().out)
    assert report["epoch_steps"] == 334, "5,338 paragraphs in batches of 16"
    assert report["layout"] == ("full" if "--full-layout" in layout else "real sentences")
    assert report["reconstructor_layout"] == ("packed" if "packed" in layout else "auto")
    assert 0 < report["sentences_per_batch"][0] < report["slots_per_batch"][0], "a padded batch of real paragraphs"
    assert report["gflop_per_step"] > 0 and report["epoch_minutes"] == pytest.approx(
        334 * report["seconds_per_step"] / 60
    )
