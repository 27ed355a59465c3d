"""`dmr-jrg` on bad input: every expected failure is one `error:` line and exit code 1 (2 for usage), the traceback
only with -v, and the folders on disk are unchanged."""

from __future__ import annotations

import json
import logging
import re
import shutil

import numpy as np
import pytest
import torch
from helpers import folder_snapshot, save_tiny_model

from dmr_jrg_hf.cli import main

TRAIN = ["train", "--preset", "tiny", "--max-train-paragraphs", "4", "--max-eval-paragraphs", "2", "-q"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("cli") / "model")


@pytest.fixture(scope="module")
def features_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features")
    rng = np.random.default_rng(0)
    for index in range(3):
        np.save(folder / f"v{index}.npy", rng.random((20, 12), dtype=np.float32))
    return folder


def _index(model, features, output) -> list[str]:
    return [
        "index",
        "--model",
        str(model),
        "--features",
        str(features),
        "--feature-rate",
        "1",
        "--output-dir",
        str(output),
    ]


def _error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1 and "Traceback" not in err, f"one error line, no traceback:\n{err}"
    return lines[0]


def _damaged_model(model_dir, tmp_path, damage: str):
    folder = shutil.copytree(model_dir, tmp_path / "model")
    if damage == "missing config.json":
        (folder / "config.json").unlink()
    elif damage == "garbage config.json":
        (folder / "config.json").write_text("{not json")
    elif damage == "another model_type":
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(dict(config, model_type="bert")))
    elif damage == "truncated model.safetensors":
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    return folder


MODEL_DAMAGES = {
    "missing config.json": "missing config.json",
    "garbage config.json": r"config.json: not valid JSON \(Expecting property name",
    "another model_type": "config has model_type 'bert', expected 'dmr_jrg'",
    "truncated model.safetensors": "model.safetensors: not a complete safetensors file",
}


@pytest.mark.parametrize("damage", list(MODEL_DAMAGES))
@pytest.mark.parametrize("command", ["evaluate", "index", "search"])
def test_a_damaged_model_folder_is_one_error_line(model_dir, features_dir, tmp_path, capsys, damage, command):
    folder = _damaged_model(model_dir, tmp_path, damage)
    arguments = {
        "evaluate": ["evaluate", "--model", str(folder), "--max-eval-paragraphs", "2", "-q"],
        "index": _index(folder, features_dir, tmp_path / "i"),
        "search": ["search", "--model", str(folder), "--index", str(tmp_path / "i"), "a man opens the door."],
    }[command]
    before = folder_snapshot(folder)
    assert main(arguments) == 1
    line = _error(capsys)
    assert line.startswith(f"dmr-jrg {command}: error: ") and re.search(MODEL_DAMAGES[damage], line), line
    assert folder_snapshot(folder) == before and not (tmp_path / "i").exists()


def test_a_model_path_that_does_not_exist(tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "nowhere"), "-q"]) == 1
    assert f"model folder {tmp_path / 'nowhere'} does not exist" in _error(capsys)
    assert main(["evaluate", "--model", "nowhere/model", "-q"]) == 1, "a Hub id, offline"
    assert "nowhere/model" in _error(capsys)


