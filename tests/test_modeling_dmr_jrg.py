from __future__ import annotations

import unittest

import numpy as np
import pytest
import torch
from helpers import DMRJRGModelTester
from safetensors.torch import load_file

from dmr_jrg_hf.configuration_dmr_jrg import ABLATION_PRESETS
from dmr_jrg_hf.errors import ConfigError, InputError
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel, DMRJRGModelOutput

TESTER = DMRJRGModelTester()
LOSS_FIELDS = (
    "retrieval_loss",
    "local_loss",
    "reconstruction_loss",
    "rank_loss",
    "clip_alignment_loss",
    "alignment_pseudo_label_loss",
    "global_loss",
    "temporal_loss",
    "temporal_head_loss",
    "distillation_loss",
    "supervised_loss",
)
BTSE_HEADS = ("temporal_sync.forward_head.", "temporal_sync.reverse_head.")


def _model(seed: int = 0, **overrides) -> tuple[DMRJRGModel, dict[str, torch.Tensor]]:
    config, inputs = TESTER.prepare_config_and_inputs(**overrides)
    torch.manual_seed(seed)
    return DMRJRGModel(config), inputs


def _losses(output: DMRJRGModelOutput) -> set[str]:
    return {name for name in LOSS_FIELDS if output.get(name) is not None}


class DMRJRGModelTest(unittest.TestCase):
    def test_model_output_shapes(self):
        config, inputs = TESTER.prepare_config_and_inputs()
        TESTER.create_and_check_model(self, config, inputs)

    def test_model_output_shapes_sparse_grid(self):
        config, inputs = TESTER.prepare_config_and_inputs(num_clips=16, map_scale_layers=[4, 2, 2])
        TESTER.create_and_check_model(self, config, inputs)


def test_every_trainable_parameter_gets_a_nonzero_gradient():
    model, inputs = _model()
    model.train()(**inputs).loss.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"parameters without gradient: {missing}"
    assert any(name.startswith(BTSE_HEADS) for name, _ in model.named_parameters()), "both BTSE heads exist"
    assert any(".reconstructor." in name for name, _ in model.named_parameters())
    assert "word_vectors" not in dict(model.named_parameters()) and "word_vectors" in model.state_dict()


def test_paper_literal_temporal_sync_leaves_only_the_btse_heads_without_gradient():
    model, inputs = _model(use_paper_literal_temporal_sync=True)
    output = model.train()(**inputs)
    output.loss.backward()
    no_grad = {name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0}
    heads = {name for name, _ in model.named_parameters() if name.startswith(BTSE_HEADS)}
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert len(heads) == 4 and no_grad == heads, f"expected exactly the BTSE heads without gradient, got {no_grad}"
    assert frozen == heads, "the heads Eq. 18-22 never train are frozen (DDP needs no unused-parameter search)"
    assert output.temporal_head_loss == 0


def test_tan_layers_get_he_initialisation_though_the_tan_owns_no_tensor_itself():
    model, _ = _model(tan_kernel_size=5, tan_padding=2)
    tan = model.local_branch.temporal_adjacent_network
    assert not list(tan.parameters(recurse=False)) and not list(tan.buffers(recurse=False))
    he_std = (2.0 / (model.config.hidden_size * 5 * 5)) ** 0.5  # kaiming_normal_, fan_in, ReLU
    for index, layer in enumerate(tan.layers):
        std = layer.weight.std().item()
        assert abs(std - he_std) < 0.15 * he_std, f"TAN layer {index}: std {std:.4f}, He gives {he_std:.4f}"


@pytest.mark.slow
def test_a_few_optimisation_steps_reduce_the_total_loss():
    model, inputs = _model()
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        optimizer.zero_grad()
        loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-3:]) < 0.85 * losses[0], f"loss did not go down: {losses}"


