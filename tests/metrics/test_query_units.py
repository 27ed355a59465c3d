"""single_sentence_queries: each sentence of a paragraph becomes its own one-sentence query row."""

from __future__ import annotations

import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.metrics import single_sentence_queries

ROWS = [
    {
        "video_id": "a",
        "duration": 30.0,
        "split": "test",
        "sentences": ["a man opens the door", "he walks out", "the dog barks"],
        "timestamps": [[0.0, 4.0], [4.0, 12.5], [20.0, 30.0]],
    },
    {"video_id": "b", "duration": 12.0, "split": "test", "sentences": ["she cuts bread"], "timestamps": [[1.0, 5.0]]},
]


def test_every_sentence_becomes_one_query_with_its_video_and_moment():
    queries = single_sentence_queries(ROWS)
    assert [query["sentences"] for query in queries] == [[s] for row in ROWS for s in row["sentences"]]
    assert [query["timestamps"] for query in queries] == [[t] for row in ROWS for t in row["timestamps"]]
    assert [query["video_id"] for query in queries] == ["a", "a", "a", "b"]
    assert [query["duration"] for query in queries] == [30.0, 30.0, 30.0, 12.0]
    assert all(query["split"] == "test" for query in queries), "other fields are kept"


def test_one_sentence_paragraphs_are_unchanged_and_the_input_is_not_modified():
    assert single_sentence_queries(ROWS[1:]) == ROWS[1:]
    assert len(ROWS[0]["sentences"]) == 3


def test_mismatched_sentences_and_timestamps_are_an_error():
    with pytest.raises(InputError, match="row 0: 2 sentences but 1 timestamps"):
        single_sentence_queries([{"video_id": "a", "sentences": ["x", "y"], "timestamps": [[0, 1]]}])
