from __future__ import annotations

import numpy as np
import pytest
import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.geometry import iou_map, scaled_iou_labels, valid_cell_mask
from dmr_jrg_hf.modules.candidate_grid import CandidateGrid
from dmr_jrg_hf.modules.temporal_sync import BidirectionalTemporalSync, soft_iou_labels

NUM_CLIPS = 6


def _setup(**overrides):
    config = DMRJRGConfig.from_preset("tiny", num_clips=NUM_CLIPS, map_scale_layers=[NUM_CLIPS], **overrides)
    torch.manual_seed(0)
    sync = BidirectionalTemporalSync(config)
    grid = CandidateGrid(config)
    sentence_mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    cell_mask = grid.valid_mask & sentence_mask[..., None, None]
    features = torch.randn(2, 4, config.hidden_size, NUM_CLIPS, NUM_CLIPS) * cell_mask[:, :, None]
    return config, sync, grid, sentence_mask, cell_mask, features


@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_gate_is_one_minus_the_sum_of_previous_maps(direction):
    _, sync, _, sentence_mask, cell_mask, features = _setup()
    _, probs, gates = sync.recurrence(features, cell_mask, direction)
    order = [0, 1, 2, 3] if direction == "forward" else [3, 2, 1, 0]
    for step, m in enumerate(order):
        previous = probs[:, order[:step]].sum(dim=1) if step else torch.zeros_like(gates[:, 0])
        assert torch.allclose(gates[:, m], 1.0 - previous), f"{direction}, sentence {m}"
    # padded sentences (sample 1, sentences 2-3) have probability 0: the reverse pass starts fresh at sentence 1
    assert (probs[1, 2:] == 0).all()
    if direction == "reverse":
        assert torch.equal(gates[1, 1], torch.ones_like(gates[1, 1])), "padding claims nothing"


def test_gate_feeds_the_head_input():
    _, sync, _, _, cell_mask, features = _setup()
    logits, _, gates = sync.recurrence(features, cell_mask, "forward")
    expected = sync.forward_head(features[:, 2] * gates[:, 2][:, None])
    assert torch.allclose(logits[:, 2], expected)


def _literal_recurrence(head, features, cell_mask, order):
    """Eq. 18/19 as written: gate the features, then apply the prediction layer, one sentence at a time."""
    claimed = torch.zeros_like(cell_mask[:, 0], dtype=features.dtype)
    logits = [None] * len(order)
    for m in order:
        logits[m] = head(features[:, m] * (1.0 - claimed)[:, None])
        claimed = claimed + (torch.sigmoid(logits[m]) * cell_mask[:, m]).detach()
    return torch.stack(logits, 1)


@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_recurrence_equals_gating_the_features_with_the_same_head_gradients(direction):
    _, sync, _, _, cell_mask, features = _setup()
    head = sync.forward_head if direction == "forward" else sync.reverse_head
    order = [0, 1, 2, 3] if direction == "forward" else [3, 2, 1, 0]
    target = torch.rand(cell_mask.shape, generator=torch.Generator().manual_seed(1))
    gradients = []
    for logits in (
        sync.recurrence(features, cell_mask, direction)[0],
        _literal_recurrence(head, features, cell_mask, order),
    ):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[cell_mask], target[cell_mask])
        gradients.append((logits, torch.autograd.grad(loss, list(head.parameters()))))
    (logits, grads), (reference_logits, reference_grads) = gradients
    torch.testing.assert_close(logits, reference_logits, rtol=1e-5, atol=1e-6)
    for grad, reference in zip(grads, reference_grads, strict=True):
        torch.testing.assert_close(grad, reference, rtol=1e-5, atol=1e-6)


def test_soft_iou_labels_equal_geometry():
    grid = CandidateGrid(DMRJRGConfig.from_preset("tiny", num_clips=NUM_CLIPS, map_scale_layers=[NUM_CLIPS]))
    cells = torch.tensor([[0, 7], [NUM_CLIPS * NUM_CLIPS - 1, 14]])
    labels = soft_iou_labels(cells, grid.cell_start, grid.cell_end, 0.3, 0.7)
    for index, cell in np.ndenumerate(cells.numpy()):
        i, j = divmod(int(cell), NUM_CLIPS)
        expected = scaled_iou_labels(iou_map([i / NUM_CLIPS, (j + 1) / NUM_CLIPS], 1.0, NUM_CLIPS), 0.3, 0.7)
        np.testing.assert_allclose(labels[index].numpy(), expected, atol=1e-6, err_msg=f"cell {i, j}")
    assert labels[0, 0, 0, 0] == 1.0, "a pseudo-label cell has label 1"


