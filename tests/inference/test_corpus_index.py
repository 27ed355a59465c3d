"""VideoCorpusIndex: sources, save/load, add/remove, exact vs FAISS, and the checks on user features."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from dmr_jrg_hf.errors import DataFormatError, InputError
from dmr_jrg_hf.inference import VideoCorpusIndex, retrieve
from dmr_jrg_hf.inference.search import encode_paragraphs


def _build(model, processor, features, **kwargs):
    return VideoCorpusIndex.build(model, processor, features, batch_size=5, show_progress=False, **kwargs)


def _search_ids(index, model, processor, paragraphs, top_k):
    _, positions = index.search(encode_paragraphs(model, processor, paragraphs), top_k)
    return [[index.video_ids[p] for p in row] for row in positions]


def test_build_from_every_source_gives_the_same_index(model_and_processor, corpus, test_features, tmp_path):
    model, processor = model_and_processor
    reference = _build(model, processor, test_features)
    npy = tmp_path / "npy"
    npy.mkdir()
    for video_id, array in test_features.items():
        np.save(npy / f"{video_id}.npy", array)
    with h5py.File(tmp_path / "features.hdf5", "w") as handle:
        for video_id, array in test_features.items():
            handle.create_dataset(video_id, data=array)
    sources = {"npy folder": npy, "hdf5": tmp_path / "features.hdf5", "videos dataset": corpus.videos_dataset("test")}
    for name, source in sources.items():
        index = _build(model, processor, source)
        order = index.positions(reference.video_ids)
        np.testing.assert_allclose(index.embeddings[order], reference.embeddings, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(index.durations[order], reference.durations, err_msg=name)
    assert reference.embeddings.shape == (12, model.config.hidden_size)
    assert reference.clip_features.shape == (12, model.config.num_clips, model.config.feature_dim)
    norms = np.linalg.norm(reference.embeddings, axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5, err_msg="embeddings are L2-normalised")


def test_durations_come_from_the_dataset_or_the_rate(model_and_processor, corpus, test_features):
    model, processor = model_and_processor
    from_dataset = _build(model, processor, corpus.videos_dataset("test"))
    # the synthetic videos_dataset has no duration column: frames / rate (1 per second)
    expected = [len(test_features[v]) / 1.0 for v in from_dataset.video_ids]
    np.testing.assert_allclose(from_dataset.durations, expected)
    given = {video_id: 7.5 for video_id in test_features}
    assert np.all(_build(model, processor, test_features, durations=given).durations == 7.5), "explicit durations"


def test_save_load_add_remove_equals_fresh_build(model_and_processor, corpus, test_features, tmp_path):
    model, processor = model_and_processor
    paragraphs = [row["sentences"] for row in corpus.paragraphs["test"][:4]]
    video_ids = list(test_features)
    fresh = _build(model, processor, {v: test_features[v] for v in video_ids[:8]})
    edited = _build(model, processor, {v: test_features[v] for v in video_ids[:5]})
    edited.save(tmp_path / "index")
    edited = VideoCorpusIndex.load(tmp_path / "index")
    edited.add(model, processor, {v: test_features[v] for v in video_ids[5:]}, show_progress=False)
    edited.remove(video_ids[8:])
    edited.save(tmp_path / "index2")
    edited = VideoCorpusIndex.load(tmp_path / "index2")
    assert sorted(edited.video_ids) == sorted(fresh.video_ids), "same videos after add/remove"
    for top_k in (1, 3, 8):
        assert _search_ids(edited, model, processor, paragraphs, top_k) == _search_ids(
            fresh, model, processor, paragraphs, top_k
        ), f"same top-{top_k} after save/load/add/remove"
    order = edited.positions(fresh.video_ids)
    np.testing.assert_array_equal(edited.clip_features[order], fresh.clip_features, err_msg="clip features kept")
    assert not list(tmp_path.glob("index/*.pkl")) and (tmp_path / "index" / "index.safetensors").is_file()


def test_exact_and_faiss_backends_agree(model_and_processor, corpus, test_features, tmp_path):
    model, processor = model_and_processor
    exact = _build(model, processor, test_features)
    exact.save(tmp_path / "index")
    faiss_index = VideoCorpusIndex.load(tmp_path / "index", backend="faiss")
    queries = encode_paragraphs(model, processor, [row["sentences"] for row in corpus.paragraphs["test"]])
    for top_k in (1, 5, 12):
        exact_scores, exact_rows = exact.search(queries, top_k)
        faiss_scores, faiss_rows = faiss_index.search(queries, top_k)
        np.testing.assert_allclose(faiss_scores, exact_scores, atol=1e-5, err_msg=f"top-{top_k} scores")
        assert [set(r) for r in faiss_rows] == [set(r) for r in exact_rows], f"top-{top_k} videos"


def test_exact_search_matches_a_full_sort(model_and_processor, test_features):
    model, processor = model_and_processor
    index = _build(model, processor, test_features)
    queries = np.random.default_rng(0).standard_normal((3, model.config.hidden_size)).astype(np.float32)
    scores, rows = index.search(queries, 4)
    full = queries @ index.embeddings.T
    np.testing.assert_array_equal(rows, np.argsort(-full, axis=1, kind="stable")[:, :4])
    np.testing.assert_allclose(scores, np.take_along_axis(full, rows, 1), rtol=1e-6)
    assert index.search(queries, 100)[1].shape == (3, 12), "top_k is capped at the corpus size"


def test_feature_dimension_mismatch_is_rejected(model_and_processor):
    model, processor = model_and_processor
    bad = {"good": np.ones((20, 12), np.float32), "wide": np.ones((20, 7), np.float32)}
    with pytest.raises(InputError, match=r"video 'wide': features have dimension 7, but this model expects 12"):
        _build(model, processor, bad)


def test_feature_rate_mismatch_is_rejected(model_and_processor, test_features):
    model, processor = model_and_processor
    with pytest.raises(InputError, match=r"features at 2\.0 per second, but this model expects 1\.0 per second"):
        _build(model, processor, test_features, feature_rate=2.0)


def test_bad_edits_are_rejected(model_and_processor, test_features, tmp_path):
    model, processor = model_and_processor
    index = _build(model, processor, test_features)
    first = next(iter(test_features))
    with pytest.raises(InputError, match="already present"):
        index.add(model, processor, {first: test_features[first]}, show_progress=False)
    with pytest.raises(InputError, match="unknown video ids \\['nope'\\]"):
        index.remove([first, "nope"])
    assert first in index and len(index) == 12, "a failed remove removes nothing"
    with pytest.raises(DataFormatError, match="not a VideoCorpusIndex folder"):
        VideoCorpusIndex.load(tmp_path)


def test_missing_duration_is_an_error(model_and_processor, test_features):
    model, processor = model_and_processor
    processor_without_rate = type(processor)(processor.vocabulary, num_clips=8, map_scale_layers=[8], feature_dim=12)
    with pytest.raises(InputError, match="no duration"):
        _build(model, processor_without_rate, test_features)


def test_index_of_another_model_is_rejected(model_and_processor, test_features):
    from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
    from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel

    model, processor = model_and_processor
    index = _build(model, processor, test_features)
    other = DMRJRGModel(DMRJRGConfig.from_preset("tiny", hidden_size=32, vocab_size=model.config.vocab_size))
    with pytest.raises(InputError, match="hidden_size: index 16 vs model 32"):
        retrieve(other, processor, ["a man opens the door"], index)
