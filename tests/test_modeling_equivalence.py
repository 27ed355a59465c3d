"""Optimised paths of the model against their straightforward references on the `tiny` preset: same maps, scores,
losses and gradients within float tolerance."""

from __future__ import annotations

import pytest
import torch
from helpers import DMRJRGModelTester

from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.modules import temporal_adjacent_network as tan_module
from dmr_jrg_hf.modules.local_branch import real_sentence_index

TESTER = DMRJRGModelTester(batch_size=3)
OUTPUT_FIELDS = ("loss", "score_maps", "retrieval_similarity", "grounding_similarity", "local_loss", "temporal_loss")


def _run(model: DMRJRGModel, inputs: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict]:
    model.zero_grad(set_to_none=True)
    output = model.train()(**inputs)
    output.loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return {name: output[name].detach() for name in OUTPUT_FIELDS}, grads


def _assert_same(reference, candidate, case: str) -> None:
    (ref_out, ref_grads), (out, grads) = reference, candidate
    for name in OUTPUT_FIELDS:
        torch.testing.assert_close(out[name], ref_out[name], atol=1e-5, rtol=1e-4, msg=f"{case}: {name}")
    assert grads.keys() == ref_grads.keys(), f"{case}: the same parameters get gradients"
    for name, grad in grads.items():
        # float32 rounding of a gradient's sums scales with the terms summed: the tolerance with its largest entry
        scale = max(1.0, ref_grads[name].abs().max().item())
        torch.testing.assert_close(
            grad, ref_grads[name], atol=1e-5 * scale, rtol=1e-4, msg=f"{case}: gradient of {name}"
        )


@pytest.mark.parametrize("implementation", ["valid_cells", "winograd"])
@pytest.mark.parametrize("grid", [{}, {"num_clips": 16, "map_scale_layers": [4, 2, 2]}], ids=["dense", "sparse"])
def test_packed_tan_matches_dense_tan_in_the_full_model(grid, implementation):
    config, inputs = TESTER.prepare_config_and_inputs(tan_implementation=implementation, **grid)
    torch.manual_seed(0)
    fast = DMRJRGModel(config)
    reference = DMRJRGModel(config.with_overrides(tan_implementation="dense"))
    reference.load_state_dict(fast.state_dict())
    _assert_same(_run(reference, inputs), _run(fast, inputs), f"tan_implementation={implementation}, grid {grid}")


def _use_the_full_layout(model: DMRJRGModel, monkeypatch) -> None:
    """The straightforward reference: every (b, m) slot through the sentence encoder, fusion, TAN and score head."""
    branch = model.local_branch
    full = type(branch).forward
    monkeypatch.setattr(branch, "forward", lambda s, v, grid, sentence_index=None: full(branch, s, v, grid))
    encode_all = type(model)._encode_words
    monkeypatch.setattr(model, "_encode_words", lambda ids, mask, sentence_index=None: encode_all(model, ids, mask))


@pytest.mark.parametrize("grid", [{}, {"num_clips": 16, "map_scale_layers": [4, 2, 2]}], ids=["dense", "sparse"])
def test_training_on_real_sentences_only_matches_the_full_layout(grid, monkeypatch):
    config, inputs = TESTER.prepare_config_and_inputs(**grid)
    inputs["sentence_mask"][2, 1:] = False  # paragraph 2 keeps one sentence: most slots of the batch are padding
    inputs["word_mask"][2, 1:] = False
    torch.manual_seed(0)
    packed = DMRJRGModel(config)
    reference = DMRJRGModel(config)
    reference.load_state_dict(packed.state_dict())
    _use_the_full_layout(reference, monkeypatch)
    _assert_same(_run(reference, inputs), _run(packed, inputs), f"real sentences only, grid {grid}")


@pytest.mark.parametrize("grid", [{}, {"num_clips": 16, "map_scale_layers": [4, 2, 2]}], ids=["dense", "sparse"])
def test_packed_reconstructor_matches_the_padded_one_in_the_full_model(grid):
    config, inputs = TESTER.prepare_config_and_inputs(**grid)
    inputs["sentence_mask"][2, 1:] = False
    inputs["word_mask"][2, 1:] = False
    torch.manual_seed(0)
    packed = DMRJRGModel(config.with_overrides(reconstructor_layout="packed"))
    padded = DMRJRGModel(config.with_overrides(reconstructor_layout="padded"))
    padded.load_state_dict(packed.state_dict())
    _assert_same(_run(padded, inputs), _run(packed, inputs), f"packed reconstructor, grid {grid}")


