"""Protocol ``vcmr``: merging per-video candidates into one corpus-wide list, and recall over that list."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.metrics import CorpusCandidates, merge_corpus_candidates, vcmr_metrics

NAN = np.nan


def _merge_example(max_candidates: int) -> CorpusCandidates:
    # one paragraph, 3 videos; the sentence is grounded in its top-2 videos (0 and 1), 2 moments each
    similarity = [[0.5, 0.4, 0.0]]
    moments = [[[[0, 10], [10, 20]], [[0, 10], [NAN, NAN]]]]  # (1 sentence, 2 videos, 2 moments, 2)
    scores = [[[0.5, 0.1], [0.9, NAN]]]
    return merge_corpus_candidates(
        similarity, [0], [[0, 1]], moments, scores, temperature=10.0, max_candidates=max_candidates
    )


def test_merge_ranks_pairs_by_video_and_moment_score():
    merged = _merge_example(max_candidates=4)
    # log pair scores: video 0 / [0, 10]: 10 * 0.5 + ln 0.5 = 4.31; video 0 / [10, 20]: 5 + ln 0.1 = 2.70;
    # video 1 / [0, 10]: 10 * 0.4 + ln 0.9 = 3.89; the NaN slot is padding -> order A, C, B, padding
    assert merged.videos.tolist() == [[0, 1, 0, -1]], f"merged videos: {merged.videos}"
    assert merged.moments[0, :3].tolist() == [[0, 10], [0, 10], [10, 20]], f"merged moments: {merged.moments}"
    assert np.isnan(merged.moments[0, 3]).all() and merged.scores[0, 3] == -np.inf, "padding of the merged list"
    expected = [5 + math.log(0.5), 4 + math.log(0.9), 5 + math.log(0.1)]
    assert merged.scores[0, :3] == pytest.approx(expected), f"merged log scores: {merged.scores}"


def test_merge_cuts_the_list_to_max_candidates():
    merged = _merge_example(max_candidates=2)
    assert merged.videos.tolist() == [[0, 1]], f"top-2 merged videos: {merged.videos}"
    assert merged.moments.shape == (1, 2, 2) and merged.scores.shape == (1, 2), "top-2 merged shapes"


def test_vcmr_worked_example_with_ties_and_thresholds():
    gt_video = [1, 0]
    sentence_paragraph = [0, 0, 1]
    gt_moments = [[0, 10], [10, 20], [0, 10]]
    candidates = CorpusCandidates(
        videos=np.asarray([[0, 1, 1], [1, 2, -1], [0, -1, -1]]),
        moments=np.asarray(
            [
                # s0 (GT video 1): wrong video with IoU 1; GT video IoU 0.5 (exactly); GT video IoU 1
                [[0, 10], [0, 5], [0, 10]],
                # s1 (GT video 1): correct pair IoU 1 tied in score with a wrong video -> pessimistic rank 2
                [[10, 20], [0, 1], [NAN, NAN]],
                # s2 (GT video 0): IoU 0.7 (exactly) at rank 1
                [[0, 7], [NAN, NAN], [NAN, NAN]],
            ],
            dtype=float,
        ),
        scores=np.asarray([[0.9, 0.8, 0.1], [0.7, 0.7, -np.inf], [0.6, -np.inf, -np.inf]]),
    )
    metrics = vcmr_metrics(candidates, gt_video, sentence_paragraph, gt_moments, ks=(1, 2, 10))
    # first correct rank per sentence at m = 0.3 / 0.5 / 0.7: s0 2 / 2 / 3, s1 2 / 2 / 2, s2 1 / 1 / 1
    expected = {
        "R@1,IoU=0.3": 100 / 3,
        "R@1,IoU=0.5": 100 / 3,
        "R@1,IoU=0.7": 100 / 3,
        "R@2,IoU=0.3": 100.0,
        "R@2,IoU=0.5": 100.0,
        "R@2,IoU=0.7": 200 / 3,
        "R@10,IoU=0.3": 100.0,
        "R@10,IoU=0.5": 100.0,
        "R@10,IoU=0.7": 100.0,
    }
    assert list(metrics) == list(expected), f"vcmr keys: {list(metrics)}"
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value), f"vcmr {key}: {metrics[key]} != {value}"


def test_vcmr_r_at_100_misses_a_pair_cut_from_the_list():
    # 101 videos, one moment each, all perfect; the GT video (100) has the lowest similarity -> position 101 -> cut
    num_videos = 101
    similarity = np.linspace(1.0, 0.0, num_videos)[None, :]
    moments = np.tile(np.asarray([0.0, 10.0]), (1, num_videos, 1, 1))  # (1, 101, 1, 2)
    scores = np.full((1, num_videos, 1), 0.5)
    merged = merge_corpus_candidates(similarity, [0], np.arange(num_videos)[None, :], moments, scores)
    assert merged.videos.shape == (1, 100), f"list cut to 100: {merged.videos.shape}"
    assert vcmr_metrics(merged, [100], [0], [[0.0, 10.0]])["R@100,IoU=0.7"] == 0.0, "GT pair at 101 is a miss"
    assert vcmr_metrics(merged, [99], [0], [[0.0, 10.0]])["R@100,IoU=0.7"] == 100.0, "GT pair at 100 is a hit"
    assert vcmr_metrics(merged, [99], [0], [[0.0, 10.0]])["R@10,IoU=0.7"] == 0.0, "GT pair at 100 is not in top 10"


def test_vcmr_counts_sentences_of_a_multi_paragraph_video_separately():
    # paragraphs 0 and 1 both belong to video 0; each sentence has its own list
    candidates = CorpusCandidates(
        videos=np.asarray([[0], [1]]),
        moments=np.asarray([[[0.0, 5.0]], [[0.0, 5.0]]]),
        scores=np.asarray([[1.0], [1.0]]),
    )
    metrics = vcmr_metrics(candidates, [0, 0], [0, 1], [[0.0, 5.0], [0.0, 5.0]], ks=(1,), thresholds=(0.5,))
    assert metrics == {"R@1,IoU=0.5": 50.0}, f"multi-paragraph video: sentence 1's list has the wrong video: {metrics}"


@pytest.mark.parametrize(
    ("videos", "scores", "message"),
    [
        ([[0, 0]], [[[0.5], [0.5]]], "sentence 0 lists a video twice"),
        ([[0, 3]], [[[0.5], [0.5]]], "sentence 0, slot 1 is 3"),
        ([[0, 1]], [[[0.5], [-0.1]]], "video slot 1, moment 0"),
        ([[0, 1]], [[[0.5], [np.inf]]], "video slot 1, moment 0"),
        ([[0.0, 1.0]], [[[0.5], [0.5]]], "expected an int array"),
    ],
)
def test_bad_per_video_candidates_raise_clear_errors(videos, scores, message):
    moments = np.zeros((1, 2, 1, 2))
    with pytest.raises(InputError, match=message):
        merge_corpus_candidates([[0.5, 0.4, 0.3]], [0], np.asarray(videos), moments, scores)


def test_bad_corpus_candidates_raise_clear_errors():
    nan_score = CorpusCandidates(
        videos=np.asarray([[0, 1]]), moments=np.zeros((1, 2, 2)), scores=np.asarray([[1, NAN]])
    )
    with pytest.raises(InputError, match="sentence 0, list position 1 has a NaN score"):
        vcmr_metrics(nan_score, [0], [0], [[0, 1]])
    empty = CorpusCandidates(videos=np.zeros((1, 0), dtype=int), moments=np.zeros((1, 0, 2)), scores=np.zeros((1, 0)))
    with pytest.raises(InputError, match="L >= 1"):
        vcmr_metrics(empty, [0], [0], [[0, 1]])