def test_a_truncated_index_is_named(model_dir, features_dir, tmp_path, capsys):
    index = tmp_path / "index"
    assert main(_index(model_dir, features_dir, index)) == 0
    capsys.readouterr()
    for name in ("index.json", "index.safetensors"):
        damaged = shutil.copytree(index, tmp_path / f"damaged-{name}")
        data = (damaged / name).read_bytes()
        (damaged / name).write_bytes(data[: len(data) // 2])
        assert main(["search", "--model", str(model_dir), "--index", str(damaged), "a man opens the door."]) == 1
        assert f"{damaged / name}: not" in _error(capsys), name


@pytest.mark.parametrize("content", [b"{bad json", b"[1, 2]", b"\xff\xfe{}"], ids=["garbage", "a list", "not UTF-8"])
def test_garbage_durations_and_config_files(model_dir, features_dir, tmp_path, capsys, content):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    index = _index(model_dir, features_dir, tmp_path / "i")
    assert main([*index, "--durations", str(bad)]) == 1
    assert str(bad) in _error(capsys)
    assert main([*TRAIN, "--config", str(bad), "--output-dir", str(tmp_path / "run")]) == 1
    assert str(bad) in _error(capsys)
    assert not (tmp_path / "i").exists() and not (tmp_path / "run").exists()


def test_output_pointing_at_a_folder_is_refused_before_the_work(tmp_path, capsys):
    (tmp_path / "results").mkdir()
    run = tmp_path / "run"
    assert main([*TRAIN, "--epochs", "1", "--output-dir", str(run), "--output", str(tmp_path / "results")]) == 1
    assert f"--output {tmp_path / 'results'} is a folder" in _error(capsys)
    assert not run.exists(), "checked before training"


@pytest.mark.parametrize(
    "arguments",
    [
        ["train", "--epochs", "0"],
        ["train", "--batch-size", "0"],
        ["train", "--max-train-paragraphs", "0"],
        ["train", "--max-eval-paragraphs", "0"],
        ["train", "--threads", "0"],
        ["search", "x", "--model", "m", "--index", "i", "--top-k", "-1"],
        ["search", "x", "--model", "m", "--index", "i", "--moments-per-sentence", "0"],
        ["index", "--model", "m", "--features", "f", "--output-dir", "o", "--batch-size", "1.5"],
    ],
    ids=lambda arguments: " ".join(arguments[:1] + arguments[-2:]),
)
def test_zero_and_negative_counts_are_usage_errors(capsys, arguments):
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {arguments[-2]}: expected a positive integer, got '{arguments[-1]}'" in err


def test_verbose_shows_the_traceback(tmp_path, capsys):
    assert main(["-v", "evaluate", "--model", str(tmp_path / "nowhere"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ConfigError" in err
    assert err.rstrip().endswith(f"dmr-jrg evaluate: error: model folder {tmp_path / 'nowhere'} does not exist")


def test_threads_are_set_and_logged(model_dir, features_dir, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="dmr_jrg_hf")
    previous = torch.get_num_threads()
    try:
        arguments = [*_index(model_dir, features_dir, tmp_path / "index"), "--threads", "1", "-q"]
        assert main(arguments) == 0
        assert torch.get_num_threads() == 1
        assert "torch uses 1 thread(s) (--threads)" in caplog.text
    finally:
        torch.set_num_threads(previous)


def test_a_used_folder_is_refused_before_any_data_is_read(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("a previous run")
    missing = tmp_path / "no-annotations"
    command = ["train", "--benchmark", "charades_sta", "--annotations", str(missing), "--output-dir", str(tmp_path)]
    assert main(command) == 1
    assert f"output folder {tmp_path} is not empty (notes.txt)" in _error(capsys), "the folder, not the data"


@pytest.mark.slow  # four CLI runs, each generating the synthetic benchmark (the trainer tests cover the logic fast)
def test_train_into_a_used_folder(tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*TRAIN, "--epochs", "1", "--output-dir", str(run)]) == 0
    capsys.readouterr()
    before = folder_snapshot(run)
    assert main([*TRAIN, "--epochs", "2", "--output-dir", str(run)]) == 1
    assert f"output folder {run} is not empty" in _error(capsys)
    assert folder_snapshot(run) == before
    assert main([*TRAIN, "--epochs", "2", "--output-dir", str(run), "--resume", "latest"]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"] == 2
    assert main([*TRAIN, "--epochs", "1", "--output-dir", str(run), "--overwrite"]) == 0
    assert sorted(path.name for path in (run / "checkpoints").iterdir()) == ["epoch-0001"]
