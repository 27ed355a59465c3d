"""Model folders for sharing: save_for_hub, finishing a trained folder, and the check before a push."""

from __future__ import annotations

import json

import pytest

from dmr_jrg_hf.errors import DataFormatError
from dmr_jrg_hf.hub import complete_model_folder
from dmr_jrg_hf.hub.model_folder import check_model_folder
from dmr_jrg_hf.hub.remote_code import remote_code_sources
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor


def test_saved_folder_is_complete_and_safetensors_only(saved):
    folder = saved.folder
    assert check_model_folder(folder) == folder
    processor_config = json.loads((folder / "processor_config.json").read_text())
    assert processor_config["video_feature_spec"] == {"name": "i3d", "rate_per_second": 1.0}
    assert (folder / "word_vectors.safetensors").is_file() and (folder / "vocab.json").is_file()
    assert "| DMR-JRG (this model) | 12.50 |" in (folder / "README.md").read_text(), "the evaluation on the card"
    assert not [p for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pkl")], "no pickle files"


def test_check_model_folder_rejects_pickles_and_missing_files(saved, tmp_path):
    with pytest.raises(DataFormatError, match="missing config.json"):
        check_model_folder(tmp_path)
    (saved.folder / "pytorch_model.bin").write_bytes(b"pickle")
    try:
        with pytest.raises(DataFormatError, match=r"pickle-based files \['pytorch_model.bin'\]"):
            check_model_folder(saved.folder)
    finally:
        (saved.folder / "pytorch_model.bin").unlink()


def test_complete_model_folder_adds_code_and_card_to_a_trained_folder(saved, tmp_path):
    DMRJRGModel.from_pretrained(saved.folder).save_pretrained(tmp_path)
    DMRJRGProcessor.from_pretrained(saved.folder).save_pretrained(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps({"model": {"retrieval": {"R@1": 33.0}}}))
    with pytest.raises(DataFormatError, match=r"missing README.md; .*hub.complete_model_folder\(folder\)"):
        check_model_folder(tmp_path)
    complete_model_folder(tmp_path, model_name="tiny")
    assert check_model_folder(tmp_path) == tmp_path
    assert set(remote_code_sources()) <= {path.name for path in tmp_path.iterdir()}, "every remote code file"
    assert "| DMR-JRG (this model) | 33.00 |" in (tmp_path / "README.md").read_text(), "results.json on the card"


def test_complete_model_folder_needs_a_saved_model(tmp_path):
    with pytest.raises(DataFormatError, match="no config.json; not a saved DMR-JRG model folder"):
        complete_model_folder(tmp_path)
