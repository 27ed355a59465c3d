"""End to end through the CLI on the real Charades-STA annotations with generated features (issue: real benchmarks)."""

from __future__ import annotations

import json

import pytest

from dmr_jrg_hf.cli import main
from dmr_jrg_hf.data.readers import write_random_features
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not


def _charades_video_ids(annotations) -> set[str]:
    lines = []
    for split in ("train", "test"):
        lines += (annotations / f"charades_sta_{split}.txt").read_text(encoding="utf-8").splitlines()
    return {line.split(" ", 1)[0] for line in lines if line.strip()}


def test_train_tiny_on_real_charades_annotations(tmp_path, shared_benchmarks, capsys):
    annotations = shared_benchmarks / "charades_sta"
    video_ids = sorted(_charades_video_ids(annotations))
    features = write_random_features(
        {vid: 32 for vid in video_ids}, tmp_path / "vgg_rgb_features.hdf5", "charades", 16
    )
    run = tmp_path / "run"
    arguments = [
        *("train", "--benchmark", "charades_sta", "--annotations", str(annotations), "--features", str(features)),
        *("--preset", "tiny", "--epochs", "1", "--batch-size", "16", "--output-dir", str(run), "-q"),
        *("--max-train-paragraphs", "300", "--max-eval-paragraphs", "40"),
    ]
    assert main(arguments) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs"] == 1 and summary["history"][0]["step"] == 19  # ceil(300 / 16) optimizer steps
    results = summary["history"][0]["results"]
    assert {"retrieval", "grounding", "vprg"} <= set(results)
    model = DMRJRGModel.from_pretrained(run)
    assert model.config.feature_dim == 16, "feature_dim must be taken from the features"
    assert (run / "processor_config.json").is_file()