@pytest.mark.portability
def test_save_and_load_round_trip_keeps_weights_bitwise_and_outputs_within_tolerance(tmp_path):
    """Weights survive the safetensors round trip bit for bit; outputs agree to float tolerance.

    Two model instances with identical weights need not give bit-identical outputs: oneDNN may pick another kernel
    (or blocking) for another allocation or thread count, so outputs are compared within rtol 1e-5, atol 1e-6.
    """
    model, inputs = _model(map_scale_layers=[4, 2], learnable_candidate_fusion_weights=True)
    model.set_word_vectors(np.random.default_rng(0).normal(size=tuple(model.word_vectors.shape)).astype(np.float32))
    model.eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and not list(tmp_path.glob("*.bin"))
    saved = load_file(tmp_path / "model.safetensors")
    loaded = DMRJRGModel.from_pretrained(tmp_path).eval()
    for name, tensor in model.state_dict().items():
        assert torch.equal(saved[name], tensor), f"{name} changed on disk"
        assert torch.equal(loaded.state_dict()[name], tensor), f"{name} changed after from_pretrained"
    before, after = model(**inputs, return_loss=True), loaded(**inputs, return_loss=True)
    assert before.keys() == after.keys()
    for name in before.keys():
        torch.testing.assert_close(after[name], before[name], rtol=1e-5, atol=1e-6, msg=f"{name} after the round trip")


def _pad(inputs: dict[str, torch.Tensor], extra_sentences: int, extra_words: int) -> dict[str, torch.Tensor]:
    padded = dict(inputs)
    for name in ("word_ids", "word_mask", "masked_word_ids", "masked_positions"):
        padded[name] = torch.nn.functional.pad(inputs[name], (0, extra_words, 0, extra_sentences))
    padded["sentence_mask"] = torch.nn.functional.pad(inputs["sentence_mask"], (0, extra_sentences))
    padded["timestamps"] = torch.nn.functional.pad(inputs["timestamps"], (0, 0, 0, extra_sentences))
    return padded


@pytest.mark.parametrize("supervision", ["weak", "full"])
def test_padded_sentences_and_words_change_no_loss(supervision):
    model, inputs = _model(
        supervision=supervision,
        clip_alignment_weight=1.0,
        alignment_pseudo_label_weight=1.0,
    )
    model.eval()
    base = model(**inputs, return_loss=True)
    padded = model(**_pad(inputs, extra_sentences=2, extra_words=3), return_loss=True)
    num_sentences = inputs["sentence_mask"].shape[1]
    for name in _losses(base) | {"loss"}:
        assert torch.allclose(base[name], padded[name], atol=1e-5), f"{name} changed with padding ({supervision})"
    assert torch.allclose(base.score_maps, padded.score_maps[:, :num_sentences], atol=1e-5)
    assert (padded.score_maps[:, num_sentences:] == 0).all(), "padded sentences score 0"
    assert torch.allclose(base.retrieval_similarity, padded.retrieval_similarity, atol=1e-5)


def test_permuting_the_batch_permutes_the_outputs():
    model, _ = _model(clip_alignment_weight=1.0, alignment_pseudo_label_weight=1.0)
    inputs = TESTER.prepare_inputs(model.config, batch_size=4)
    model.eval()
    order = torch.tensor([2, 0, 3, 1])
    permuted = {k: (v if k == "map_mask" else v[order]) for k, v in inputs.items()}
    base, moved = model(**inputs, return_loss=True), model(**permuted, return_loss=True)
    assert torch.allclose(base.score_maps[order], moved.score_maps, atol=1e-5)
    for name in ("retrieval_similarity", "grounding_similarity"):
        assert torch.allclose(base[name][order][:, order], moved[name], atol=1e-5), name
    for name in _losses(base):
        assert torch.allclose(base[name], moved[name], atol=1e-5), f"{name} depends on the batch order"


EQ23_WEIGHTS = {
    "retrieval_loss": "retrieval_loss_weight",
    "local_loss": "local_loss_weight",
    "global_loss": "global_loss_weight",
    "temporal_loss": "temporal_loss_weight",
    "distillation_loss": "distillation_loss_weight",
}


