"""SearchSession: loading folders, the demo-model message, queries equal to retrieve_and_ground, known paragraphs."""

from __future__ import annotations

import json
import shutil

import pytest

from dmr_jrg_hf.apps.session import RESULT_COLUMNS, SearchSession, paragraph_text, result_rows
from dmr_jrg_hf.data import synthetic
from dmr_jrg_hf.errors import DataFormatError, InputError
from dmr_jrg_hf.inference import VideoCorpusIndex, retrieve_and_ground, split_sentences

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not


@pytest.fixture(scope="module")
def session(app_folders) -> SearchSession:
    return SearchSession.load(app_folders.model_dir, app_folders.index_dir, example=app_folders.example)


def test_paragraph_text_splits_back_into_the_sentences():
    sentences = ["the man opens the door", "then he leaves!", "does he come back?"]
    assert split_sentences(paragraph_text(sentences)) == [
        "the man opens the door.",
        "then he leaves!",
        "does he come back?",
    ]


def test_search_equals_retrieve_and_ground(session, app_folders):
    sentences, results = session.search(app_folders.example, top_k=3)
    index = VideoCorpusIndex.load(app_folders.index_dir)
    expected = retrieve_and_ground(session.predictor.model, session.predictor.processor, sentences, index, top_k=3)
    assert results == expected, "the session answers what retrieve_and_ground answers"
    assert sentences == split_sentences(app_folders.example)
    assert session.example == app_folders.example and "8 videos" in session.description


def test_result_rows_one_row_per_video_and_sentence(session, app_folders):
    sentences, results = session.search(app_folders.example, top_k=2)
    rows = result_rows(results)
    assert len(rows) == 2 * len(sentences) and all(len(row) == len(RESULT_COLUMNS) for row in rows)
    second = results[1]
    row = rows[len(sentences) + 1]  # second video, second sentence
    moment = second.sentences[1].moments[0]
    assert row == [
        2,
        second.hit.video_id,
        round(second.hit.score, 3),
        2,
        sentences[1],
        round(moment.start, 2),
        round(moment.end, 2),
        round(moment.score, 3),
    ]


@pytest.mark.parametrize(
    ("paragraph", "message"),
    [
        ("", "the paragraph is empty"),
        ("   \n ", "the paragraph is empty"),
        ("xyzzy plugh. the man opens it.", "xyzzy"),
    ],
)
def test_bad_paragraphs_raise_input_error(session, paragraph, message):
    with pytest.raises(InputError, match=message):
        session.search(paragraph, top_k=3)


def test_missing_demo_model_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="make demo"):
        SearchSession.load()


def test_folder_without_model_is_named(tmp_path):
    with pytest.raises(DataFormatError, match=rf"model folder {tmp_path}: missing config.json"):
        SearchSession.load(tmp_path, tmp_path)


def test_default_corpus_is_the_synthetic_test_split_with_ground_truth(app_folders, tmp_path, monkeypatch):
    """No index folder: the test split of the benchmark the demo trained on (seed from results.json) is indexed."""
    model_dir = shutil.copytree(app_folders.model_dir, tmp_path / "model")
    (model_dir / "results.json").write_text(json.dumps({"benchmark": {"name": "synthetic", "seed": 5}}))
    seeds = []

    def small_benchmark(seed: int):
        seeds.append(seed)
        return app_folders.corpus  # generated with seed 5 and the model's feature_dim

    monkeypatch.setattr(synthetic, "generate_synthetic_benchmark", small_benchmark)
    session = SearchSession.load(model_dir)
    rows = app_folders.corpus.paragraphs["test"]
    assert seeds == [5], "seed read from results.json"
    assert session.predictor.corpus.video_ids == [row["video_id"] for row in rows]
    assert session.example == paragraph_text(rows[0]["sentences"])
    shouted = [sentence.upper() + " !" for sentence in rows[1]["sentences"]]
    assert session.true_video(shouted) == rows[1]["video_id"], "known paragraph matched by its words"
    assert session.true_moments(shouted, rows[1]["video_id"]) == rows[1]["timestamps"]
    assert session.true_moments(shouted, rows[0]["video_id"]) is None, "no truth in another video"
    assert session.true_video(["someone opens the door"]) is None
