from __future__ import annotations

import numpy as np
import pytest
import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.geometry import valid_cell_mask
from dmr_jrg_hf.modules.candidate_grid import CandidateGrid
from dmr_jrg_hf.modules.temporal_map import TemporalFeatureMap, range_max_pool


def _brute_force_map(clips: torch.Tensor, mask: np.ndarray) -> torch.Tensor:
    batch, num_clips, hidden = clips.shape
    expected = torch.zeros(batch, hidden, num_clips, num_clips)
    for i, j in zip(*np.nonzero(mask), strict=True):
        expected[:, :, i, j] = clips[:, i : j + 1].amax(dim=1)
    return expected


@pytest.mark.parametrize(
    "num_clips, scale_layers", [(8, [8]), (7, [7]), (16, [16]), (32, [16, 8, 8]), (13, [4, 2, 2])]
)
def test_map_max_pooling_equals_brute_force(num_clips, scale_layers):
    config = DMRJRGConfig.from_preset("tiny", num_clips=num_clips, map_scale_layers=scale_layers)
    module = TemporalFeatureMap(config)
    clips = torch.randn(3, num_clips, 5)
    mask = valid_cell_mask(num_clips, scale_layers)
    result = module(clips, CandidateGrid(config))
    assert torch.equal(result, _brute_force_map(clips, mask)), f"K={num_clips}, scales={scale_layers}"


def test_range_max_pool_single_clip_ranges_are_the_clips():
    clips = torch.randn(2, 6, 3)
    index = torch.arange(6)
    assert torch.equal(range_max_pool(clips, index, index), clips)


def test_project_clips_maps_feature_dim_to_hidden_size():
    config = DMRJRGConfig.from_preset("tiny")
    projected = TemporalFeatureMap(config).project_clips(torch.randn(2, 8, 12))
    assert projected.shape == (2, 8, 16)
    assert (projected >= 0).all(), "projection ends with a ReLU"
