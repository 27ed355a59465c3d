"""retrieve / ground / retrieve_and_ground: typed results, batches, any video length, long paragraphs."""

from __future__ import annotations

import numpy as np
import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.inference import VideoCorpusIndex, ground, retrieve, retrieve_and_ground, split_sentences
from dmr_jrg_hf.results import ParagraphResult, RetrievalHit, SentenceGrounding


@pytest.fixture(scope="module")
def index(model_and_processor, test_features):
    model, processor = model_and_processor
    return VideoCorpusIndex.build(model, processor, test_features, batch_size=4, show_progress=False)


def test_split_sentences():
    assert split_sentences("A man opens the door.  He walks out! Then? ") == [
        "A man opens the door.",
        "He walks out!",
        "Then?",
    ]


def test_retrieve_single_and_batch(model_and_processor, corpus, index):
    model, processor = model_and_processor
    rows = corpus.paragraphs["test"]
    single = retrieve(model, processor, rows[0]["sentences"], index, top_k=5)
    assert all(isinstance(hit, RetrievalHit) for hit in single) and [h.rank for h in single] == [1, 2, 3, 4, 5]
    assert [h.score for h in single] == sorted((h.score for h in single), reverse=True), "best first"
    batch = retrieve(model, processor, [row["sentences"] for row in rows[:3]], index, top_k=5)
    assert len(batch) == 3 and [h.video_id for h in batch[0]] == [h.video_id for h in single], "batch = single"
    assert [h.score for h in batch[0]] == pytest.approx([h.score for h in single], abs=1e-5), "padding-free scores"
    as_text = retrieve(model, processor, " ".join(rows[0]["sentences"]).replace(" after", ". after"), index, 5)
    assert len(as_text) == 5, "a paragraph string is split into sentences"


def test_ground_moments_lie_in_the_video(model_and_processor, corpus):
    model, processor = model_and_processor
    row = corpus.paragraphs["test"][0]
    groundings = ground(
        model, processor, row["sentences"], corpus.features[row["video_id"]], row["duration"], moments_per_sentence=3
    )
    assert len(groundings) == len(row["sentences"])
    for i, grounding in enumerate(groundings):
        assert isinstance(grounding, SentenceGrounding) and grounding.sentence == row["sentences"][i]
        assert [m.rank for m in grounding.moments] == [1, 2, 3], f"sentence {i}: three ranked moments"
        for moment in grounding.moments:
            assert 0.0 <= moment.start < moment.end <= row["duration"] + 1e-6, f"sentence {i}: {moment}"
            assert 0.0 <= moment.score <= 1.0


def test_ground_works_for_any_video_length(model_and_processor):
    model, processor = model_and_processor
    rng = np.random.default_rng(0)
    paragraph = ["the man opens the box", "the man holds the cup"]
    for num_frames, duration in ((1, 0.5), (3, 3.0), (5000, 5000.0)):
        groundings = ground(model, processor, paragraph, rng.random((num_frames, 12), dtype=np.float32), duration)
        ends = [g.moments[0].end for g in groundings]
        assert all(0 < end <= duration + 1e-6 for end in ends), f"{num_frames} frames: moments inside {duration} s"


def test_more_sentences_than_seen_in_training(model_and_processor, corpus, index):
    model, processor = model_and_processor
    longest = max(len(row["sentences"]) for row in corpus.paragraphs["train"])
    sentences = [s for row in corpus.paragraphs["test"][:6] for s in row["sentences"]][: 3 * longest]
    assert len(sentences) > longest
    results = retrieve_and_ground(model, processor, sentences, index, top_k=2)
    assert len(results) == 2 and all(len(r.sentences) == len(sentences) for r in results), "every sentence grounded"
    scores = [r.hit.score for r in results]
    assert np.all(np.isfinite(scores)), "finite retrieval scores for a long paragraph"


def test_retrieve_and_ground_matches_retrieve_then_ground(model_and_processor, corpus, index, test_features):
    model, processor = model_and_processor
    rows = corpus.paragraphs["test"][:2]
    results = retrieve_and_ground(model, processor, [r["sentences"] for r in rows], index, top_k=3, batch_size=2)
    hits = retrieve(model, processor, [r["sentences"] for r in rows], index, top_k=3)
    for row, paragraph_results, paragraph_hits in zip(rows, results, hits, strict=True):
        assert [r.hit for r in paragraph_results] == paragraph_hits, "same hits as retrieve"
        for result in paragraph_results:
            assert isinstance(result, ParagraphResult)
            position = index.positions([result.hit.video_id])[0]
            direct = ground(
                model, processor, row["sentences"], test_features[result.hit.video_id], index.durations[position]
            )
            for mine, reference in zip(result.sentences, direct, strict=True):
                assert mine.moments[0].start == pytest.approx(reference.moments[0].start), result.hit.video_id
                assert mine.moments[0].score == pytest.approx(reference.moments[0].score, abs=1e-5)
    record = results[0][0].to_dict()
    assert {"video_id", "rank", "score", "duration", "sentences"} <= set(record)
    assert {"start", "end", "score", "rank"} == set(record["sentences"][0]["moments"][0])


def test_ground_rejects_features_of_another_extractor(model_and_processor):
    model, processor = model_and_processor
    with pytest.raises(InputError, match="features have dimension 2048, but this model expects 12"):
        ground(model, processor, ["the man opens the box"], np.ones((10, 2048), np.float32), 10.0)


def test_retrieve_and_ground_needs_clip_features(model_and_processor, test_features):
    model, processor = model_and_processor
    bare = VideoCorpusIndex.build(model, processor, test_features, store_clip_features=False, show_progress=False)
    assert bare.clip_features is None and len(retrieve(model, processor, ["the man opens the box"], bare, 2)) == 2
    with pytest.raises(InputError, match="no clip features"):
        retrieve_and_ground(model, processor, ["the man opens the box"], bare)
