"""The training step calls no data-dependent op (``nonzero``, ``item``, ``pack_padded_sequence``, boolean indexing),
which would synchronise an accelerator at every step: its parts and the whole step (forward with every loss, and
backward) run on the ``meta`` device, where any such op raises. The positions of the real sentences come from the host
(``sentence_index``, as `DMRJRGCollator` computes them)."""

from __future__ import annotations

import pytest
import torch
from helpers import DMRJRGModelTester

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.modules.input_checks import check_clip_features, check_map_mask, check_word_inputs
from dmr_jrg_hf.modules.local_branch import real_sentence_index

TESTER = DMRJRGModelTester()


def _meta(inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor.to("meta") for name, tensor in inputs.items()}


def test_input_checks_read_no_device_values():
    config, inputs = TESTER.prepare_config_and_inputs()
    meta = _meta(inputs)
    model = DMRJRGModel(config).to("meta")
    check_word_inputs(config, meta["word_ids"], meta["word_mask"], meta["sentence_mask"])
    check_clip_features(config, meta["clip_features"], batch=2)
    check_map_mask(config, model.candidate_grid.valid_mask, meta["map_mask"])
    with pytest.raises(InputError, match="sentence_mask"):
        check_word_inputs(config, meta["word_ids"], meta["word_mask"], meta["sentence_mask"][:, :1])
    with pytest.raises(InputError, match="map_mask"):
        check_map_mask(config, model.candidate_grid.valid_mask, meta["map_mask"][:4])


def test_host_map_mask_is_checked_against_the_config_grid_for_a_model_on_a_device():
    config, inputs = TESTER.prepare_config_and_inputs()
    model = DMRJRGModel(config).to("meta")
    check_map_mask(config, model.candidate_grid.valid_mask, inputs["map_mask"])
    with pytest.raises(InputError, match="map_mask"):
        check_map_mask(config, model.candidate_grid.valid_mask, ~inputs["map_mask"])


@pytest.mark.parametrize("tan_implementation", ["winograd", "valid_cells", "dense"])
def test_encoders_map_and_local_branch_forward_backward_run_on_meta(tan_implementation):
    config, inputs = TESTER.prepare_config_and_inputs(tan_implementation=tan_implementation)
    model = DMRJRGModel(config).to("meta").train()
    meta = _meta(inputs)
    clips = model.temporal_map.project_clips(meta["clip_features"])
    states, sentence_features = model._encode_words(meta["word_ids"], meta["word_mask"])
    video_map = model.temporal_map(clips, model.candidate_grid)
    feature_maps, logits = model.local_branch(sentence_features, video_map, model.candidate_grid)
    assert logits.shape == (2, 3, config.num_clips, config.num_clips) and logits.device.type == "meta"
    (logits.sum() + feature_maps.sum() + states.sum()).backward()
    assert model.local_branch.temporal_adjacent_network.layers[0].weight.grad.device.type == "meta"


@pytest.mark.slow
@pytest.mark.parametrize("tan_implementation", ["winograd", "valid_cells", "dense"])
def test_the_whole_training_step_runs_on_meta(tan_implementation):
    config, inputs = TESTER.prepare_config_and_inputs(tan_implementation=tan_implementation)
    inputs["sentence_index"] = real_sentence_index(inputs["sentence_mask"])  # on the host, as the collator does
    model = DMRJRGModel(config).to("meta").train()
    output = model(**_meta(inputs))
    output.loss.backward()
    for name in ("loss", "local_loss", "reconstruction_loss", "global_loss", "temporal_loss", "retrieval_loss"):
        assert output[name] is not None and output[name].device.type == "meta", f"{name} computed on meta"
    missing = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"parameters without a gradient: {missing}"
