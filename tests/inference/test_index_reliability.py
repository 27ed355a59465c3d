"""Failure paths of the corpus index: damaged folders, a folder already used, another model, an empty source.

Each case asserts the error class, that the message names the item, and that the index folder on disk is unchanged.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import folder_snapshot
from safetensors.numpy import load_file, save_file

from dmr_jrg_hf.cli import main
from dmr_jrg_hf.errors import DataFormatError, InputError
from dmr_jrg_hf.inference import VideoCorpusIndex, retrieve
from dmr_jrg_hf.inference.fingerprint import model_fingerprint
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel

PARAGRAPH = ["the woman carries the towel in the garden", "after that the woman opens the bottle"]


@pytest.fixture(scope="module")
def saved(model_and_processor, test_features, tmp_path_factory):
    """A saved model folder and an index folder built with it."""
    model, processor = model_and_processor
    root = tmp_path_factory.mktemp("saved")
    model.save_pretrained(root / "model")
    processor.save_pretrained(root / "model")
    VideoCorpusIndex.build(model, processor, test_features, show_progress=False).save(root / "index")
    return root


def _copy_index(saved, tmp_path):
    import shutil

    return shutil.copytree(saved / "index", tmp_path / "index")


@pytest.mark.parametrize("backend", ["exact", "faiss"])
def test_nan_embeddings_are_rejected_at_load(saved, tmp_path, backend):
    folder = _copy_index(saved, tmp_path)
    tensors = load_file(str(folder / "index.safetensors"))
    tensors["embeddings"][3, 0] = np.nan
    save_file(tensors, str(folder / "index.safetensors"))
    video_id = json.loads((folder / "index.json").read_text())["video_ids"][3]
    with pytest.raises(DataFormatError, match=rf"video '{video_id}' has NaN or Inf in its embeddings"):
        VideoCorpusIndex.load(folder, backend=backend)


@pytest.mark.parametrize("name", ["index.safetensors", "index.json"])
def test_truncated_index_files_are_named(saved, tmp_path, name):
    folder = _copy_index(saved, tmp_path)
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=rf"{folder / name}: not (a complete safetensors file|valid JSON)"):
        VideoCorpusIndex.load(folder)


def test_index_records_the_model_and_refuses_another(model_and_processor, saved, tmp_path):
    model, processor = model_and_processor
    index = VideoCorpusIndex.load(saved / "index")
    assert (
        index.model_fingerprint
        == model_fingerprint(model)
        == model_fingerprint(DMRJRGModel.from_pretrained(saved / "model"))
    )
    torch.manual_seed(123)
    other = DMRJRGModel(model.config).eval()
    other.set_word_vectors(processor.word_vectors)
    with pytest.raises(InputError, match=rf"built by another model \(fingerprint {index.model_fingerprint}"):
        retrieve(other, processor, PARAGRAPH, index, top_k=2)
    lenient = VideoCorpusIndex.load(saved / "index", allow_model_mismatch=True)
    assert len(retrieve(other, processor, PARAGRAPH, lenient, top_k=2)) == 2


def test_saving_over_an_index_needs_overwrite(model_and_processor, test_features, saved, tmp_path):
    model, processor = model_and_processor
    folder = _copy_index(saved, tmp_path)
    before = folder_snapshot(folder)
    smaller = dict(list(test_features.items())[:3])
    index = VideoCorpusIndex.build(model, processor, smaller, show_progress=False)
    with pytest.raises(DataFormatError, match=rf"{folder}: an index is already there; pass overwrite=True"):
        index.save(folder)
    assert folder_snapshot(folder) == before
    index.save(folder, overwrite=True)
    assert len(VideoCorpusIndex.load(folder)) == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["index"], "no staging folder left behind"


def test_a_folder_with_other_files_is_never_replaced(model_and_processor, test_features, tmp_path):
    model, processor = model_and_processor
    (tmp_path / "notes.txt").write_text("mine")
    index = VideoCorpusIndex.build(model, processor, test_features, show_progress=False)
    with pytest.raises(DataFormatError, match=rf"{tmp_path}: folder is not empty and holds no index"):
        index.save(tmp_path, overwrite=True)
    assert folder_snapshot(tmp_path) == {"notes.txt": folder_snapshot(tmp_path)["notes.txt"]}


def test_a_failed_save_leaves_the_old_index(model_and_processor, test_features, saved, tmp_path, monkeypatch):
    model, processor = model_and_processor
    folder = _copy_index(saved, tmp_path)
    before = folder_snapshot(folder)
    index = VideoCorpusIndex.build(model, processor, test_features, show_progress=False)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("dmr_jrg_hf.inference.index_files.save_file", fail)
    with pytest.raises(OSError, match="disk full"):
        index.save(folder, overwrite=True)
    assert folder_snapshot(folder) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["index"], "the staging folder is removed"


@pytest.mark.parametrize("source", ["empty dict", "empty npy folder"])
def test_an_empty_feature_source_is_an_error(model_and_processor, tmp_path, source):
    model, processor = model_and_processor
    features = {} if source == "empty dict" else tmp_path / "features"
    if source != "empty dict":
        features.mkdir()
    with pytest.raises(InputError, match="no video to index \\(0 videos\\)"):
        VideoCorpusIndex.build(model, processor, features, feature_rate=1.0, show_progress=False)


def test_cli_index_refuses_a_used_folder_then_adds_and_overwrites(saved, test_features, tmp_path, capsys):
    folder = _copy_index(saved, tmp_path)
    before = folder_snapshot(folder)
    features = tmp_path / "features"
    features.mkdir()
    extra = {f"extra{i}": array for i, array in enumerate(list(test_features.values())[:2])}
    for video_id, array in extra.items():
        np.save(features / f"{video_id}.npy", array)
    base = ["index", "--model", str(saved / "model"), "--features", str(features), "--output-dir", str(folder), "-q"]
    assert main(base) == 1
    assert f"{folder}: an index is already there" in capsys.readouterr().err
    assert folder_snapshot(folder) == before
    assert main([*base, "--add"]) == 0
    assert json.loads(capsys.readouterr().out)["videos"] == len(test_features) + 2
    assert main([*base, "--overwrite"]) == 0
    assert VideoCorpusIndex.load(folder).video_ids == sorted(extra)


def test_cli_index_add_keeps_the_saved_backend(saved, test_features, tmp_path, capsys):
    folder, features = tmp_path / "index", tmp_path / "features"
    features.mkdir()
    for index, array in enumerate(list(test_features.values())[:3]):
        np.save(features / f"video{index}.npy", array)
    base = ["index", "--model", str(saved / "model"), "--features", str(features), "--output-dir", str(folder), "-q"]
    assert main([*base, "--backend", "int8", "--feature-rate", "1"]) == 0
    more = tmp_path / "more"
    more.mkdir()
    np.save(more / "video9.npy", list(test_features.values())[3])
    added = ["index", "--model", str(saved / "model"), "--features", str(more), "--output-dir", str(folder)]
    assert main([*added, "--add", "--feature-rate", "1", "-q"]) == 0
    capsys.readouterr()
    reloaded = VideoCorpusIndex.load(folder)
    assert len(reloaded) == 4 and reloaded.backend == "int8", "--add without --backend keeps the index's backend"


def test_cli_search_with_another_model_says_so(saved, model_and_processor, tmp_path, capsys):
    model, processor = model_and_processor
    torch.manual_seed(5)
    other = DMRJRGModel(model.config)
    other.set_word_vectors(processor.word_vectors)
    other.save_pretrained(tmp_path / "other")
    processor.save_pretrained(tmp_path / "other")
    base = ["search", "--model", str(tmp_path / "other"), "--index", str(saved / "index"), "--top-k", "2"]
    assert main([*base, ". ".join(PARAGRAPH)]) == 1
    assert "index was built by another model" in capsys.readouterr().err
    assert main([*base, "--allow-model-mismatch", "--json", ". ".join(PARAGRAPH)]) == 0
