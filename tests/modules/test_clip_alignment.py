from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.geometry import valid_cell_mask
from dmr_jrg_hf.modules.clip_alignment import SentenceClipAlignment, aligned_moment_cells, clip_alignment_loss


def test_alignment_loss_hand_computed_with_a_padded_sentence():
    # 2 paragraphs x 2 sentence slots x 2 videos x 3 clips; the second paragraph has one real sentence
    similarity = torch.tensor(
        [
            [[[0.2, 0.9, 0.1], [0.5, 0.0, 0.3]], [[0.1, 0.1, 0.4], [0.0, 0.6, 0.2]]],
            [[[0.3, 0.1, 0.2], [0.8, 0.4, 0.7]], [[9.0, 9.0, 9.0], [-9.0, -9.0, -9.0]]],
        ]
    )
    sentence_mask = torch.tensor([[True, True], [True, False]])
    temperature = 0.5
    # best clip per video: (0.9, 0.5), (0.4, 0.6), (0.3, 0.8); targets: video 0, video 0, video 1
    expected = [
        -math.log(math.exp(0.9 / 0.5) / (math.exp(0.9 / 0.5) + math.exp(0.5 / 0.5))),
        -math.log(math.exp(0.4 / 0.5) / (math.exp(0.4 / 0.5) + math.exp(0.6 / 0.5))),
        -math.log(math.exp(0.8 / 0.5) / (math.exp(0.3 / 0.5) + math.exp(0.8 / 0.5))),
    ]
    loss = clip_alignment_loss(similarity, sentence_mask, temperature)
    assert math.isclose(loss.item(), sum(expected) / 3, rel_tol=1e-6)


def test_alignment_loss_falls_when_each_sentence_finds_its_own_video():
    sentence_mask = torch.ones(3, 2, dtype=torch.bool)
    matching = torch.zeros(3, 2, 3, 4)
    for video in range(3):
        matching[video, :, video, 1] = 1.0  # one clip of its own video matches each sentence
    assert clip_alignment_loss(matching, sentence_mask, 0.1) < clip_alignment_loss(
        torch.zeros_like(matching), sentence_mask, 0.1
    )


def _brute_force_cell(similarity: np.ndarray, valid: np.ndarray) -> int:
    num_clips = len(similarity)
    best, best_cell = -np.inf, -1
    for start in range(num_clips):
        for end in range(start, num_clips):
            if not valid[start, end]:
                continue
            inside = similarity[start : end + 1]
            outside = np.concatenate([similarity[:start], similarity[end + 1 :]])
            contrast = inside.mean() - outside.mean() if len(outside) else 0.0
            if contrast > best:
                best, best_cell = contrast, start * num_clips + end
    return best_cell


@pytest.mark.parametrize("num_clips, scale_layers", [(8, [8]), (16, [16]), (32, [16, 8, 8])])
def test_aligned_cell_equals_a_brute_force_search(num_clips, scale_layers):
    valid = valid_cell_mask(num_clips, scale_layers)
    similarity = torch.randn(5, 3, num_clips, generator=torch.Generator().manual_seed(num_clips))
    cells = aligned_moment_cells(similarity, torch.from_numpy(valid))
    assert cells.shape == (5, 3)
    for index in np.ndindex(5, 3):
        assert cells[index] == _brute_force_cell(similarity[index].numpy(), valid), index


def test_aligned_cell_covers_exactly_the_matching_clips():
    num_clips = 16
    valid = torch.ones(num_clips, num_clips, dtype=torch.bool).triu()
    similarity = torch.full((num_clips,), 0.1)
    similarity[5:9] = 0.8  # clips 5..8 show the sentence
    assert aligned_moment_cells(similarity, valid) == 5 * num_clips + 8


def test_alignment_module_shapes_and_cosine_range():
    config = DMRJRGConfig.from_preset("tiny", clip_alignment_weight=1.0)
    module = SentenceClipAlignment(config)
    similarity = module(torch.randn(3, 4, config.hidden_size), torch.randn(5, config.num_clips, config.hidden_size))
    assert similarity.shape == (3, 4, 5, config.num_clips)
    assert similarity.abs().max() <= 1.0 + 1e-6


def test_alignment_loss_leaves_out_other_rows_of_the_same_video():
    sentence_mask = torch.ones(3, 1, dtype=torch.bool)
    similarity = torch.rand(3, 1, 3, 4, generator=torch.Generator().manual_seed(0))
    duplicates = torch.tensor([[False, True, False], [True, False, False], [False, False, False]])
    masked = clip_alignment_loss(similarity, sentence_mask, 0.1, duplicates)
    changed = similarity.clone()
    changed[0, :, 1] = 5.0  # row 0's score for row 1's copy of its video no longer matters
    changed[1, :, 0] = 5.0
    assert torch.isclose(clip_alignment_loss(changed, sentence_mask, 0.1, duplicates), masked)
    assert not torch.isclose(clip_alignment_loss(changed, sentence_mask, 0.1), masked)
