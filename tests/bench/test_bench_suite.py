"""`run_suite` on tiny sizes: the JSON schema of every section, the targets and the printed table."""

from __future__ import annotations

import json

import pytest
import torch

from dmr_jrg_hf.bench import SECTIONS, BenchSettings, check_targets, format_table, run_suite, suite
from dmr_jrg_hf.errors import ConfigError

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not

TINY = BenchSettings(
    presets=("tiny",),
    batch_size=2,
    ablation_preset="tiny",
    ablations=("base", "full"),
    ablation_batch_size=2,
    eval_paragraphs=4,
    eval_model="tiny",
    eval_batch_size=4,
    retrieval_preset="tiny",
    corpus_sizes=(100_000, 64),
    faiss_size=128,
    num_queries=2,
    ground_top_ks=(2,),
    data_mb=0.25,
    matmul_size=64,
    bandwidth_mb=1,
)
MODEL_KEYS = {
    "name", "preset", "ablation", "batch_size", "num_sentences", "num_words", "num_clips", "num_parameters",
    "step_seconds", "mean_step_seconds", "flops_per_step", "achieved_flops_per_s", "peak_fraction",
    "peak_rss_mib", "peak_rss_increase_mib", "projected_100_epochs_hours", "device", "dtype",
}  # fmt: skip


@pytest.fixture(scope="module")
def report():
    return run_suite(SECTIONS, TINY)


def test_report_schema(report):
    assert report["schema_version"] == 1 and report["sections"] == list(SECTIONS)
    assert json.loads(json.dumps(report)) == report, "JSON-ready: plain types only"
    assert report["settings"]["corpus_sizes"] == [100_000, 64] and report["settings"]["data_mb"] == 0.25
    assert set(report["section_seconds"]) == set(report["load_average"]) == {"limits", *SECTIONS}
    assert report["limits"]["matmul_size"] == 64 and report["limits"]["bandwidth_bytes"] == 2**20
    assert [row["name"] for row in report["model"]] == ["tiny", "tiny/base", "tiny/full"]
    for row in report["model"]:
        assert MODEL_KEYS <= set(row), f"{row['name']}: missing {MODEL_KEYS - set(row)}"
        peak = report["limits"]["matmul_flops"]["fp32"]
        assert row["peak_fraction"] == pytest.approx(row["achieved_flops_per_s"] / peak), row["name"]
        assert row["batch_size"] == 2 and row["flops_per_step"] > 0, row["name"]
    assert set(report["eval"]["protocols"]) == {"vprg", "vcmr", "retrieval", "grounding"}
    search = report["retrieval"]["search"]
    assert [(row["num_videos"], row["backend"]) for row in search] == [
        (64, "exact"),
        (64, "int8"),
        (100_000, "exact"),
        (100_000, "int8"),
        (128, "exact"),
        (128, "int8"),
        (128, "faiss"),
    ]
    assert report["retrieval"]["bandwidth_bytes_per_s"] == report["limits"]["read_bandwidth_bytes_per_s"]
    assert report["data"]["num_videos"] >= 1 and report["data"]["mb_per_s"] > 0


def test_targets_follow_the_measurements(report):
    names = [target["name"] for target in report["targets"]]
    assert names == [
        "evaluation: vprg time / plain forward",
        "exact search 100k videos: latency / bandwidth bound",
        "int8 search 100k videos: latency / fp32 bandwidth bound",
        "int8 search 100k videos: recall of the exact top-k",
        "data preparation: MB/s",
        "data preparation: peak RSS (MiB)",
    ], "no charades row in this run, so no model-step target"
    ratio = report["targets"][1]
    assert ratio["met"] == (ratio["value"] <= 1.5) and ratio["at_least"] is False
    recall = report["targets"][3]
    assert recall["value"] == 1.0 and recall["met"], "the int8 search returns the exact top-k"


def test_check_targets_on_a_hand_made_report():
    made = {
        "model": [{"name": "charades", "peak_fraction": 0.25}, {"name": "tacos", "peak_fraction": 0.9}],
        "data": {"mb_per_s": 150.0, "peak_rss_mib": 3000.0},
    }
    assert [(t["name"], t["value"], t["met"]) for t in check_targets(made)] == [
        ("model step charades: fraction of matmul peak", 0.25, False),
        ("data preparation: MB/s", 150.0, True),
        ("data preparation: peak RSS (MiB)", 3000.0, False),
    ]


def test_table_has_every_section(report):
    table = format_table(report)
    for heading in ("limits: matmul fp32", "model step (fp32", "tiny/full", "evaluation (tiny model, 4 paragraphs",
                    "retrieval (tiny model", "100,000", "faiss", "retrieve_and_ground 64", "data preparation:",
                    "target", "load average: limits"):  # fmt: skip
        assert heading in table, f"{heading!r} not in the table"


def test_bad_sections_and_ablations_are_rejected():
    with pytest.raises(ValueError, match="unknown bench sections"):
        run_suite(["model", "gpu"], TINY)
    settings = BenchSettings(
        presets=(), ablation_preset="tiny", ablations=("base+vpcmrr",), matmul_size=32, bandwidth_mb=1
    )
    with pytest.raises(ConfigError, match="did you mean"):
        run_suite(["model"], settings)


def test_threads_setting_applies_to_the_run():
    report = run_suite([], BenchSettings(threads=1, matmul_size=32, bandwidth_mb=1))
    assert report["sections"] == [] and report["limits"]["threads"] == 1 and report["targets"] == []
    assert report["environment"]["torch_threads"] == 1
    assert report["environment"]["thread_choice"] == {"threads": 1, "by": "setting"}


@pytest.mark.parametrize("faster", [1, 2])
def test_threads_default_to_the_faster_matmul(monkeypatch, faster):
    torch.set_num_threads(2)
    monkeypatch.setattr(
        suite, "matmul_flops", lambda *args, **kwargs: 2e9 if torch.get_num_threads() == faster else 1e9
    )
    report = run_suite([], BenchSettings(matmul_size=32, bandwidth_mb=1))
    choice = report["environment"]["thread_choice"]
    assert choice == {
        "threads": faster,
        "by": "matmul",
        "matmul_flops_by_threads": {"1": 2e9 if faster == 1 else 1e9, "2": 2e9 if faster == 2 else 1e9},
    }
    assert torch.get_num_threads() == faster == report["limits"]["threads"]
