from __future__ import annotations

import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modules.candidate_grid import CandidateGrid
from dmr_jrg_hf.modules.local_branch import LocalConsistencyBranch, top_candidate_cells
from dmr_jrg_hf.modules.temporal_adjacent_network import PACKED_MIN_HIDDEN_SIZE


def _grid():
    grid = CandidateGrid(DMRJRGConfig.from_preset("tiny"))  # K = 8, dense
    return grid.valid_mask, grid.cell_start, grid.cell_end


def _logits():
    logits = torch.zeros(2, 1, 8, 8)
    logits[0, 0, 2, 3], logits[0, 0, 2, 4], logits[0, 0, 6, 7], logits[0, 0, 0, 0] = 5.0, 4.0, 3.0, 2.0
    logits[1, 0, 5, 5] = 9.0  # second sample: one peak, everything else equal
    logits[0, 0, 7, 6] = 99.0  # an invalid cell (end before start) is never chosen
    return logits


def test_plain_top_q_is_the_papers_choice():
    valid, _, _ = _grid()
    cells = top_candidate_cells(_logits(), valid, 3)
    assert cells[0, 0].tolist() == [2 * 8 + 3, 2 * 8 + 4, 6 * 8 + 7]


def test_suppression_picks_distinct_moments_per_sample():
    valid, start, end = _grid()
    cells = top_candidate_cells(_logits(), valid, 3, start, end, suppression_iou=0.5)
    # (2, 4) covers [2/8, 5/8] and overlaps (2, 3) = [2/8, 4/8] with IoU 2/3 > 0.5: skipped for (6, 7), then (0, 0)
    assert cells[0, 0].tolist() == [2 * 8 + 3, 6 * 8 + 7, 0]
    assert cells[1, 0, 0].item() == 5 * 8 + 5, "samples must not share picks"
    starts, ends = start.flatten()[cells[1, 0]], end.flatten()[cells[1, 0]]
    for a in range(3):
        for b in range(a + 1, 3):
            inter = (torch.minimum(ends[a], ends[b]) - torch.maximum(starts[a], starts[b])).clamp(min=0)
            union = torch.maximum(ends[a], ends[b]) - torch.minimum(starts[a], starts[b])
            assert inter / union <= 0.5, f"picks {a} and {b} overlap"


def test_suppression_repeats_the_best_when_moments_run_out():
    valid = torch.zeros(8, 8, dtype=torch.bool)
    valid[0, 7] = True  # a single candidate
    _, start, end = _grid()
    cells = top_candidate_cells(torch.randn(1, 1, 8, 8), valid, 3, start, end, suppression_iou=0.5)
    assert cells[0, 0].tolist() == [7, 7, 7]


def test_auto_reconstructor_layout_packs_on_a_cpu_from_the_packed_width_outside_compile(monkeypatch):
    config = DMRJRGConfig.from_preset("tiny")
    auto = LocalConsistencyBranch(config)
    wide = torch.zeros(1, 4, PACKED_MIN_HIDDEN_SIZE)  # clips (videos, K, hidden)
    narrow = torch.zeros(1, 4, PACKED_MIN_HIDDEN_SIZE - 2)
    assert auto._packs_reconstruction(wide) and not auto._packs_reconstruction(narrow)
    assert not auto._packs_reconstruction(wide.to("meta")), "an accelerator keeps static shapes"
    assert LocalConsistencyBranch(config.with_overrides(reconstructor_layout="packed"))._packs_reconstruction(narrow)
    assert not LocalConsistencyBranch(config.with_overrides(reconstructor_layout="padded"))._packs_reconstruction(wide)
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    assert not auto._packs_reconstruction(wide), "a compiled step keeps static shapes"
