"""Tests of the timestamp-free baselines on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.metrics.baselines import (
    FIXED_WINDOWS,
    fixed_window_moments,
    max_sum_stretches,
    pool_clips,
    query_free_saliency_moments,
    random_retrieval_scores,
)

EXPECTED_WINDOWS = {
    "whole": [[0.0, 40.0], [0.0, 100.0]],
    "first_half": [[0.0, 20.0], [0.0, 50.0]],
    "middle_half": [[10.0, 30.0], [25.0, 75.0]],
    "last_half": [[20.0, 40.0], [50.0, 100.0]],
    "middle_third": [[40.0 / 3.0, 80.0 / 3.0], [100.0 / 3.0, 200.0 / 3.0]],
}


@pytest.mark.parametrize("window", FIXED_WINDOWS)
def test_fixed_window_moments_hand_values(window):
    moments = fixed_window_moments(np.array([40.0, 100.0]), window)
    np.testing.assert_allclose(moments, EXPECTED_WINDOWS[window], err_msg=f"window {window}")


def test_fixed_windows_listed_and_unknown_window_lists_choices():
    assert set(FIXED_WINDOWS) == set(EXPECTED_WINDOWS), "FIXED_WINDOWS lists every window"
    with pytest.raises(InputError, match="middle_half") as info:
        fixed_window_moments(np.array([10.0]), "middle")
    assert "'middle'" in str(info.value), "the error names the unknown window"


def test_random_retrieval_scores_seeded_and_uniform():
    scores = random_retrieval_scores(300, 200, seed=3)
    assert scores.shape == (300, 200), "one score per (paragraph, video)"
    assert scores.min() >= 0.0 and scores.max() < 1.0, "uniform in [0, 1)"
    np.testing.assert_array_equal(scores, random_retrieval_scores(300, 200, seed=3), err_msg="same seed")
    assert not np.array_equal(scores, random_retrieval_scores(300, 200, seed=4)), "another seed gives other scores"
    gt_rank = 1 + (scores > scores[np.arange(300), np.arange(300) % 200][:, None]).sum(axis=1)
    assert abs(gt_rank.mean() - 100.5) < 12.0, f"mean rank of the GT video is chance ((V+1)/2), got {gt_rank.mean()}"


def test_random_retrieval_scores_rejects_empty_corpus():
    with pytest.raises(InputError, match="num_videos"):
        random_retrieval_scores(3, 0, seed=0)


def test_pool_clips_hand_values():
    frames = np.arange(12, dtype=np.float64).reshape(6, 2)  # frame t = [2t, 2t + 1]
    np.testing.assert_allclose(pool_clips(frames, 3), [[1, 2], [5, 6], [9, 10]], err_msg="6 frames -> 3 clips")
    np.testing.assert_allclose(
        # the processor's grid: windows [floor(k*6/4), floor((k+1)*6/4)) = frames 0 | 1-2 | 3 | 4-5
        pool_clips(frames, 4),
        [[0, 1], [3, 4], [6, 7], [9, 10]],
        err_msg="6 frames -> 4 clips on the processor's grid",
    )
    np.testing.assert_allclose(
        pool_clips(frames[:2], 4), [[0, 1], [0, 1], [2, 3], [2, 3]], err_msg="2 frames -> 4 clips repeats frames"
    )


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1.0, -2.0, 3.0, 4.0, -1.0], (2, 3)),
        ([-3.0, -1.0, -2.0], (1, 1)),  # all negative: the best single clip
        ([2.0, -1.0, 2.0, -5.0], (0, 2)),  # a small dip is bridged
        ([0.0, 0.0, 0.0], (0, 0)),  # ties: first in row-major order
    ],
)
def test_max_sum_stretches_hand_cases(values, expected):
    stretch = max_sum_stretches(np.array([values]))
    assert tuple(stretch[0]) == expected, f"max-sum stretch of {values}"


def test_max_sum_stretches_matches_brute_force():
    values = np.random.default_rng(0).standard_normal((20, 9))
    stretches = max_sum_stretches(values)
    for row, (start, end) in zip(values, stretches, strict=True):
        best = max(row[i : j + 1].sum() for i in range(9) for j in range(i, 9))
        assert np.isclose(row[start : end + 1].sum(), best), f"row {row.round(2)}: stretch {start}..{end}"


def test_query_free_saliency_finds_the_high_energy_stretch_in_seconds():
    frames = np.ones((16, 3))
    frames[8:12] *= 4.0  # high energy in frames 8..11 = clips 4..5 of 8
    moments = query_free_saliency_moments([frames, frames[::-1]], np.array([32.0, 16.0]), num_clips=8)
    np.testing.assert_allclose(moments[0], [16.0, 24.0], err_msg="clips 4..5 of a 32 s video")
    np.testing.assert_allclose(moments[1], [4.0, 8.0], err_msg="reversed video: clips 2..3 of a 16 s video")


def test_query_free_saliency_validates_inputs():
    with pytest.raises(InputError, match="2 feature arrays but 1 durations"):
        query_free_saliency_moments([np.ones((4, 2)), np.ones((4, 2))], np.array([4.0]), num_clips=2)
    with pytest.raises(InputError, match="video 1"):
        query_free_saliency_moments([np.ones((4, 2)), np.ones((0, 2))], np.array([4.0, 4.0]), num_clips=2)
    bad = np.ones((4, 2))
    bad[1, 0] = np.nan
    with pytest.raises(InputError, match="video 0"):
        query_free_saliency_moments([bad], np.array([4.0]), num_clips=2)
    assert query_free_saliency_moments([], np.zeros(0), num_clips=4).shape == (0, 2), "empty corpus"
