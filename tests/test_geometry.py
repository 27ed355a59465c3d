from __future__ import annotations

import numpy as np
import pytest

from dmr_jrg_hf.geometry import (
    cells_to_seconds,
    iou_map,
    nms_1d,
    scaled_iou_labels,
    seconds_to_cell,
    segment_iou,
    valid_cell_mask,
)


@pytest.mark.parametrize(
    "num_clips, scales, count",
    [(32, [16, 8, 8], 428), (64, [16, 8, 8], 1104), (128, [16, 8, 8, 8], 2548), (16, [16], 136), (8, [16], 36)],
)
def test_valid_cell_counts(num_clips, scales, count):
    assert int(valid_cell_mask(num_clips, scales).sum()) == count, (num_clips, scales)


def test_sparse_mask_cells_by_hand():
    mask = valid_cell_mask(32, [16, 8, 8])
    assert mask[0, 15] and mask[16, 31]  # spans of 16 clips at any start
    assert mask[0, 17] and not mask[1, 18]  # span 18 only at even starts (stride 2)
    assert not mask[0, 16]  # span 17 is not a candidate
    assert not np.tril(mask, -1).any()  # never end before start


def test_cells_to_seconds_rule():
    # cell (i, j) covers [i * d / K, (j + 1) * d / K]: K=4, d=10 -> (1, 2) is [2.5, 7.5]
    np.testing.assert_allclose(cells_to_seconds(np.array([1, 0]), np.array([2, 3]), 10.0, 4), [[2.5, 7.5], [0, 10]])


def test_cells_to_seconds_in_windows_of_a_long_video():
    # windows of 10 s starting at 0 s and 95 s, K=4: cell (1, 2) is [2.5, 7.5] then [97.5, 102.5]
    seconds = cells_to_seconds(np.array([1]), np.array([2]), np.array([[10.0], [10.0]]), 4, np.array([[0.0], [95.0]]))
    np.testing.assert_allclose(seconds, [[[2.5, 7.5]], [[97.5, 102.5]]])
    rows, cols = np.array([0, 3, 7]), np.array([5, 3, 7])
    whole = cells_to_seconds(rows, cols, 37.3, 8)
    assert np.array_equal(cells_to_seconds(rows, cols, 37.3, 8, 0.0), whole), "offset 0 is bitwise the whole video"


def test_seconds_to_cell_round_trip():
    assert seconds_to_cell([2.5, 7.5], 10.0, 4) == (1, 2)
    assert seconds_to_cell([0.0, 2.4], 10.0, 4) == (0, 0)


def test_segment_iou_by_hand():
    # [0, 4] vs [2, 6]: intersection 2, union 6
    assert segment_iou(np.array([0.0, 4.0]), np.array([2.0, 6.0])) == pytest.approx(1 / 3)
    assert segment_iou(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 0.0
    assert segment_iou(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 1.0


def test_iou_map_by_hand():
    # K=2, d=10: cells (0,0)=[0,5], (0,1)=[0,10], (1,1)=[5,10]; moment [0, 5]
    overlap = iou_map([0.0, 5.0], 10.0, 2)
    assert overlap[0, 0] == pytest.approx(1.0)
    assert overlap[0, 1] == pytest.approx(0.5)
    assert overlap[1, 1] == pytest.approx(0.0)


def test_scaled_iou_labels():
    np.testing.assert_allclose(scaled_iou_labels(np.array([0.2, 0.5, 0.75, 1.0]), 0.5, 1.0), [0, 0, 0.5, 1])


def test_nms_keeps_best_and_drops_overlaps():
    segments = np.array([[0, 10], [1, 10], [20, 30], [0, 9]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    np.testing.assert_array_equal(nms_1d(segments, scores, 0.5), [3, 2])
    np.testing.assert_array_equal(nms_1d(segments, scores, 0.5, top_k=1), [3])
    np.testing.assert_array_equal(nms_1d(segments, scores, 1.0), [3, 0, 1, 2])
