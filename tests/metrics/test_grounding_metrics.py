"""Protocol ``grounding``: IoU recall, mIoU, paragraph-level recall and order consistency on hand-built moments."""

from __future__ import annotations

import numpy as np
import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.metrics import grounding_metrics, order_consistency, prediction_ious

NAN = np.nan


def test_iou_exactly_at_the_threshold_is_a_hit():
    gt = [[0.0, 10.0]] * 3
    # IoU = 3/10, 5/10, 7/10: each exactly one threshold
    pred = [[[0.0, 3.0]], [[0.0, 5.0]], [[0.0, 7.0]]]
    ious = prediction_ious(pred, gt)
    assert ious[:, 0].tolist() == [0.3, 0.5, 0.7], f"IoUs at the thresholds: {ious[:, 0]}"
    metrics = grounding_metrics(pred, gt, [0, 1, 2])
    # IoU >= 0.3: all 3; >= 0.5: 0.5 and 0.7; >= 0.7: only 0.7
    assert metrics["R@1,IoU=0.3"] == 100.0, f"threshold 0.3: {metrics}"
    assert metrics["R@1,IoU=0.5"] == pytest.approx(200 / 3), f"threshold 0.5: {metrics}"
    assert metrics["R@1,IoU=0.7"] == pytest.approx(100 / 3), f"threshold 0.7: {metrics}"
    assert metrics["mIoU"] == pytest.approx(50.0), f"mIoU (30 + 50 + 70) / 3: {metrics}"


def test_recall_at_5_uses_lower_ranked_moments_and_ignores_padding():
    gt = [[0.0, 10.0], [20.0, 30.0]]
    pred = [
        # sentence 0: top-1 [10, 20] IoU 0; rank 2 [0, 10] IoU 1 -> R@1 miss, R@5 hit; ranks 3-5 padded
        [[10.0, 20.0], [0.0, 10.0], [NAN, NAN], [NAN, NAN], [NAN, NAN]],
        # sentence 1: top-1 [20, 25] IoU 0.5; the others IoU 0
        [[20.0, 25.0], [0.0, 1.0], [1.0, 2.0], [2.0, 3.0], [3.0, 4.0]],
    ]
    metrics = grounding_metrics(pred, gt, [0, 0])
    assert metrics["R@1,IoU=0.5"] == 50.0, f"R@1 IoU=0.5 (sentence 1 only): {metrics}"
    assert metrics["R@5,IoU=0.5"] == 100.0, f"R@5 IoU=0.5 (both): {metrics}"
    assert metrics["R@5,IoU=0.7"] == 50.0, f"R@5 IoU=0.7 (sentence 0 only): {metrics}"
    assert metrics["mIoU"] == 25.0, f"mIoU of the top-1 moments (0 + 50) / 2: {metrics}"
    assert np.isnan(prediction_ious(pred, gt)[0, 2:]).all(), "padded predictions have NaN IoU"


def test_paragraph_level_recall_needs_every_sentence():
    gt = [[0.0, 10.0], [10.0, 20.0], [0.0, 10.0]]
    pred = [[0.0, 10.0], [10.0, 14.0], [0.0, 8.0]]  # IoU 1.0, 0.4 (paragraph 0); 0.8 (paragraph 1)
    metrics = grounding_metrics(pred, gt, [0, 0, 1])
    # m=0.3: both paragraphs; m=0.5: paragraph 0 fails on 0.4 -> 1 of 2; m=0.7: same
    assert metrics["paragraph@IoU=0.3"] == 100.0, f"paragraph@0.3: {metrics}"
    assert metrics["paragraph@IoU=0.5"] == 50.0, f"paragraph@0.5: {metrics}"
    assert metrics["paragraph@IoU=0.7"] == 50.0, f"paragraph@0.7: {metrics}"