def test_inference_scores_real_sentences_only_and_matches_the_full_layout():
    config, inputs = TESTER.prepare_config_and_inputs()
    assert not inputs["sentence_mask"].all(), "the tester pads paragraph 1"
    torch.manual_seed(0)
    model = DMRJRGModel(config).eval()
    text = {name: inputs[name] for name in ("word_ids", "word_mask", "sentence_mask")}
    with torch.no_grad():
        clips = model.temporal_map.project_clips(inputs["clip_features"])
        _, sentence_features = model._encode_words(inputs["word_ids"], inputs["word_mask"])
        grid = model.candidate_grid
        video_map = model.temporal_map(clips, grid)
        _, full_logits = model.local_branch(sentence_features, video_map, grid)
        reference = torch.sigmoid(full_logits) * (grid.valid_mask & inputs["sentence_mask"][..., None, None])
        grounded = model.ground(**text, clip_features=inputs["clip_features"], map_mask=inputs["map_mask"])
        forward = model(**inputs, return_loss=False).score_maps
    torch.testing.assert_close(grounded, reference, msg="ground() against the full (batch, M) layout")
    torch.testing.assert_close(forward, reference, msg="forward without losses against the full layout")


def test_grounding_similarity_matches_grounding_each_pair():
    config, inputs = TESTER.prepare_config_and_inputs()
    torch.manual_seed(0)
    model = DMRJRGModel(config).eval()
    text = {name: inputs[name] for name in ("word_ids", "word_mask", "sentence_mask")}
    videos = torch.randn(4, config.num_clips, config.feature_dim)
    with torch.no_grad():
        similarity = model.grounding_similarity(**text, clip_features=videos, map_mask=inputs["map_mask"])
        for p in range(len(inputs["word_ids"])):
            for v in range(len(videos)):
                pair = {name: tensor[p : p + 1] for name, tensor in text.items()}
                maps = model.ground(**pair, clip_features=videos[v : v + 1], map_mask=inputs["map_mask"])
                real = pair["sentence_mask"][0]
                expected = maps[0, real].flatten(1).amax(1).mean()
                torch.testing.assert_close(similarity[p, v], expected, msg=f"paragraph {p}, video {v}")


@pytest.mark.parametrize("tan_implementation", ["winograd", "valid_cells", "dense"])
def test_activation_checkpointing_recomputes_the_tan_and_changes_nothing(tan_implementation, monkeypatch):
    config, inputs = TESTER.prepare_config_and_inputs(tan_implementation=tan_implementation)
    torch.manual_seed(0)
    plain = DMRJRGModel(config)
    checkpointed = DMRJRGModel(config)
    checkpointed.load_state_dict(plain.state_dict())
    checkpointed.activation_checkpointing_enable()
    calls = []
    if tan_implementation == "dense":
        for model in (plain, checkpointed):
            for layer in model.local_branch.temporal_adjacent_network.layers:
                layer.register_forward_pre_hook(lambda *_: calls.append(1))
    else:
        name = {"winograd": "winograd_conv2d", "valid_cells": "valid_cell_conv2d"}[tan_implementation]
        convolution = getattr(tan_module, name)
        monkeypatch.setattr(tan_module, name, lambda *args: calls.append(1) or convolution(*args))
    reference = _run(plain, inputs)
    plain_calls = len(calls)
    _assert_same(reference, _run(checkpointed, inputs), f"checkpointing, {tan_implementation}")
    assert plain_calls == config.tan_num_layers, tan_implementation
    assert len(calls) - plain_calls == 2 * config.tan_num_layers, f"{tan_implementation}: layers run again in backward"


def test_encoding_real_sentences_only_matches_encoding_every_slot():
    config, inputs = TESTER.prepare_config_and_inputs()
    torch.manual_seed(0)
    model = DMRJRGModel(config).eval()
    sentence_mask = inputs["sentence_mask"]
    assert not sentence_mask.all(), "the tester pads paragraph 1"
    with torch.no_grad():
        every_slot = model._encode_words(inputs["word_ids"], inputs["word_mask"])
        real_only = model._encode_words(inputs["word_ids"], inputs["word_mask"], real_sentence_index(sentence_mask))
    for name, full, packed in zip(("word states", "sentence features"), every_slot, real_only, strict=True):
        torch.testing.assert_close(packed[sentence_mask], full[sentence_mask], msg=f"{name} of the real sentences")
        assert packed[~sentence_mask].eq(0).all(), f"{name} are zero at the padded sentences"
