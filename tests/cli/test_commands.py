from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from dmr_jrg_hf.cli import main, parse_overrides
from dmr_jrg_hf.errors import ConfigError
from dmr_jrg_hf.hub.model_folder import check_model_folder, completion_files


@pytest.mark.slow
def test_help_lists_subcommands():
    result = subprocess.run([sys.executable, "-m", "dmr_jrg_hf.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for command in ("demo", "prepare", "train", "evaluate", "bench"):
        assert command in result.stdout, command


def test_parse_overrides():
    assert parse_overrides(["hidden_size=64", "map_scale_layers=[16, 8]", "supervision=full", "dropout=0.2"]) == {
        "hidden_size": 64,
        "map_scale_layers": [16, 8],
        "supervision": "full",
        "dropout": 0.2,
    }
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["hidden_size"])


def test_package_errors_exit_1_with_message(capsys):
    assert main(["train", "--preset", "activitynett", "--max-train-paragraphs", "4", "-q"]) == 1
    assert "dmr-jrg train: error: unknown preset 'activitynett'" in capsys.readouterr().err


def test_unknown_config_field_is_named(capsys):
    assert main(["train", "--set", "hiden_size=8", "--max-train-paragraphs", "4", "-q"]) == 1
    assert "did you mean 'hidden_size'" in capsys.readouterr().err


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as error:
        main(["train", "--mixed-precision", "fp8"])
    assert error.value.code == 2


@pytest.mark.slow
def test_train_then_evaluate_on_synthetic(tmp_path, capsys):
    run = tmp_path / "run"
    arguments = ["--max-train-paragraphs", "8", "--max-eval-paragraphs", "4", "-q"]
    assert main(["train", "--preset", "tiny", "--epochs", "1", "--output-dir", str(run), *arguments]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs"] == 1 and len(summary["history"]) == 1
    output = tmp_path / "eval.json"
    command = ["evaluate", "--model", str(run), "--split", "validation", "--output", str(output), "--baselines"]
    assert main([*command, "--max-eval-paragraphs", "4", "--protocols", "retrieval", "vprg", "-q"]) == 0
    results = json.loads(output.read_text())
    assert set(results["model"]) == {"retrieval", "vprg"}
    assert results["model"]["vprg"] == summary["history"][0]["results"]["vprg"], "saved model differs from the run"
    assert "query_free_saliency" in results["baselines"]


@pytest.mark.slow
def test_train_logs_and_saves_its_objective(tmp_path, caplog):
    arguments = ["--preset", "tiny", "--epochs", "1", "--max-train-paragraphs", "4", "--eval-every", "0", "-q"]
    with caplog.at_level(logging.INFO, logger="dmr_jrg_hf.training.trainer"):
        assert main(["train", *arguments, "--objective", "grounding", "--output-dir", str(tmp_path)]) == 0
    assert "objective grounding, supervision weak" in caplog.text
    saved = json.loads((tmp_path / "config.json").read_text())
    assert (saved["objective"], saved["clip_alignment_weight"]) == ("grounding", 1.0)
    assert "Objective `grounding`" in (tmp_path / "README.md").read_text(), "the model card names it"
    assert check_model_folder(tmp_path) and all((tmp_path / name).is_file() for name in completion_files()), "to share"


@pytest.mark.slow
@pytest.mark.portability
def test_the_same_seed_trains_the_same_weights(tmp_path, capsys):
    arguments = ["--preset", "tiny", "--epochs", "1", "--max-train-paragraphs", "8", "--eval-every", "0", "-q"]
    weights = []
    for index, run in enumerate(("first", "second")):
        torch.manual_seed(100 + index)  # whatever state the caller left, --seed decides
        assert main(["train", *arguments, "--seed", "3", "--output-dir", str(tmp_path / run)]) == 0
        weights.append(load_file(tmp_path / run / "model.safetensors"))
    capsys.readouterr()
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0]), "same seed, other weights"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_process_cpu_training_gathers_metrics(tmp_path):
    """torchrun with 2 CPU processes (gloo): trains, and the gathered validation metrics equal one process's."""
    run, summary = tmp_path / "run", tmp_path / "summary.json"
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port())),
        *("-m", "dmr_jrg_hf.cli", "train", "--preset", "tiny", "--epochs", "2", "--batch-size", "4"),
        *("--set", "lr_decay_epochs=1", "--set", "learning_rate=0.001"),
        *("--max-train-paragraphs", "16", "--max-eval-paragraphs", "7", "--output-dir", str(run)),
        *("--output", str(summary), "-q"),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "processes 2" in result.stderr, "the run did not use two processes"
    report = json.loads(summary.read_text())
    gathered = report["history"][report["best_epoch"] - 1]["results"]  # the saved model holds the best epoch
    import torch

    schedule = torch.load(run / "checkpoints" / "epoch-0002" / "scheduler.bin", weights_only=False)
    assert schedule["_last_lr"][0] == pytest.approx(1e-3 * 0.8**2), "the LR must decay once per epoch, not per process"

    from dmr_jrg_hf.data.synthetic import generate_synthetic_benchmark
    from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
    from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor
    from dmr_jrg_hf.training import evaluate_model

    benchmark = generate_synthetic_benchmark(seed=0)
    single = evaluate_model(
        DMRJRGModel.from_pretrained(run),
        DMRJRGProcessor.from_pretrained(run),
        benchmark.paragraphs["validation"][:7],
        benchmark.features,
        protocols=list(gathered),
        show_progress=False,
    )
    for protocol, metrics in single.items():
        for name, value in metrics.items():
            assert gathered[protocol][name] == pytest.approx(value, abs=1e-6), f"{protocol}/{name}"


@pytest.mark.slow
def test_bench_reports_a_model_step(capsys, tmp_path):
    output = tmp_path / "bench.json"
    args = ["bench", "model", "--presets", "tiny", "--steps", "1", "--ablations", "base", "--ablation-preset", "tiny"]
    threads = str(torch.get_num_threads())  # the suite sets torch's thread count for the process
    assert (
        main([*args, "--matmul-size", "64", "--bandwidth-mb", "1", "--threads", threads, "--output", str(output)]) == 0
    )
    report = json.loads(output.read_text())
    assert report["sections"] == ["model"] and [row["name"] for row in report["model"]] == ["tiny", "tiny/base"]
    assert report["model"][0]["batch_size"] == 4 and report["model"][0]["num_clips"] == 8
    assert report["model"][0]["num_parameters"] > 0 and report["model"][0]["mean_step_seconds"] > 0
    table = capsys.readouterr().out
    assert "limits: matmul fp32" in table and "tiny/base" in table, table