def test_the_total_loss_is_eq_23_with_the_configured_weights():
    weights = dict(zip(EQ23_WEIGHTS.values(), (0.5, 2.0, 0.25, 3.0, 1.5), strict=True))
    model, inputs = _model(seed=6, rank_loss_weight=0.7, **weights)
    output = model.eval()(**inputs, return_loss=True)
    expected = sum(weights[field] * output[term] for term, field in EQ23_WEIGHTS.items())
    assert torch.isclose(output.loss, expected, atol=1e-6), "L_total (Eq. 23)"
    local = output.reconstruction_loss + 0.7 * output.rank_loss
    assert torch.isclose(output.local_loss, local, atol=1e-6), "L_local = L_rec + w * L_rank (Eq. 13)"
    temporal = output.temporal_loss - output.temporal_head_loss
    assert temporal > 0 and output.temporal_head_loss > 0, "L_time (Eq. 22) and the BTSE heads' term"


def test_alignment_terms_add_to_the_total_loss_and_change_no_other_term():
    paper, inputs = _model(seed=5)
    aligned, _ = _model(seed=5, clip_alignment_weight=0.5, alignment_pseudo_label_weight=2.0)
    assert not any(name.startswith("clip_alignment.") for name, _ in paper.named_parameters()), "off: no module"
    aligned.load_state_dict(paper.state_dict(), strict=False)  # same shared weights, alignment head of its own
    base, extra = paper.eval()(**inputs, return_loss=True), aligned.eval()(**inputs, return_loss=True)
    assert base.clip_alignment_loss is None and base.alignment_pseudo_label_loss is None
    assert extra.clip_alignment_loss > 0 and extra.alignment_pseudo_label_loss > 0
    for name in _losses(base):
        assert torch.allclose(base[name], extra[name], atol=1e-6), name
    expected = base.loss + 0.5 * extra.clip_alignment_loss + 2.0 * extra.alignment_pseudo_label_loss
    assert torch.isclose(extra.loss, expected, atol=1e-5)
    extra.alignment_pseudo_label_loss.backward()
    assert aligned.local_branch.score_head.projection.weight.grad.abs().sum() > 0, "the pseudo-labels train P_m"
    assert aligned.clip_alignment.sentence_projection.weight.grad is None, "and not the alignment that made them"


@pytest.mark.portability
def test_samples_of_one_video_are_not_each_others_negatives():
    model, _ = _model(clip_alignment_weight=1.0, alignment_pseudo_label_weight=1.0)
    inputs = TESTER.prepare_inputs(model.config, batch_size=4)
    inputs["clip_features"][2] = inputs["clip_features"][0]  # paragraphs 0 and 2 describe one video
    model.eval()
    base = model(**inputs, return_loss=True)
    distinct = model(**inputs, video_group_ids=torch.tensor([0, 1, 2, 3]), return_loss=True)
    grouped = model(**inputs, video_group_ids=torch.tensor([0, 1, 0, 3]), return_loss=True)
    for name in _losses(base) | {"loss"}:
        assert torch.equal(base[name], distinct[name]), f"{name}: distinct groups are the default"
    contrastive = {"retrieval_loss", "global_loss", "clip_alignment_loss"}
    for name in contrastive:
        assert not torch.isclose(base[name], grouped[name]), f"{name} ignores the shared video"
    for name in _losses(base) - contrastive:
        assert torch.equal(base[name], grouped[name]), f"{name} has no negatives to drop"
    with pytest.raises(InputError, match="video_group_ids"):
        model(**inputs, video_group_ids=torch.tensor([0, 1]), return_loss=True)


def test_rank_loss_temperature_changes_only_the_rank_loss():
    paper, inputs = _model(seed=5)
    tempered, _ = _model(seed=5, rank_loss_temperature=0.1)
    tempered.load_state_dict(paper.state_dict())
    base, other = paper.eval()(**inputs, return_loss=True), tempered.eval()(**inputs, return_loss=True)
    assert not torch.isclose(base.rank_loss, other.rank_loss)
    for name in _losses(base) - {"rank_loss", "local_loss"}:
        assert torch.equal(base[name], other[name]), name
    with pytest.raises(ConfigError, match="rank_loss_temperature"):
        TESTER.prepare_config_and_inputs(rank_loss_temperature=0.0)


