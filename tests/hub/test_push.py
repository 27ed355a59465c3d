"""Push: a model folder and a benchmark through a loopback fake Hub, then trust_remote_code from the Hub."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from fake_hub import FakeHub
from hub_helpers import PARAGRAPHS, REPO_ROOT, assert_same_outputs, load_isolated, run_command

from dmr_jrg_hf.errors import DataFormatError, InputError
from dmr_jrg_hf.hub import push_benchmark_to_hub, push_model_to_hub
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor


def _hub_env(hub: FakeHub, home: Path) -> dict[str, str]:
    """Environment of a subprocess that talks to the loopback Hub, with the package importable from the checkout."""
    return {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_HUB_OFFLINE": "0",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(home),
        "PYTHONPATH": str(REPO_ROOT),
    }


@pytest.mark.slow
def test_push_then_from_pretrained_through_a_loopback_hub(saved, tmp_path):
    benchmark = tmp_path / "benchmark"
    (benchmark / "data").mkdir(parents=True)
    (benchmark / "README.md").write_text("---\nconfigs: []\n---\n# tiny benchmark\n")
    (benchmark / "data" / "test.jsonl").write_text('{"video_id": "v1"}\n')
    with FakeHub(tmp_path / "hub") as hub:
        env = _hub_env(hub, tmp_path / "push_home")
        push = (
            "import sys; from dmr_jrg_hf.hub import push_model_to_hub, push_benchmark_to_hub; "
            "print(push_model_to_hub(sys.argv[1], 'me/dmr-jrg-tiny', token='t'), "
            "push_benchmark_to_hub(sys.argv[2], 'me/tiny-benchmark', token='t'))"
        )
        pushed = run_command([sys.executable, "-c", push, str(saved.folder), str(benchmark)], env, tmp_path)
        assert pushed.stdout.split() == ["me/dmr-jrg-tiny", "me/tiny-benchmark"]
        stored = hub.repo("model", "me/dmr-jrg-tiny").files()
        assert sorted(p.name for p in saved.folder.iterdir()) == stored, "every file of the folder was pushed"
        assert hub.repo("dataset", "me/tiny-benchmark").files() == ["README.md", "data/test.jsonl"]
        found, stdout = load_isolated(
            "me/dmr-jrg-tiny", saved, tmp_path, HF_ENDPOINT=hub.endpoint, HF_HUB_OFFLINE="0", HF_HUB_DISABLE_XET="1"
        )
        assert not hub.unhandled, f"requests the fake Hub does not implement: {hub.unhandled}"
    assert stdout.startswith("transformers_modules."), stdout
    assert_same_outputs(found, saved.expected, "push + trust_remote_code from the Hub")


@pytest.mark.slow
def test_processor_push_to_hub_round_trip(saved, tmp_path):
    local = tmp_path / "processor"
    DMRJRGProcessor.from_pretrained(saved.folder).save_pretrained(local)
    with FakeHub(tmp_path / "hub") as hub:
        env = _hub_env(hub, tmp_path / "hf_home")
        script = (
            "import sys, json; from dmr_jrg_hf import DMRJRGProcessor; "
            "DMRJRGProcessor.from_pretrained(sys.argv[1]).push_to_hub('me/dmr-jrg-processor', token='t'); "
            "loaded = DMRJRGProcessor.from_pretrained('me/dmr-jrg-processor'); "
            "print(json.dumps(loaded(text=json.loads(sys.argv[2]))['word_ids'].tolist()))"
        )
        result = run_command([sys.executable, "-c", script, str(saved.folder), json.dumps(PARAGRAPHS)], env, tmp_path)
        stored = hub.repo("model", "me/dmr-jrg-processor").files()
        assert stored == sorted([p.name for p in local.iterdir()] + ["README.md"]), "processor files + a card"
        assert not hub.unhandled, f"requests the fake Hub does not implement: {hub.unhandled}"
    np.testing.assert_array_equal(np.array(json.loads(result.stdout.splitlines()[-1])), saved.expected["word_ids"])


def test_push_benchmark_needs_a_dataset_card(tmp_path):
    with pytest.raises(InputError, match="no README.md dataset card"):
        push_benchmark_to_hub(tmp_path, "me/nothing")


def test_push_model_checks_the_folder_before_any_request(tmp_path):
    with pytest.raises(DataFormatError, match="missing config.json, model.safetensors"):
        push_model_to_hub(tmp_path, "me/nothing", token="t")
