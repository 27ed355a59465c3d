from __future__ import annotations

import json
import logging
import re

import pytest

from dmr_jrg_hf.configuration_dmr_jrg import ABLATION_PRESETS, OBJECTIVES, PRESETS, DMRJRGConfig
from dmr_jrg_hf.errors import ConfigError


def test_defaults_are_the_papers_values():
    config = DMRJRGConfig()
    assert config.hidden_size == 512
    assert config.num_top_candidates == 3
    assert config.candidate_fusion_weights == [0.4, 0.3, 0.3]
    assert config.triplet_margin == 0.2
    assert config.retrieval_nce_weight == config.global_nce_weight == 0.04
    assert config.learnable_logit_scale is True
    assert (config.learning_rate, config.lr_decay_factor, config.lr_decay_epochs) == (1e-4, 0.8, 20)
    assert config.num_train_epochs == 100
    assert config.supervision == "weak"


@pytest.mark.parametrize(
    "name, clips, batch, cells",
    [("activitynet", 32, 16, 428), ("charades", 16, 16, 136), ("tacos", 16, 6, 136), ("tiny", 8, 4, 36)],
)
def test_presets(name, clips, batch, cells):
    config = DMRJRGConfig.from_preset(name)
    assert (config.num_clips, config.train_batch_size, config.num_valid_cells) == (clips, batch, cells), name


def test_activitynet_uses_sparse_map():
    assert DMRJRGConfig.from_preset("activitynet").map_scale_layers == [16, 8, 8]


def test_preset_overrides_and_ablation():
    config = DMRJRGConfig.from_preset("charades", ablation="base+vpcmr", hidden_size=64, num_attention_heads=4)
    assert config.hidden_size == 64
    assert config.use_retrieval_branch and not config.use_global_branch
    assert config.temporal_sync_directions == "none"


EXTRA_TERMS = ("clip_alignment_weight", "alignment_pseudo_label_weight", "temporal_loss_weight")


@pytest.mark.parametrize("name", ["activitynet", "charades", "tacos"])
def test_benchmark_presets_train_with_the_grounding_objective_and_the_paper_is_one_switch_away(name):
    config = DMRJRGConfig.from_preset(name)
    assert config.objective == "grounding"
    assert tuple(getattr(config, term) for term in EXTRA_TERMS) == (1.0, 10.0, 0.1)
    paper = DMRJRGConfig.from_preset(name, objective="paper")
    assert paper.to_dict() == DMRJRGConfig(**PRESETS[name]).to_dict(), "the paper switch is the preset as it was"
    assert paper.objective == "paper" and tuple(getattr(paper, term) for term in EXTRA_TERMS) == (0.0, 0.0, 1.0)
    assert DMRJRGConfig.from_preset(name, objective="paper").to_dict() == paper.to_dict()
    assert DMRJRGConfig.from_preset(name, objective="paper", hidden_size=128).hidden_size == 128


def test_tiny_keeps_the_papers_objective():
    assert DMRJRGConfig.from_preset("tiny").to_dict() == DMRJRGConfig(**PRESETS["tiny"]).to_dict()


@pytest.mark.parametrize(
    "supervision, alignment, btse",
    [("weak", 1.0, "both"), ("full", 0.0, "none"), ("semi", 1.0, "none")],
)
def test_the_grounding_objective_follows_the_supervision(supervision, alignment, btse):
    """With timestamps BTSE-TD's self-made labels are off; semi keeps the alignment for its unannotated paragraphs."""
    config = DMRJRGConfig.from_preset("charades", supervision=supervision)
    assert (config.supervision, config.clip_alignment_weight, config.temporal_sync_directions) == (
        supervision,
        alignment,
        btse,
    )
    assert config.alignment_pseudo_label_weight == 10.0 * alignment
    assert DMRJRGConfig.from_preset(
        "charades", objective="paper", supervision=supervision
    ).temporal_sync_directions == ("both"), "the paper's objective keeps BTSE-TD whatever the supervision"


def test_objective_then_ablation_then_overrides():
    config = DMRJRGConfig.from_preset("charades", ablation="base", temporal_loss_weight=0.5)
    assert config.objective == "grounding" and config.temporal_sync_directions == "none", "the ablation row wins"
    assert config.temporal_loss_weight == 0.5 and config.clip_alignment_weight == 1.0, "an override wins"
    routed = DMRJRGConfig.from_preset("charades", **{"objective": "paper"})
    assert routed.objective == "paper" and routed.clip_alignment_weight == 0.0, "objective= as an override applies it"


