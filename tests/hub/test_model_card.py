"""Model cards: Hub metadata and model-index from the evaluation JSON, results tables, protocol descriptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.errors import DataFormatError
from dmr_jrg_hf.hub.model_card import MODEL_CARD_TEMPLATE, load_evaluation, render_model_card, write_model_card
from dmr_jrg_hf.metrics.report import PROTOCOL_DESCRIPTIONS

EVALUATION = {
    "benchmark": {"name": "synthetic", "split": "test", "paragraphs": 100, "seed": 0},
    "model": {
        "vprg": {"R@1,IoU=0.3": 41.25, "R@1,IoU=0.5": 30.5, "R@5,IoU=0.5": 52.0},
        "retrieval": {"R@1": 61.0, "R@5": 90.0, "MedR": 1.0},
        "grounding": {"R@1,IoU=0.5": 44.4, "mIoU": 40.12},
    },
    "untrained": {"retrieval": {"R@1": 2.0, "R@5": 6.0, "MedR": 48.0}},
    "baselines": {
        "random": {"retrieval": {"R@1": 1.0, "R@5": 5.0, "MedR": 50.5}},
        "saliency": {"grounding": {"mIoU": 20.0}},
    },
}


@pytest.fixture
def card_text(tiny_config, tiny_processor) -> str:
    tiny_processor.video_feature_spec = {"name": "i3d", "rate_per_second": 1.5}
    return render_model_card(
        EVALUATION, config=tiny_config, processor=tiny_processor, model_name="dmr-jrg-test", datasets=["me/synthetic"]
    )


def test_card_metadata_holds_every_result_of_the_evaluation(card_text):
    card = ModelCard(card_text)
    assert card.data.library_name == "dmr_jrg_hf"
    assert {"video-retrieval", "video-grounding", "weakly-supervised"} <= set(card.data.tags)
    assert card.data.datasets == ["me/synthetic"] and card.data.metrics == ["recall"]
    found = {result.metric_type: result.metric_value for result in card.data.eval_results}
    expected = {f"{p}/{m}": v for p, metrics in EVALUATION["model"].items() for m, v in metrics.items()}
    assert found == expected, "one model-index entry per protocol/metric with the JSON's value"
    assert {result.dataset_split for result in card.data.eval_results} == {"test"}
    assert {result.dataset_name for result in card.data.eval_results} == {"synthetic"}


def test_card_body_has_tables_protocols_features_and_limitations(card_text):
    body = ModelCard(card_text).text
    assert "| DMR-JRG (this model) | 41.25 | 30.50 | 52.00 |" in body, "vprg row of this model"
    assert "| DMR-JRG (untrained) | 2.00 | 6.00 | 48.00 |" in body, "untrained reference row"
    assert "| baseline: random | 1.00 | 5.00 | 50.50 |" in body, "baseline row"
    assert "| baseline: saliency | - | 20.00 |" in body, "missing metric shown as -"
    for protocol in EVALUATION["model"]:
        assert f"### {protocol}" in body and PROTOCOL_DESCRIPTIONS[protocol] in body, f"protocol {protocol} explained"
    assert "| name | i3d |" in body and "| rate_per_second | 1.5 |" in body, "feature extractor described"
    assert "| feature_dim | 12 |" in body
    for section in ("## Intended use", "## Limitations", "**Weak supervision**", "**Feature parity**", "## Citation"):
        assert section in body, section
    assert "@article{wang2024dmrjrg" in body


def test_card_without_evaluation_says_so(tiny_config):
    card = ModelCard(render_model_card(None, config=tiny_config))
    assert card.data.eval_results is None and "No evaluation results" in card.text


def test_write_model_card_reads_the_folders_results_json(tmp_path, tiny_config, tiny_processor):
    (tmp_path / "results.json").write_text(json.dumps(EVALUATION))
    path = write_model_card(tmp_path, config=tiny_config, processor=tiny_processor)
    assert path == tmp_path / "README.md"
    assert "| DMR-JRG (this model) | 61.00 | 90.00 | 1.00 |" in path.read_text(), "retrieval row from results.json"


def test_load_evaluation_formats_and_errors(tmp_path):
    assert load_evaluation({"retrieval": {"R@1": 1.0}}) == {"model": {"retrieval": {"R@1": 1.0}}}, "bare protocols"
    bad = tmp_path / "eval.json"
    bad.write_text("{not json")
    with pytest.raises(DataFormatError, match="eval.json: cannot read"):
        load_evaluation(bad)
    with pytest.raises(DataFormatError, match=r"got keys \['accuracy'\]"):
        load_evaluation({"accuracy": 1.0})


def test_one_template_shipped_as_package_data():
    root = Path(__file__).resolve().parents[2]
    assert MODEL_CARD_TEMPLATE == root / "dmr_jrg_hf" / "hub" / "model_card.md" and MODEL_CARD_TEMPLATE.is_file()
    assert sorted(p.name for p in (root / "model_cards").iterdir()) == ["README.md"], "no second template"
    assert "dmr_jrg_hf/hub/model_card.md" in (root / "model_cards" / "README.md").read_text()
    assert '"hub/*.md"' in (root / "setup.py").read_text(), "template shipped with the package"


def test_card_states_the_objective_and_every_term_not_in_the_paper(tiny_config):
    paper = ModelCard(render_model_card(None, config=tiny_config)).text
    assert "Objective `paper`: the paper's Eq. 23." in paper
    extended = DMRJRGConfig.from_preset("tiny", objective="grounding")
    body = ModelCard(render_model_card(None, config=extended)).text
    assert (
        "Objective `grounding`: the paper's Eq. 23 with `temporal_loss_weight` = 0.1, plus terms that are not" in body
    )
    assert "(`clip_alignment_weight` = 1.0)" in body and "(`alignment_pseudo_label_weight` = 10.0)" in body
    alignment_only = DMRJRGConfig.from_preset("tiny", clip_alignment_weight=1.0)
    body = ModelCard(render_model_card(None, config=alignment_only)).text
    assert "(`clip_alignment_weight` = 1.0)" in body
    assert "alignment_pseudo_label_weight" not in body, "terms that are off are not listed"
