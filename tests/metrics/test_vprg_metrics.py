"""Protocol ``vprg`` (the paper's tables): retrieval rank AND moment IoU per sentence, worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.metrics import vprg_metrics

NAN = np.nan

# Corpus of 3 unique videos; video 0 carries paragraphs 0 and 2 (a multi-paragraph video).
SIMILARITY = [
    [0.9, 0.1, 0.2],  # paragraph 0, GT video 0: rank 1
    [0.3, 0.3, 0.2],  # paragraph 1, GT video 1: ties with video 0 at 0.3 -> pessimistic rank 2
    [0.4, 0.5, 0.6],  # paragraph 2, GT video 0: rank 3
]
GT_VIDEO = [0, 1, 0]
SENTENCE_PARAGRAPH = [0, 0, 1, 2, 2]  # paragraph 1 has a single sentence
GT_MOMENTS = [[0, 10], [10, 20], [0, 10], [0, 10], [20, 40]]
PRED_MOMENTS = [
    [[0, 10], [NAN, NAN]],  # IoU 1.0
    [[10, 15], [10, 20]],  # top-1 IoU 0.5 (exactly at the threshold), rank 2 IoU 1.0
    [[0, 7], [NAN, NAN]],  # IoU 0.7 (exactly)
    [[0, 3], [NAN, NAN]],  # IoU 0.3 (exactly)
    [[0, 10], [20, 40]],  # top-1 IoU 0.0, rank 2 IoU 1.0
]


def test_vprg_worked_example_top1():
    metrics = vprg_metrics(SIMILARITY, GT_VIDEO, SENTENCE_PARAGRAPH, GT_MOMENTS, PRED_MOMENTS)
    # sentence: (paragraph rank, top-1 IoU) = s0 (1, 1.0), s1 (1, 0.5), s2 (2, 0.7), s3 (3, 0.3), s4 (3, 0.0)
    # K=1: s0, s1 retrieved -> IoU>=0.3: 2, >=0.5: 2, >=0.7: 1 (s0)
    # K=5 (and 10, 100): all retrieved -> IoU>=0.3: s0 s1 s2 s3 = 4, >=0.5: s0 s1 s2 = 3, >=0.7: s0 s2 = 2
    expected = {
        "R@1,IoU=0.3": 40.0,
        "R@1,IoU=0.5": 40.0,
        "R@1,IoU=0.7": 20.0,
        "R@5,IoU=0.3": 80.0,
        "R@5,IoU=0.5": 60.0,
        "R@5,IoU=0.7": 40.0,
    }
    for k in (10, 100):
        expected.update({f"R@{k},IoU={m}": expected[f"R@5,IoU={m}"] for m in (0.3, 0.5, 0.7)})
    assert list(metrics) == list(expected), f"vprg keys in order K then m: {list(metrics)}"
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value), f"vprg {key}: {metrics[key]} != {value}"


def test_vprg_any_of_top_n_criterion():
    metrics = vprg_metrics(SIMILARITY, GT_VIDEO, SENTENCE_PARAGRAPH, GT_MOMENTS, PRED_MOMENTS, top_n=2, ks=(1, 5))
    # with the rank-2 moments: s1 IoU 1.0, s4 IoU 1.0 (NaN padding of s0, s2, s3 never hits)
    # K=1 (s0, s1): IoU>=0.7: 2 of 5; K=5: IoU>=0.7: s0 s1 s2 s4 = 4 of 5
    assert metrics["R@1,IoU=0.7"] == pytest.approx(40.0), f"top-2 R@1 IoU=0.7: {metrics}"
    assert metrics["R@5,IoU=0.7"] == pytest.approx(80.0), f"top-2 R@5 IoU=0.7: {metrics}"


def test_vprg_tie_keeps_a_perfect_moment_out_of_rank_1():
    # one paragraph, one sentence, perfect moment; its GT video ties with another -> rank 2
    metrics = vprg_metrics([[0.5, 0.5]], [1], [0], [[0, 10]], [[0, 10]], ks=(1, 2), thresholds=(0.7,))
    assert metrics == {"R@1,IoU=0.7": 0.0, "R@2,IoU=0.7": 100.0}, f"tied GT video: {metrics}"


def test_vprg_is_sentence_weighted():
    # paragraph 0 (1 sentence) retrieved at rank 1, paragraph 1 (3 sentences) at rank 2, all moments perfect:
    # R@1 = 1 of 4 sentences = 25 %, not 1 of 2 paragraphs
    metrics = vprg_metrics(
        [[0.9, 0.1], [0.9, 0.1]], [0, 1], [0, 1, 1, 1], [[0, 1]] * 4, [[0, 1]] * 4, ks=(1,), thresholds=(0.5,)
    )
    assert metrics == {"R@1,IoU=0.5": 25.0}, f"sentence weighting: {metrics}"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sentence_paragraph": [0, 0, 1, 2, 3]}, "sentence 4 has paragraph 3, expected 0..2"),
        ({"top_n": 0}, "top_n: expected a positive int"),
        ({"ks": ()}, "ks: expected a non-empty sequence"),
        ({"thresholds": (0.0,)}, r"thresholds: expected a non-empty sequence of IoU values in \(0, 1\]"),
        ({"similarity": np.zeros((0, 3))}, "at least one paragraph"),
    ],
)
def test_bad_vprg_inputs_raise_clear_errors(kwargs, message):
    inputs = {
        "similarity": SIMILARITY,
        "gt_video": GT_VIDEO,
        "sentence_paragraph": SENTENCE_PARAGRAPH,
        "gt_moments": GT_MOMENTS,
        "pred_moments": PRED_MOMENTS,
        **kwargs,
    }
    with pytest.raises(InputError, match=message):
        vprg_metrics(**inputs)
