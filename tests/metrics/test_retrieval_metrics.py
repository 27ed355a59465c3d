"""Protocol ``retrieval``: hand-built similarity matrices with the ranks worked out in comments."""

from __future__ import annotations

import numpy as np
import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.metrics import gt_video_ranks, retrieval_metrics, top_videos, video_indices


def test_ranks_and_recall_on_a_worked_example():
    similarity = [
        [0.9, 0.2, 0.1],  # GT 0 scores 0.9: only itself >= 0.9 -> rank 1
        [0.3, 0.8, 0.5],  # GT 2 scores 0.5: 0.8 and 0.5 are >= 0.5 -> rank 2
        [0.6, 0.7, 0.4],  # GT 2 scores 0.4: all three are >= 0.4 -> rank 3
    ]
    ranks = gt_video_ranks(similarity, [0, 2, 2])
    assert ranks.tolist() == [1, 2, 3], f"worked example ranks: {ranks}"
    metrics = retrieval_metrics(similarity, [0, 2, 2])
    expected = {"R@1": 100 / 3, "R@5": 100.0, "R@10": 100.0, "R@100": 100.0, "MedR": 2.0, "MeanR": 2.0}
    assert metrics.keys() == expected.keys(), f"retrieval keys: {list(metrics)}"
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value), f"retrieval {key}: {metrics[key]} != {value}"


def test_ties_are_pessimistic():
    # paragraph 0: video 1 ties with GT video 0 at 0.5 -> it ranks above -> GT rank 2
    # paragraph 1: every video scores 1.0 -> GT rank 4 (last), never 1
    similarity = [[0.5, 0.5, 0.1, 0.0], [1.0, 1.0, 1.0, 1.0]]
    assert gt_video_ranks(similarity, [0, 2]).tolist() == [2, 4], "tied videos must rank above the GT video"
    metrics = retrieval_metrics(similarity, [0, 2], ks=(1, 2, 4))
    # R@1: no paragraph; R@2: paragraph 0 only (1 of 2); R@4: both
    assert (metrics["R@1"], metrics["R@2"], metrics["R@4"]) == (0.0, 50.0, 100.0), f"tie recall: {metrics}"
    assert metrics["MedR"] == 3.0 and metrics["MeanR"] == 3.0, f"tie ranks (2 + 4) / 2: {metrics}"


def test_videos_with_several_paragraphs_rank_videos_not_paragraphs():
    paragraph_videos = ["v_a", "v_b", "v_a"]  # v_a carries paragraphs 0 and 2
    corpus = ["v_a", "v_b"]  # unique ids: one column per video
    gt = video_indices(paragraph_videos, corpus)
    assert gt.tolist() == [0, 1, 0], f"video columns of paragraphs: {gt}"
    similarity = [[0.9, 0.1], [0.2, 0.7], [0.6, 0.3]]
    # each paragraph's own video is its best column -> ranks 1, 1, 1 (a per-paragraph column for paragraph 2's
    # duplicate of v_a would have tied with it and pushed it to rank 2)
    assert gt_video_ranks(similarity, gt).tolist() == [1, 1, 1], "multi-paragraph video ranks"
    assert retrieval_metrics(similarity, gt)["R@1"] == 100.0, "multi-paragraph video R@1"


def test_video_indices_errors_name_the_item():
    with pytest.raises(InputError, match="'v_a' appears twice"):
        video_indices(["v_a"], ["v_a", "v_b", "v_a"])
    with pytest.raises(InputError, match="paragraph 1: video 'v_x' is not in the corpus"):
        video_indices(["v_a", "v_x"], ["v_a"])


def test_r_at_100_with_a_small_corpus_counts_every_paragraph():
    # 2 videos only: every GT video ranks <= 2 <= 100
    metrics = retrieval_metrics([[0.1, 0.9], [0.9, 0.1]], [0, 1])
    assert metrics["R@1"] == 0.0 and metrics["R@100"] == 100.0, f"small corpus: {metrics}"


def test_top_videos_breaks_ties_by_column():
    # 0.9 first; 0.5 at columns 0 and 2 -> column 0 first
    assert top_videos([[0.5, 0.9, 0.5]], 2).tolist() == [[1, 0]], "top videos order"
    assert top_videos([[0.5, 0.9, 0.5]], 10).shape == (1, 3), "top videos capped at the corpus size"
    # many ties (scores in {0, 1, 2, 3}): same lists as a stable full sort, for every N
    scores = np.random.default_rng(0).integers(0, 4, size=(50, 9)).astype(float)
    for num_videos in (1, 3, 9):
        expected = np.argsort(-scores, axis=1, kind="stable")[:, :num_videos]
        np.testing.assert_array_equal(top_videos(scores, num_videos), expected, err_msg=f"ties, N={num_videos}")


@pytest.mark.parametrize(
    ("similarity", "gt_video", "message"),
    [
        (np.zeros((0, 3)), np.zeros(0, dtype=int), "at least one paragraph and one video"),
        (np.zeros((2, 0)), [0, 0], "at least one paragraph and one video"),
        ([[0.1, 0.2]], [], "expected at least one paragraph"),
        ([[0.1, np.nan], [0.3, 0.4]], [0, 1], "paragraph 0, video 1 is nan"),
        ([[0.1, 0.2], [0.3, 0.4]], [0, 2], "paragraph 1 has video index 2, expected 0..1"),
        ([[0.1, 0.2], [0.3, 0.4]], [0], "expected 2 entries"),
        ([[0.1, 0.2]], [0.0], "expected integer indices"),
    ],
)
def test_bad_retrieval_inputs_raise_clear_errors(similarity, gt_video, message):
    with pytest.raises(InputError, match=message):
        retrieval_metrics(similarity, gt_video)