def test_order_consistency_worked_example():
    # paragraph 0: GT centres 1, 5, 9; predicted centres 1, 5, 3
    #   pairs (0,1) concordant, (0,2) concordant (3 > 1), (1,2) discordant (3 < 5) -> 2/3
    # paragraph 1: GT centres 2, 6; predicted centres 4, 4 (a tie) -> discordant -> 0/1
    # paragraph 2: GT centres 3, 3 (coincide, no order); one sentence more at centre 7 predicted at 8
    #   pairs (0,1) left out; (0,2) 3 < 7 and 3 < 8 concordant; (1,2) concordant -> 2/2
    # paragraph 3: a single sentence -> no pair -> left out of the mean
    gt = [[0, 2], [4, 6], [8, 10], [0, 4], [4, 8], [2, 4], [2, 4], [6, 8], [0, 5]]
    pred = [[0, 2], [4, 6], [2, 4], [3, 5], [3, 5], [2, 4], [0, 6], [7, 9], [1, 2]]
    paragraphs = [0, 0, 0, 1, 1, 2, 2, 2, 3]
    value = order_consistency(pred, gt, paragraphs)
    assert value == pytest.approx(100 * (2 / 3 + 0 + 1) / 3), f"order consistency mean of 2/3, 0, 1: {value}"


def test_order_consistency_does_not_depend_on_sentence_interleaving():
    gt = np.asarray([[0, 2], [4, 6], [8, 10], [0, 4], [4, 8]], dtype=float)
    pred = np.asarray([[0, 2], [4, 6], [2, 4], [3, 5], [5, 7]], dtype=float)
    paragraphs = np.asarray([0, 0, 0, 1, 1])
    interleaved = np.asarray([0, 3, 1, 4, 2])  # sentences of paragraphs 0 and 1 mixed, order within each kept
    direct = grounding_metrics(pred, gt, paragraphs)
    mixed = grounding_metrics(pred[interleaved], gt[interleaved], paragraphs[interleaved])
    assert direct == pytest.approx(mixed), f"interleaved sentences: {direct} vs {mixed}"


def test_one_sentence_paragraphs_have_no_order_consistency():
    metrics = grounding_metrics([[0.0, 5.0], [0.0, 5.0]], [[0.0, 5.0], [1.0, 5.0]], [0, 1])
    assert "order_consistency" not in metrics, f"order consistency undefined for one-sentence paragraphs: {metrics}"
    assert metrics["paragraph@IoU=0.7"] == 100.0, f"IoU 1.0 and 0.8 -> both paragraphs: {metrics}"
    assert order_consistency([[0.0, 5.0]], [[0.0, 5.0]], [0]) is None, "single sentence order consistency"


@pytest.mark.parametrize(
    ("pred", "gt", "paragraphs", "message"),
    [
        ([[[NAN, NAN], [0, 1]]], [[0, 1]], [0], "sentence 0 has no top-1 prediction"),
        ([[[0, 1], [NAN, NAN], [0, 2]]], [[0, 1]], [0], "sentence 0 has a prediction after NaN padding"),
        ([[[0, 1], [0, NAN]]], [[0, 1]], [0], "only one of start/end"),
        ([[0, 1], [5, 2]], [[0, 1], [0, 1]], [0, 0], "sentence 1 has start > end"),
        ([[0, 1], [2, 3]], [[0, 1], [4, np.inf]], [0, 0], "gt_moments: sentence 1 has an infinite time"),
        ([[0, 1]], [[0, 1], [2, 3]], [0], r"expected shape \(1, 2\)"),
        (np.zeros((0, 1, 2)), np.zeros((0, 2)), [], "expected at least one sentence"),
        ([[0, 1]], [[0, 1]], [-1], "sentence 0 has paragraph -1"),
    ],
)
def test_bad_grounding_inputs_raise_clear_errors(pred, gt, paragraphs, message):
    with pytest.raises(InputError, match=message):
        grounding_metrics(pred, gt, np.asarray(paragraphs, dtype=np.int64))