def test_alignment_pseudo_labels_need_the_alignment_loss():
    with pytest.raises(ConfigError, match="clip_alignment_weight"):
        TESTER.prepare_config_and_inputs(alignment_pseudo_label_weight=1.0)
    with pytest.raises(ConfigError, match="clip_alignment_temperature"):
        TESTER.prepare_config_and_inputs(clip_alignment_weight=1.0, clip_alignment_temperature=0.0)


def test_score_maps_are_zero_at_invalid_cells_and_in_zero_one():
    model, inputs = _model(num_clips=16, map_scale_layers=[4, 2, 2])
    maps = model.eval()(**inputs).score_maps
    assert (maps[..., ~inputs["map_mask"]] == 0).all()
    assert ((maps >= 0) & (maps <= 1)).all()
    assert (maps[inputs["sentence_mask"]][..., inputs["map_mask"]] > 0).all()


def test_eval_forward_skips_losses_btse_and_global_branch():
    model, inputs = _model()
    model.eval()

    def fail(*_):
        raise AssertionError("BTSE-TD / VTFA-GD must not run at inference")

    model.temporal_sync.register_forward_hook(fail)
    model.global_branch.register_forward_hook(fail)
    output = model(**inputs)
    assert output.loss is None and not _losses(output)
    assert output.score_maps is not None and output.retrieval_similarity is not None


def test_inference_methods_match_forward():
    model, inputs = _model()
    model.eval()
    with torch.no_grad():
        output = model(**inputs)
        videos = model.encode_videos(inputs["clip_features"])
        paragraphs = model.encode_paragraphs(inputs["word_ids"], inputs["word_mask"], inputs["sentence_mask"])
        maps = model.ground(
            inputs["word_ids"],
            inputs["word_mask"],
            inputs["sentence_mask"],
            inputs["clip_features"],
            inputs["map_mask"],
        )
    assert torch.allclose(videos, output.video_embeddings, atol=1e-6)
    assert torch.allclose(paragraphs, output.paragraph_embeddings, atol=1e-6)
    assert torch.allclose(videos.norm(dim=-1), torch.ones(2)) and torch.allclose(
        paragraphs.norm(dim=-1), torch.ones(2)
    )
    assert torch.allclose(maps, output.score_maps, atol=1e-6)
    assert torch.allclose(paragraphs @ videos.t(), output.retrieval_similarity, atol=1e-6)


def test_base_row_retrieves_by_grounding_and_refuses_class_token_embeddings():
    model, inputs = _model(**ABLATION_PRESETS["base"])
    model.eval()
    assert model.video_encoder is None and model.paragraph_encoder is None
    with pytest.raises(ConfigError, match="use_retrieval_branch=False"):
        model.encode_videos(inputs["clip_features"])
    with pytest.raises(ConfigError, match="grounding_similarity"):
        model.encode_paragraphs(inputs["word_ids"], inputs["word_mask"], inputs["sentence_mask"])
    text = (inputs["word_ids"], inputs["word_mask"], inputs["sentence_mask"])
    videos = torch.randn(3, 8, 12)
    with torch.no_grad():
        scores = model.grounding_similarity(*text, videos, inputs["map_mask"])
        own = model.ground(*text, videos[:2], inputs["map_mask"])
    assert scores.shape == (2, 3)
    best = own.flatten(-2).amax(-1)  # (batch, M), 0 at padded sentences
    expected = best.sum(-1) / inputs["sentence_mask"].sum(-1)
    assert torch.allclose(scores.diagonal(), expected, atol=1e-6), "paragraph i vs video i equals ground()"


def test_weak_mode_never_reads_timestamps():
    model, inputs = _model()
    model.eval()
    base = model(**inputs, return_loss=True)
    poisoned = dict(inputs, timestamps=torch.full_like(inputs["timestamps"], float("nan")), durations=None)
    other = model(**poisoned, return_loss=True)
    assert other.supervised_loss is None and torch.equal(base.loss, other.loss)