def test_unknown_objective_is_named():
    with pytest.raises(ConfigError, match="unknown objective 'papers'"):
        DMRJRGConfig.from_preset("charades", objective="papers")
    with pytest.raises(ConfigError, match="objective must be one of"):
        DMRJRGConfig(objective="mine")
    assert set(OBJECTIVES) == {"paper", "grounding"}


@pytest.mark.parametrize("ablation", list(ABLATION_PRESETS))
def test_every_ablation_preset_builds(ablation):
    config = DMRJRGConfig.from_preset("tiny", ablation=ablation)
    for key, value in ABLATION_PRESETS[ablation].items():
        assert getattr(config, key) == value, f"{ablation}: {key}"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"num_top_candidates": 2}, "candidate_fusion_weights must have num_top_candidates=2"),
        ({"num_top_candidates": 40, "candidate_fusion_weights": [0.025] * 40}, "exceeds the 36 valid cells"),
        ({"temporal_sync_directions": "fw"}, "temporal_sync_directions must be one of"),
        ({"supervision": "strong"}, "supervision must be one of"),
        ({"reconstructor_layout": "ragged"}, "reconstructor_layout must be one of"),
        ({"num_clips": 0}, "num_clips must be a positive int"),
        ({"hidden_size": 15}, "divisible by num_attention_heads"),
        ({"min_iou": 0.8, "max_iou": 0.5}, "min_iou < max_iou"),
        ({"tan_kernel_size": 4, "tan_padding": 2}, "tan_kernel_size must be odd"),
        ({"use_global_branch": False}, "use_score_distillation"),
        ({"dropout": 1.5}, "dropout must be in [0, 1)"),
        ({"map_scale_layers": []}, "map_scale_layers"),
        ({"proposal_suppression_iou": 1.5}, "proposal_suppression_iou must be in [0, 1]"),
    ],
)
def test_validation_errors(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        DMRJRGConfig.from_preset("tiny", **overrides)


def test_unknown_field_suggests_closest():
    with pytest.raises(ConfigError, match="did you mean 'hidden_size'"):
        DMRJRGConfig(hiden_size=3)


def test_unknown_preset_lists_choices():
    with pytest.raises(ConfigError, match="activitynet"):
        DMRJRGConfig.from_preset("activitynett")


def test_save_and_load_round_trip(tmp_path):
    config = DMRJRGConfig.from_preset("activitynet", ablation="base+vpcmr+vtc-ld+btse")
    config.save_pretrained(tmp_path)
    loaded = DMRJRGConfig.from_pretrained(tmp_path)
    for key in ("num_clips", "map_scale_layers", "candidate_fusion_weights", "temporal_sync_directions"):
        assert getattr(loaded, key) == getattr(config, key), key
    assert set(PRESETS) == {"activitynet", "charades", "tacos", "tiny", "synthetic"}


def test_the_synthetic_preset_is_the_demo_model_with_the_grounding_objective():
    config = DMRJRGConfig.from_preset("synthetic")
    assert (config.feature_dim, config.hidden_size, config.num_clips, config.num_train_epochs) == (64, 64, 16, 15)
    assert config.objective == "grounding" and config.clip_alignment_weight == 1.0
    assert config.word_vector_postprocessing == "whiten"
    assert DMRJRGConfig.from_preset("tiny").word_vector_postprocessing == "none", "the paper's frozen vectors"
    with pytest.raises(ConfigError, match="word_vector_postprocessing must be one of"):
        DMRJRGConfig(word_vector_postprocessing="pca")


RETIRED = {
    "intra_video_contrast_weight": 0.0,
    "contrast_whole_video_margin": 0.1,
    "contrast_complement_margin": 0.15,
    "reconstruction_pseudo_label_weight": 0.0,
}


def test_a_saved_config_with_retired_fields_loads_without_them_and_says_so_once(tmp_path, caplog):
    config = DMRJRGConfig.from_preset("tiny")
    config.save_pretrained(tmp_path)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **RETIRED}), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="dmr_jrg_hf.configuration_dmr_jrg"):
        loaded = DMRJRGConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert not any(hasattr(loaded, name) for name in RETIRED)
    messages = [record.getMessage() for record in caplog.records if record.name == "dmr_jrg_hf.configuration_dmr_jrg"]
    assert len(messages) == 1 and all(name in messages[0] for name in RETIRED), messages


@pytest.mark.parametrize("name", sorted(RETIRED))
def test_retired_fields_passed_to_the_constructor_are_unknown_fields(name):
    with pytest.raises(ConfigError, match=f"'{name}' \\(retired"):
        DMRJRGConfig(**{name: 1.0})
    with pytest.raises(ConfigError, match=name):
        DMRJRGConfig.from_preset("tiny", **{name: 1.0})