@pytest.mark.parametrize("paper_literal", [False, True])
def test_heads_get_gradient_only_in_default_mode(paper_literal):
    _, sync, grid, _, cell_mask, features = _setup(use_paper_literal_temporal_sync=paper_literal)
    features.requires_grad_(True)
    main_logits = torch.randn(2, 4, NUM_CLIPS, NUM_CLIPS, requires_grad=True)
    temporal, head = sync(features, main_logits, cell_mask, grid)
    (temporal + head).backward()
    assert main_logits.grad.abs().sum() > 0, "Eq. 20-21 train the main map"
    assert features.grad is None, "BTSE reaches the trunk only through the main map"
    for name in ("forward_head", "reverse_head"):
        grad = getattr(sync, name).projection.weight.grad
        if paper_literal:
            assert grad is None, f"{name} must get no gradient in paper-literal mode"
            assert not getattr(sync, name).projection.weight.requires_grad
        else:
            assert grad is not None and grad.abs().sum() > 0, f"{name} must be trained by default"
    assert (head == 0) == paper_literal


def test_main_map_loss_uses_argmax_pseudo_labels_over_real_sentences_and_valid_cells():
    config, sync, grid, _, cell_mask, features = _setup(temporal_sync_directions="forward")
    main_logits = torch.zeros(2, 4, NUM_CLIPS, NUM_CLIPS)
    temporal, _ = sync(features, main_logits, cell_mask, grid)
    _, probs, _ = sync.recurrence(features, cell_mask, "forward")
    cells = probs.masked_fill(~cell_mask, -1).flatten(2).argmax(-1)
    labels = soft_iou_labels(cells, grid.cell_start, grid.cell_end, config.min_iou, config.max_iou)
    # with zero logits BCE = log 2 - 0 * label... = log(2) per cell regardless of the label
    assert torch.allclose(temporal, torch.tensor(np.log(2.0), dtype=torch.float32))
    main_logits = torch.where(labels > 0.5, 3.0, -3.0)
    low, _ = sync(features, main_logits, cell_mask, grid)
    assert low < temporal, "a map that agrees with the pseudo-labels has a lower loss"
    assert valid_cell_mask(NUM_CLIPS, [NUM_CLIPS]).sum() == cell_mask[0, 0].sum()


@pytest.mark.parametrize("directions, heads", [("both", 2), ("forward", 1), ("reverse", 1)])
def test_only_enabled_directions_build_heads(directions, heads):
    sync = BidirectionalTemporalSync(DMRJRGConfig.from_preset("tiny", temporal_sync_directions=directions))
    assert len(list(sync.children())) == heads


def test_channel_sums_over_the_real_sentences_only_give_the_same_losses_and_gradients():
    _, sync, grid, sentence_mask, cell_mask, _ = _setup()
    features = torch.randn(2, 4, sync.forward_head.projection.in_channels, NUM_CLIPS, NUM_CLIPS)  # padding not zero
    main_logits = torch.randn(2, 4, NUM_CLIPS, NUM_CLIPS)
    sentence_index = sentence_mask.flatten().nonzero()[:, 0]
    results = []
    for index in (None, sentence_index):
        sync.zero_grad(set_to_none=True)
        logits = main_logits.clone().requires_grad_(True)
        temporal, head = sync(features, logits, cell_mask, grid, index)
        (temporal + head).backward()
        head_grads = [getattr(sync, name).projection.weight.grad for name in ("forward_head", "reverse_head")]
        results.append((temporal.detach(), head.detach(), logits.grad, *head_grads))
    for name, full, real in zip(
        ("L_time", "head loss", "main map grad", "PL^f grad", "PL^r grad"), *results, strict=True
    ):
        torch.testing.assert_close(real, full, msg=name)
    for direction in ("forward", "reverse"):
        full, real = (sync.recurrence(features, cell_mask, direction, index) for index in (None, sentence_index))
        torch.testing.assert_close(real[1], full[1], msg=f"{direction} probabilities")
        torch.testing.assert_close(real[2][cell_mask], full[2][cell_mask], msg=f"{direction} gates at real cells")
