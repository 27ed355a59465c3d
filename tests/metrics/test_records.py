"""`EvaluationInputs.from_records`: the arrays built from per-paragraph records (hand-computed for a ragged example),
the optional ``vcmr`` lists, each error message, and ``evaluate`` as `evaluate_all` on the same arrays."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.metrics.records import EvaluationInputs
from dmr_jrg_hf.metrics.report import evaluate_all
from dmr_jrg_hf.metrics.vcmr import CorpusCandidates

NAN = np.nan

# Paragraph 0: 2 sentences in video 0, with 1 and 3 predicted moments; paragraph 1: 3 sentences in video 1, with 2, 1
# and 2 predicted moments. Three videos in the corpus.
PREDICTIONS = [
    {"video_scores": [0.9, 0.1, 0.3], "moments": [[[0.0, 10.0]], [[10.0, 15.0], [5.0, 20.0], [10.0, 19.0]]]},
    {"video_scores": [0.2, 0.5, 0.7], "moments": [[[2.0, 4.0], [0.0, 1.0]], [[4.0, 8.0]], [[8.0, 9.0], [0.0, 9.0]]]},
]
REFERENCES = [
    {"video_index": 0, "timestamps": [[0.0, 10.0], [10.0, 20.0]]},
    {"video_index": 1, "timestamps": [[2.0, 4.0], [4.0, 8.0], [8.0, 9.0]]},
]
EXPECTED = {
    "similarity": np.array([[0.9, 0.1, 0.3], [0.2, 0.5, 0.7]]),
    "gt_video": np.array([0, 1]),
    "sentence_paragraph": np.array([0, 0, 1, 1, 1]),
    "gt_moments": np.array([[0.0, 10.0], [10.0, 20.0], [2.0, 4.0], [4.0, 8.0], [8.0, 9.0]]),
    "pred_moments": np.array(
        [
            [[0.0, 10.0], [NAN, NAN], [NAN, NAN]],
            [[10.0, 15.0], [5.0, 20.0], [10.0, 19.0]],
            [[2.0, 4.0], [0.0, 1.0], [NAN, NAN]],
            [[4.0, 8.0], [NAN, NAN], [NAN, NAN]],
            [[8.0, 9.0], [0.0, 9.0], [NAN, NAN]],
        ]
    ),
}
EXPECTED_DTYPES = {
    "similarity": np.float64,
    "gt_video": np.int64,
    "sentence_paragraph": np.int64,
    "gt_moments": np.float64,
    "pred_moments": np.float64,
}

# The vcmr lists: 2, 1 | 1, 3, 2 (video, moment, score) pairs per sentence.
CORPUS = [
    {
        "corpus_videos": [[0, 2], [0]],
        "corpus_moments": [[[0.0, 10.0], [1.0, 2.0]], [[10.0, 20.0]]],
        "corpus_scores": [[3.0, 1.0], [2.0]],
    },
    {
        "corpus_videos": [[1], [1, 0, 2], [2, 1]],
        "corpus_moments": [[[2.0, 4.0]], [[4.0, 8.0], [0.0, 3.0], [5.0, 6.0]], [[0.0, 1.0], [8.0, 9.0]]],
        "corpus_scores": [[0.5], [0.9, 0.8, 0.1], [0.6, 0.4]],
    },
]
EXPECTED_CORPUS = CorpusCandidates(
    videos=np.array([[0, 2, -1], [0, -1, -1], [1, -1, -1], [1, 0, 2], [2, 1, -1]]),
    moments=np.array(
        [
            [[0.0, 10.0], [1.0, 2.0], [NAN, NAN]],
            [[10.0, 20.0], [NAN, NAN], [NAN, NAN]],
            [[2.0, 4.0], [NAN, NAN], [NAN, NAN]],
            [[4.0, 8.0], [0.0, 3.0], [5.0, 6.0]],
            [[0.0, 1.0], [8.0, 9.0], [NAN, NAN]],
        ]
    ),
    scores=np.array(
        [[3.0, 1.0, -np.inf], [2.0, -np.inf, -np.inf], [0.5, -np.inf, -np.inf], [0.9, 0.8, 0.1], [0.6, 0.4, -np.inf]]
    ),
)


def _with_corpus():
    return [{**prediction, **corpus} for prediction, corpus in zip(PREDICTIONS, CORPUS, strict=True)]


def _raises(message: str):
    return pytest.raises(InputError, match=f"^{re.escape(message)}$")


def test_from_records_builds_the_arrays():
    inputs = EvaluationInputs.from_records(PREDICTIONS, REFERENCES)
    for name, expected in EXPECTED.items():
        array = getattr(inputs, name)
        np.testing.assert_array_equal(array, expected, err_msg=name)  # NaN padding compares equal to NaN
        assert array.dtype == EXPECTED_DTYPES[name], f"{name}: {array.dtype}"
    assert inputs.corpus_candidates is None, "no vcmr lists in the records"


def test_from_records_reads_arrays_and_tuples_as_well_as_lists():
    predictions = [
        {"video_scores": np.asarray(p["video_scores"]), "moments": tuple(np.asarray(m) for m in p["moments"])}
        for p in PREDICTIONS
    ]
    references = [
        {"video_index": np.int32(r["video_index"]), "timestamps": np.asarray(r["timestamps"])} for r in REFERENCES
    ]
    inputs = EvaluationInputs.from_records(tuple(predictions), tuple(references))
    for name, expected in EXPECTED.items():
        np.testing.assert_array_equal(getattr(inputs, name), expected, err_msg=name)


def test_one_paragraph_of_one_sentence():
    inputs = EvaluationInputs.from_records(
        [{"video_scores": [0.4], "moments": [[[1.0, 2.0], [0.0, 3.0]]]}],
        [{"video_index": 0, "timestamps": [[1.0, 2.5]]}],
    )
    np.testing.assert_array_equal(inputs.similarity, [[0.4]])
    np.testing.assert_array_equal(inputs.sentence_paragraph, [0])
    np.testing.assert_array_equal(inputs.gt_moments, [[1.0, 2.5]])
    np.testing.assert_array_equal(inputs.pred_moments, [[[1.0, 2.0], [0.0, 3.0]]])


def _assert_candidates_equal(found: CorpusCandidates, expected: CorpusCandidates):
    for name in ("videos", "moments", "scores"):
        np.testing.assert_array_equal(getattr(found, name), getattr(expected, name), err_msg=name)
    assert found.videos.dtype == np.int64 and found.moments.dtype == found.scores.dtype == np.float64


def test_vcmr_lists_given_for_every_paragraph_are_padded():
    inputs = EvaluationInputs.from_records(_with_corpus(), REFERENCES)
    assert isinstance(inputs.corpus_candidates, CorpusCandidates)
    _assert_candidates_equal(inputs.corpus_candidates, EXPECTED_CORPUS)  # -1, NaN and -inf padding
    np.testing.assert_array_equal(inputs.pred_moments, EXPECTED["pred_moments"], err_msg="moments unchanged")


def test_vcmr_lists_set_to_none_are_not_given():
    predictions = [{**p, "corpus_videos": None, "corpus_moments": None, "corpus_scores": None} for p in PREDICTIONS]
    assert EvaluationInputs.from_records(predictions, REFERENCES).corpus_candidates is None


_ALL_OR_NONE = "['corpus_videos', 'corpus_moments', 'corpus_scores'] must be given for every paragraph or none"


@pytest.mark.parametrize("missing", [0, 1])
def test_vcmr_lists_given_for_some_paragraphs_name_the_first_without(missing):
    predictions = _with_corpus()
    predictions[missing] = PREDICTIONS[missing]
    with _raises(f"paragraph {missing}: {_ALL_OR_NONE}"):
        EvaluationInputs.from_records(predictions, REFERENCES)


@pytest.mark.parametrize("key", ["corpus_videos", "corpus_moments", "corpus_scores"])
def test_a_paragraph_with_part_of_the_vcmr_lists_is_named(key):
    predictions = _with_corpus()
    predictions[1] = {**predictions[1], key: None}
    with _raises(f"paragraph 1: {_ALL_OR_NONE}"):
        EvaluationInputs.from_records(predictions, REFERENCES)


@pytest.mark.parametrize("key", ["corpus_videos", "corpus_moments", "corpus_scores"])
def test_vcmr_lists_with_another_number_of_sentences_are_named(key):
    predictions = _with_corpus()
    predictions[1] = {**predictions[1], key: predictions[1][key][:2]}
    with _raises(f"paragraph 1: {key} has 2 sentences, timestamps has 3"):
        EvaluationInputs.from_records(predictions, REFERENCES)


@pytest.mark.parametrize("key", ["corpus_videos", "corpus_moments", "corpus_scores"])
def test_an_empty_vcmr_list_is_named(key):
    predictions = _with_corpus()
    predictions[0] = {**predictions[0], key: [predictions[0][key][0], []]}
    with _raises(f"paragraph 0, sentence 1: {key} is empty"):
        EvaluationInputs.from_records(predictions, REFERENCES)


@pytest.mark.parametrize(
    ("num_predictions", "num_references"), [(0, 0), (2, 1), (1, 2), (0, 2)], ids=["none", "more", "fewer", "no-pred"]
)
def test_no_records_or_mismatched_counts_are_refused(num_predictions, num_references):
    message = (
        f"expected one prediction per reference and at least one, got {num_predictions} predictions and"
        f" {num_references} references"
    )
    with _raises(message):
        EvaluationInputs.from_records((PREDICTIONS * 2)[:num_predictions], (REFERENCES * 2)[:num_references])


@pytest.mark.parametrize(("paragraph", "num_videos"), [(1, 2), (2, 4)])
def test_video_scores_of_another_length_name_the_paragraph(paragraph, num_videos):
    predictions = [*PREDICTIONS, PREDICTIONS[0]]
    predictions[paragraph] = {**predictions[paragraph], "video_scores": [0.5] * num_videos}
    with _raises(f"paragraph {paragraph}: video_scores has {num_videos} videos, paragraph 0 has 3"):
        EvaluationInputs.from_records(predictions, [*REFERENCES, REFERENCES[0]])


def test_empty_timestamps_name_the_paragraph():
    references = [REFERENCES[0], {"video_index": 1, "timestamps": []}]
    with _raises("paragraph 1: no sentences (empty timestamps)"):
        EvaluationInputs.from_records(PREDICTIONS, references)


@pytest.mark.parametrize(("paragraph", "sentence"), [(0, 0), (1, 2)])
def test_a_sentence_without_predicted_moments_is_named(paragraph, sentence):
    predictions = [dict(p) for p in PREDICTIONS]
    moments = list(predictions[paragraph]["moments"])
    moments[sentence] = []
    predictions[paragraph]["moments"] = moments
    with _raises(f"paragraph {paragraph}, sentence {sentence}: moments is empty"):
        EvaluationInputs.from_records(predictions, REFERENCES)


@pytest.mark.parametrize("num_sentences", [2, 4])
def test_moments_of_another_number_of_sentences_are_named(num_sentences):
    moments = (PREDICTIONS[1]["moments"] * 2)[:num_sentences]
    predictions = [PREDICTIONS[0], {**PREDICTIONS[1], "moments": moments}]
    with _raises(f"paragraph 1: moments has {num_sentences} sentences, timestamps has 3"):
        EvaluationInputs.from_records(predictions, REFERENCES)


def test_evaluate_is_evaluate_all_on_the_same_arrays():
    results = EvaluationInputs.from_records(PREDICTIONS, REFERENCES).evaluate()
    assert list(results) == ["vprg", "retrieval", "grounding"], "every protocol whose inputs are given"
    assert results == evaluate_all(**EXPECTED)
    assert results["retrieval"]["R@1"] == 50.0, "paragraph 0's video ranks first, paragraph 1's second"


def test_evaluate_with_vcmr_lists_and_options_is_evaluate_all_with_them():
    inputs = EvaluationInputs.from_records(_with_corpus(), REFERENCES)
    results = inputs.evaluate()
    assert list(results) == ["vprg", "vcmr", "retrieval", "grounding"]
    assert results == evaluate_all(**EXPECTED, corpus_candidates=EXPECTED_CORPUS)
    options = {"protocols": ["grounding", "vcmr"], "vprg_top_n": 2, "thresholds": (0.3, 0.7)}
    chosen = inputs.evaluate(**options)
    assert chosen == evaluate_all(**EXPECTED, corpus_candidates=EXPECTED_CORPUS, **options)
    assert list(chosen) == ["vcmr", "grounding"] and list(chosen["vcmr"])[:2] == ["R@1,IoU=0.3", "R@1,IoU=0.7"]
    vprg = {"protocols": ["vprg"], "vprg_top_n": 3, "thresholds": (0.7,)}
    assert inputs.evaluate(**vprg) == evaluate_all(**EXPECTED, **vprg)
    assert inputs.evaluate(**vprg) != inputs.evaluate(protocols=["vprg"], thresholds=(0.7,)), "vprg_top_n is passed"
