from __future__ import annotations

import json
import logging
import sys

import pytest
import torch

from dmr_jrg_hf.apps.demo import _moment_lines, _save_plots, run_demo
from dmr_jrg_hf.inference import DMRJRGPredictor
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor
from dmr_jrg_hf.results import Moment, ParagraphResult, RetrievalHit, SentenceGrounding

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not


def test_demo_end_to_end_on_a_small_benchmark(tmp_path):
    result = run_demo(
        tmp_path,
        num_train_epochs=1,
        show_progress=False,
        num_train_videos=12,
        num_validation_videos=4,
        num_test_videos=6,
    )
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved == json.loads(json.dumps(result.results))
    assert set(saved["model"]) == {"vprg", "vcmr", "retrieval", "grounding"}
    assert set(saved["untrained"]) == set(saved["model"])
    assert {"random_retrieval", "query_free_saliency", "window_middle_half", "window_whole"} <= set(saved["baselines"])
    assert "R@1,IoU=0.5" in saved["model"]["vprg"] and "R@10" in saved["model"]["retrieval"]
    assert all(0.0 <= value <= 100.0 for value in saved["model"]["vprg"].values())
    for protocol in ("[vprg]", "[vcmr]", "[retrieval]", "[grounding]", "query_free_saliency"):
        assert protocol in result.table, protocol
    assert "retrieved videos:" in result.query_report
    true_video = result.query_report.splitlines()[0].split("ground truth video ")[1].rstrip("):")
    assert f"moments in {true_video} (#" in result.query_report, "the true video's moments, wherever it ranks"
    lines = result.query_report.splitlines()
    num_sentences = lines.index("retrieved videos:") - 1
    assert result.query_report.count("truth [") == num_sentences, "each sentence against its true moment, once"
    plots = {name: tmp_path / "plots" / f"{name}.png" for name in ("retrieval", "timeline", "score_maps")}
    assert result.plots == plots, "the query's three plots in plots/"
    assert all(path.read_bytes()[:4] == b"\x89PNG" for path in result.plots.values()), "query plots written as PNG"
    card = (tmp_path / "README.md").read_text()
    assert "model-index" in card and "dmr-jrg-synthetic-demo" in card, "the demo folder lacks its model card"
    model = DMRJRGModel.from_pretrained(tmp_path)
    assert model.config.num_clips == 16
    assert len(DMRJRGProcessor.from_pretrained(tmp_path).vocabulary) == model.config.vocab_size


@pytest.mark.portability
def test_the_same_seed_gives_the_same_demo(tmp_path):
    small = {"num_train_videos": 12, "num_validation_videos": 4, "num_test_videos": 6}
    results = []
    for index in range(2):
        torch.manual_seed(index)  # whatever state the caller left, the demo's seed decides
        run = run_demo(tmp_path / str(index), num_train_epochs=1, show_progress=False, **small)
        results.append({name: run.results[name] for name in ("model", "untrained")})
    assert results[0] == results[1]


def test_demo_skips_the_plots_with_a_warning_without_matplotlib(monkeypatch, tmp_path, caplog):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    monkeypatch.delitem(sys.modules, "dmr_jrg_hf.inference.plots", raising=False)
    with caplog.at_level(logging.WARNING, logger="dmr_jrg_hf.apps.demo"):
        assert _save_plots(DMRJRGPredictor(None, None), [], {"video_id": "v0", "timestamps": []}, tmp_path) == {}
    assert "query plots skipped" in caplog.text and "viz" in caplog.text
    assert not any(tmp_path.iterdir()), "nothing written"


def test_moment_lines_show_the_truth_only_in_the_true_video():
    row = {"video_id": "v1", "timestamps": [[1.0, 4.0], [5.0, 9.5]]}
    sentences = tuple(
        SentenceGrounding(text, (Moment(start, end, score),))
        for text, start, end, score in (("a", 0.5, 4.0, 0.9), ("b", 6.0, 9.0, 0.4))
    )
    true_video = ParagraphResult(RetrievalHit("v1", 2, 0.7), 10.0, sentences)
    lines = _moment_lines(true_video, row)
    assert lines[0].startswith("moments in v1 (#2;")
    assert lines[1] == "  1. [   0.5,    4.0] score 0.90   truth [   1.0,    4.0]"
    assert lines[2] == "  2. [   6.0,    9.0] score 0.40   truth [   5.0,    9.5]"
    other = _moment_lines(ParagraphResult(RetrievalHit("v7", 1, 0.8), 10.0, sentences), row)
    assert all(line.endswith("truth (other video)") for line in other[1:])
