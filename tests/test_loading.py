"""`load_pretrained` and `DMRJRGConfig` loading: each damaged model folder is the documented error class, naming the
folder or the file; the folder is left as it was."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import folder_snapshot, save_tiny_model

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.errors import ConfigError, DataFormatError
from dmr_jrg_hf.loading import load_pretrained
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("loading") / "model")


def test_a_saved_folder_loads_in_eval_mode(model_dir):
    model, processor = load_pretrained(model_dir)
    assert not model.training and processor.vocabulary.words


def test_a_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=rf"model folder {tmp_path / 'nowhere'} does not exist"):
        load_pretrained(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "damage, error, message",
    [
        ("delete", DataFormatError, "missing vocab.json"),
        ("garbage", DataFormatError, r"vocab.json: not valid JSON \(Expecting value at line 1, column 1\)"),
        ("non-utf8", DataFormatError, r"vocab.json: not UTF-8 text \(byte 0xff at byte offset 0\)"),
    ],
)
def test_damaged_processor_files_are_named(model_dir, tmp_path, damage, error, message):
    folder = shutil.copytree(model_dir, tmp_path / "model")
    path = folder / "vocab.json"
    {"delete": path.unlink, "garbage": lambda: path.write_text("oops"), "non-utf8": lambda: path.write_bytes(b"\xff")}[
        damage
    ]()
    before = folder_snapshot(folder)
    with pytest.raises(error, match=message):
        load_pretrained(folder)
    assert folder_snapshot(folder) == before


def test_a_truncated_weight_file_is_named(model_dir, tmp_path):
    folder = shutil.copytree(model_dir, tmp_path / "model")
    data = (folder / "word_vectors.safetensors").read_bytes()
    (folder / "word_vectors.safetensors").write_bytes(data[:-4])
    with pytest.raises(DataFormatError, match=r"word_vectors.safetensors: not a complete safetensors file"):
        load_pretrained(folder)


def test_another_model_type_is_an_error_not_a_warning(model_dir, tmp_path):
    folder = shutil.copytree(model_dir, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(config, model_type="bert")))
    for load in (DMRJRGConfig.from_pretrained, DMRJRGModel.from_pretrained, load_pretrained):
        with pytest.raises(ConfigError, match="config has model_type 'bert', expected 'dmr_jrg'"):
            load(folder)
    with pytest.raises(ConfigError, match="model_type 'bert'"):
        DMRJRGConfig.from_json_file(folder / "config.json")


def test_a_config_file_that_is_not_an_object(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("[1, 2]")
    with pytest.raises(DataFormatError, match=rf"{path}: expected a JSON object of config fields"):
        DMRJRGConfig.from_json_file(path)
