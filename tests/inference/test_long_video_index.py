"""The corpus index with long videos: window features stored and saved, grounding from them, window retrieval."""

from __future__ import annotations

import importlib.util
import json
import logging

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from dmr_jrg_hf.feature_extraction_dmr_jrg import window_starts
from dmr_jrg_hf.inference import DMRJRGPredictor, VideoCorpusIndex, ground, retrieve_and_ground
from dmr_jrg_hf.inference.index_windows import WINDOW_TENSORS, IndexWindows
from dmr_jrg_hf.inference.long_videos import is_long_video
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor

LONG_DURATIONS = {"long_a": 400, "long_b": 700}  # seconds, 1 feature per second


@pytest.fixture(scope="module")
def long_features(test_features):
    rng = np.random.default_rng(5)
    return {
        **test_features,
        **{video_id: rng.random((seconds, 12), dtype=np.float32) for video_id, seconds in LONG_DURATIONS.items()},
    }


@pytest.fixture(scope="module")
def long_index(model_and_processor, long_features):
    model, processor = model_and_processor
    return VideoCorpusIndex.build(model, processor, long_features, batch_size=5, show_progress=False)


def _unit(rng, rows, dim=8):
    vectors = rng.standard_normal((rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _processor_without_chunking(processor: DMRJRGProcessor) -> DMRJRGProcessor:
    return processor.with_settings(long_video_window_seconds=None)


def test_long_videos_get_their_windows(model_and_processor, long_features, long_index):
    _, processor = model_and_processor
    for position, video_id in enumerate(long_index.video_ids):
        duration = float(long_index.durations[position])
        expected = 0
        if is_long_video(processor, duration):
            expected = len(
                window_starts(
                    len(long_features[video_id]),
                    duration,
                    processor.long_video_window_seconds,
                    processor.long_video_overlap,
                )[0]
            )
        assert long_index.windows.counts[position] == expected, f"video {video_id}"
    assert long_index.windows.counts[long_index.positions(["long_b"])[0]] == 12, "700 s in 108.78 s windows"
    total = int(long_index.windows.counts.sum())
    assert long_index.windows.clip_features.shape == (total, 8, 12)
    assert long_index.windows.embeddings.shape == (total, 16)
    norms = np.linalg.norm(long_index.windows.embeddings, axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5, err_msg="window embeddings are L2-normalised")


def test_index_grounding_equals_grounding_the_features(model_and_processor, long_features, long_index):
    """retrieve_and_ground reads the stored windows: the same moments as ground() on the original features."""
    model, processor = model_and_processor
    paragraph = ["the man opens the box", "the man holds the cup"]
    results = retrieve_and_ground(model, processor, paragraph, long_index, top_k=len(long_index))
    for result in results:
        video_id = result.hit.video_id
        direct = ground(model, processor, paragraph, long_features[video_id], result.duration, batch_size=1)
        for found, expected in zip(result.sentences, direct, strict=True):
            assert found.moments[0].start == pytest.approx(expected.moments[0].start), video_id
            assert found.moments[0].end == pytest.approx(expected.moments[0].end), video_id
            assert found.moments[0].score == pytest.approx(expected.moments[0].score, abs=1e-6), video_id
    long_ends = [r.sentences[0].moments[0].end for r in results if r.hit.video_id in LONG_DURATIONS]
    assert len(long_ends) == 2 and all(end <= 700.0 for end in long_ends)


def test_round_trip_with_long_videos(model_and_processor, long_index, tmp_path):
    model, processor = model_and_processor
    long_index.save(tmp_path / "index")
    stored = load_file(str(tmp_path / "index" / "index.safetensors"))
    assert set(WINDOW_TENSORS.values()) <= set(stored), "the window tensors are saved"
    loaded = VideoCorpusIndex.load(tmp_path / "index")
    for name in WINDOW_TENSORS:
        np.testing.assert_array_equal(getattr(loaded.windows, name), getattr(long_index.windows, name), err_msg=name)
    assert loaded.long_video_retrieval == long_index.long_video_retrieval == "best_window"
    paragraph = ["the man opens the box"]
    predictor = DMRJRGPredictor(model, processor, loaded)
    assert predictor.retrieve_and_ground(paragraph, top_k=3) == retrieve_and_ground(
        model, processor, paragraph, long_index, top_k=3
    )
    pooled = VideoCorpusIndex.load(tmp_path / "index", long_video_retrieval="pooled")
    assert pooled.long_video_retrieval == "pooled"


def test_remove_and_add_keep_the_windows_aligned(model_and_processor, long_features, long_index, tmp_path):
    model, processor = model_and_processor
    long_index.save(tmp_path / "index")
    edited = VideoCorpusIndex.load(tmp_path / "index")
    removed = ["long_a", next(iter(long_features))]
    edited.remove(removed)
    remaining = long_index.windows.counts.sum() - long_index.windows.counts[long_index.positions(removed)].sum()
    assert "long_a" not in edited and edited.windows.counts.sum() == remaining
    assert len(edited.windows.embeddings) == remaining
    edited.add(model, processor, {"long_a": long_features["long_a"]}, show_progress=False)
    rows = edited.windows.rows(edited.positions(["long_a"])[0])
    original = long_index.windows.rows(long_index.positions(["long_a"])[0])
    np.testing.assert_array_equal(edited.windows.clip_features[rows], long_index.windows.clip_features[original])
    np.testing.assert_array_equal(edited.windows.offsets[rows], long_index.windows.offsets[original])


def test_a_short_video_index_file_is_unchanged(model_and_processor, test_features, tmp_path):
    model, processor = model_and_processor
    short = {v: f for v, f in test_features.items() if not is_long_video(processor, len(f))}
    VideoCorpusIndex.build(model, processor, short, show_progress=False).save(tmp_path / "index")
    assert set(load_file(str(tmp_path / "index" / "index.safetensors"))) == {
        "embeddings",
        "durations",
        "clip_features",
    }


def test_an_index_saved_before_windows_loads_and_grounds_whole(model_and_processor, long_features, tmp_path, caplog):
    """An index written before chunked grounding (no window tensors, no long_video_retrieval) loads with no windows;
    its long videos are grounded whole, with a warning that says so."""
    model, processor = model_and_processor
    old = VideoCorpusIndex.build(
        model, _processor_without_chunking(processor), long_features, show_progress=False
    )  # what the previous code built
    old.save(tmp_path / "index")
    metadata_path = tmp_path / "index" / "index.json"
    metadata = json.loads(metadata_path.read_text())
    del metadata["long_video_retrieval"]
    metadata_path.write_text(json.dumps(metadata))
    loaded = VideoCorpusIndex.load(tmp_path / "index")
    assert not loaded.windows.counts.any() and loaded.long_video_retrieval == "best_window"
    with caplog.at_level(logging.WARNING, logger="dmr_jrg_hf.inference.search"):
        results = retrieve_and_ground(model, processor, ["the man opens the box"], loaded, top_k=len(loaded))
    assert "'long_a', 'long_b'" in caplog.text and "rebuild the index" in caplog.text
    long_result = next(r for r in results if r.hit.video_id == "long_b")
    whole = ground(
        model, _processor_without_chunking(processor), ["the man opens the box"], long_features["long_b"], 700
    )
    assert long_result.sentences[0].moments == whole[0].moments


def test_window_tensors_without_clips_are_an_error(long_index, tmp_path):
    long_index.save(tmp_path / "index")
    path = tmp_path / "index" / "index.safetensors"
    tensors = load_file(str(path))
    del tensors["window_clip_features"]
    save_file(tensors, str(path))
    with pytest.raises(ValueError, match=r"window tensors \['window_clip_features'\] are missing"):
        VideoCorpusIndex.load(tmp_path / "index")


def _window_index(backend: str = "exact") -> tuple[VideoCorpusIndex, np.ndarray]:
    """Videos v0..v5 (unit embeddings), v1 and v4 with windows; the index and a query equal to v4's window 2."""
    rng = np.random.default_rng(7)
    embeddings = _unit(rng, 6)
    counts = np.array([0, 3, 0, 0, 4, 0])
    window_embeddings = _unit(rng, 7)
    windows = IndexWindows(counts, np.arange(7.0), np.full(7, 10.0), window_embeddings, None)
    index = VideoCorpusIndex(
        [f"v{i}" for i in range(6)], embeddings, None, np.full(6, 60.0), backend=backend, windows=windows
    )
    return index, window_embeddings[3 + 2][None]


def _reference_best_window(index: VideoCorpusIndex, query: np.ndarray) -> list[int]:
    scores = []
    for position in range(len(index)):
        rows = index.windows.rows(position)
        own = index.windows.embeddings[rows] if index.windows.counts[position] else index.embeddings[[position]]
        scores.append(float((own @ query[0]).max()))
    return sorted(range(len(index)), key=lambda p: (-scores[p], p))


@pytest.mark.parametrize("backend", ["exact", "int8", "faiss"])
def test_best_window_retrieval_scores_a_long_video_by_its_best_window(backend):
    if backend == "faiss" and importlib.util.find_spec("faiss") is None:
        pytest.skip("faiss is not installed (the faiss extra)")
    index, query = _window_index(backend)
    scores, positions = index.search(query, 4)
    assert positions[0, 0] == 4 and scores[0, 0] == pytest.approx(1.0, abs=1e-5), "v4's window matches exactly"
    assert positions[0].tolist() == _reference_best_window(index, query)[:4], backend
    assert len(set(positions[0].tolist())) == 4, "each video once"
    pooled_scores, pooled = index.search(query, 6, long_video_retrieval="pooled")
    whole_video_scores = index.embeddings @ query[0]
    assert pooled[0].tolist() == np.argsort(-whole_video_scores, kind="stable").tolist(), "whole-video embeddings"
    np.testing.assert_allclose(pooled_scores[0], whole_video_scores[pooled[0]], rtol=1e-5)


def test_unknown_long_video_retrieval_lists_the_choices():
    index, query = _window_index()
    with pytest.raises(ValueError, match=r"long_video_retrieval must be one of \('best_window', 'pooled'\)"):
        index.search(query, 2, long_video_retrieval="mean")