def test_supervised_modes_use_timestamps_of_flagged_paragraphs_only():
    model, inputs = _model(supervision="semi")
    model.eval()
    torch.nn.init.normal_(model.local_branch.score_head.projection.weight)  # spread the logits away from 0
    both = model(**inputs, has_timestamps=torch.tensor([True, True]), return_loss=True).supervised_loss
    first = model(**inputs, has_timestamps=torch.tensor([True, False]), return_loss=True).supervised_loss
    none = model(**inputs, has_timestamps=torch.tensor([False, False]), return_loss=True).supervised_loss
    assert none == 0 and first > 0 and not torch.isclose(both, first)
    poisoned = inputs["timestamps"].clone()
    poisoned[1] = 1e3
    unaffected = model(
        **dict(inputs, timestamps=poisoned), has_timestamps=torch.tensor([True, False]), return_loss=True
    )
    assert torch.isclose(unaffected.supervised_loss, first), "unflagged paragraphs are not read"
    with pytest.raises(InputError, match="timestamps"):
        model(**dict(inputs, timestamps=None), return_loss=True)


# Ablations (paper Table IV) -------------------------------------------------------------------------------------

OPTIONAL_LOSSES = {
    "supervised_loss",
    "clip_alignment_loss",
    "alignment_pseudo_label_loss",
}
FULL_LOSSES = set(LOSS_FIELDS) - OPTIONAL_LOSSES  # the paper's weak training terms
SWITCHES = [
    ({"use_score_distillation": False}, set(), {"distillation_loss"}),
    (
        {"use_global_branch": False, "use_score_distillation": False},
        {"global_branch."},
        {"global_loss", "distillation_loss"},
    ),
    ({"temporal_sync_directions": "forward"}, {"temporal_sync.reverse_head."}, set()),
    ({"temporal_sync_directions": "reverse"}, {"temporal_sync.forward_head."}, set()),
    ({"temporal_sync_directions": "none"}, {"temporal_sync."}, {"temporal_loss", "temporal_head_loss"}),
    ({"use_temporal_adjacent_network": False}, {"local_branch.temporal_adjacent_network."}, set()),
    (
        {"use_retrieval_branch": False, "use_global_branch": False, "use_score_distillation": False},
        {"video_encoder.", "paragraph_encoder.", "retrieval_head.", "global_branch."},
        {"retrieval_loss", "global_loss", "distillation_loss"},
    ),
]


@pytest.mark.parametrize("switch, removed_params, removed_losses", SWITCHES, ids=[str(s[0]) for s in SWITCHES])
def test_each_ablation_switch_removes_exactly_its_loss_terms_and_parameters(switch, removed_params, removed_losses):
    full, inputs = _model()
    ablated, _ = _model(**switch)
    full_names, ablated_names = set(dict(full.named_parameters())), set(dict(ablated.named_parameters()))
    assert ablated_names <= full_names
    expected_gone = {name for name in full_names if removed_params and name.startswith(tuple(removed_params))}
    assert full_names - ablated_names == expected_gone, f"switch {switch} removed the wrong parameters"
    assert bool(expected_gone) == bool(removed_params), f"switch {switch}: {removed_params} matched no parameter"
    assert _losses(full.train()(**inputs)) == FULL_LOSSES
    assert _losses(ablated.train()(**inputs)) == FULL_LOSSES - removed_losses, f"switch {switch}"


@pytest.mark.parametrize("row", list(ABLATION_PRESETS))
def test_every_table_iv_row_builds_trains_and_grounds(row):
    model, inputs = _model(**ABLATION_PRESETS[row])
    output = model.train()(**inputs)
    assert torch.isfinite(output.loss), row
    output.loss.backward()
    # Without BTSE only the rank loss (Eq. 12) reaches the score head; it is invariant to a shift shared by the top-Q
    # scores at first order, so at initialisation (all scores equal) the head's bias may get an exactly zero gradient.
    exempt = set() if model.temporal_sync is not None else {"local_branch.score_head.projection.bias"}
    assert all(p.grad is not None for p in model.parameters()), f"{row}: a part is not on the loss's graph"
    missing = [n for n, p in model.named_parameters() if not p.grad.abs().sum() > 0 and n not in exempt]
    assert not missing, f"{row}: parameters without gradient {missing}"
    assert model.eval()(**inputs).score_maps.shape == (2, 3, 8, 8)


@pytest.mark.parametrize(
    "overrides",
    [
        {"supervision": "full"},
        {"supervision": "semi"},
        {"learnable_candidate_fusion_weights": True},
        {"learnable_logit_scale": False},
        {"use_paper_literal_temporal_sync": True},
        {"num_top_candidates": 1, "candidate_fusion_weights": [1.0]},
        {"reconstruction_label_smoothing": 0.0, "dropout": 0.1},
    ],
    ids=str,
)
def test_choice_valued_fields_build_and_run(overrides):
    model, inputs = _model(**overrides)
    output = model.train()(**inputs)
    assert torch.isfinite(output.loss), f"{overrides}"
    output.loss.backward()


def test_global_branch_without_retrieval_branch_is_refused():
    with pytest.raises(ConfigError, match="use_global_branch"):
        _model(use_retrieval_branch=False, use_score_distillation=False)


def test_logit_scale_is_clamped():
    model, _ = _model(logit_scale_init_value=10.0, max_logit_scale=50.0)
    assert model.retrieval_head.scale().item() == 50.0


# Inputs --------------------------------------------------------------------------------------------------------


def test_set_word_vectors_checks_the_shape():
    model, inputs = _model()
    with pytest.raises(InputError, match=r"\(40, 8\).*\(40, 7\)"):
        model.set_word_vectors(np.zeros((40, 7), dtype=np.float32))
    vectors = torch.randn(40, 8)
    model.set_word_vectors(vectors)
    assert torch.equal(model.word_vectors, vectors)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda x: x.update(clip_features=torch.randn(2, 7, 12)), "clip_features"),
        (lambda x: x.update(map_mask=torch.ones(8, 8, dtype=torch.bool)), "map_mask"),
        (lambda x: x.update(word_mask=x["word_mask"][:, :2]), "word_mask"),
        (lambda x: x.update(word_ids=x["word_ids"] + 100), "vocab_size"),
        (lambda x: x["word_mask"].__setitem__((0, 1), False), "sentence 1 of paragraph 0 has no words"),
        (lambda x: x["sentence_mask"].__setitem__(1, False), "paragraph 1"),
    ],
    ids=["clips", "map_mask", "word_mask", "vocab", "empty-sentence", "empty-paragraph"],
)
def test_bad_inputs_raise_input_errors_naming_the_item(change, message):
    model, inputs = _model()
    inputs = {k: v.clone() for k, v in inputs.items()}
    change(inputs)
    with pytest.raises(InputError, match=message):
        model(**inputs)


def test_model_runs_on_processor_output(tiny_processor, tiny_config):
    vectors = tiny_processor.word_vectors
    config = tiny_config.with_overrides(vocab_size=vectors.shape[0], word_embedding_dim=vectors.shape[1])
    model = DMRJRGModel(config)
    model.set_word_vectors(vectors)
    rng = np.random.default_rng(0)
    batch = tiny_processor(
        text=[["a man opens the door of the kitchen", "he walks out of the room"], ["the dog barks at the man"]],
        video_features=[rng.random((40, 12), dtype=np.float32), rng.random((9, 12), dtype=np.float32)],
        durations=[20.0, 5.0],
    )
    output = model.train()(**batch)
    assert torch.isfinite(output.loss)
    assert output.score_maps.shape == (2, 2, config.num_clips, config.num_clips)


def test_paragraphs_longer_than_any_seen_are_encoded_and_grounded():
    model, _ = _model()
    long = DMRJRGModelTester(batch_size=2, num_sentences=12, num_words=4).prepare_inputs(model.config)
    model.eval()
    with torch.no_grad():
        maps = model.ground(
            long["word_ids"], long["word_mask"], long["sentence_mask"], long["clip_features"], long["map_mask"]
        )
        paragraphs = model.encode_paragraphs(long["word_ids"], long["word_mask"], long["sentence_mask"])
    assert maps.shape == (2, 12, 8, 8) and torch.isfinite(paragraphs).all()
