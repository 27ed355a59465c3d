"""Hub integration: Auto* classes, trust_remote_code without the package, push + load through a loopback fake Hub."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_hub import FakeHub
from transformers import AutoConfig, AutoModel, AutoProcessor

import dmr_jrg_hf
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.errors import DataFormatError, InputError
from dmr_jrg_hf.hub import (
    REMOTE_CODE_AUTO_MAP,
    check_model_folder,
    complete_model_folder,
    push_benchmark_to_hub,
    remote_code_sources,
    save_for_hub,
)
from dmr_jrg_hf.model_builder import build_model_and_processor
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor

REPO_ROOT = Path(__file__).resolve().parents[1]
SENTENCES = ["a man opens the door of the kitchen", "he walks out of the room", "the dog barks at the man"]
PARAGRAPHS = [SENTENCES[:2], SENTENCES[1:] + ["the man sits on the chair"]]

# Runs in a fresh interpreter: load model + processor, recompute the outputs of the saved inputs, write them.
LOAD_AND_RUN = """
import sys
sys.path.append(sys.argv.pop(1))  # site-packages only: run with -I -S, so no .pth file (editable install) is read
import importlib.util, json
import numpy as np, torch
from transformers import AutoConfig, AutoModel, AutoProcessor
source, inputs_path, out_path = sys.argv[1:4]
assert importlib.util.find_spec("dmr_jrg_hf") is None, "dmr_jrg_hf must not be importable here"
config = AutoConfig.from_pretrained(source, trust_remote_code=True)
model = AutoModel.from_pretrained(source, trust_remote_code=True).eval()
processor = AutoProcessor.from_pretrained(source, trust_remote_code=True)
data = dict(np.load(inputs_path))
text = processor(text=json.loads(str(data.pop("paragraphs"))))
t = {name: torch.as_tensor(value) for name, value in data.items()}
with torch.no_grad():
    outputs = {
        "videos": model.encode_videos(t["clip_features"]).numpy(),
        "paragraphs": model.encode_paragraphs(t["word_ids"], t["word_mask"], t["sentence_mask"]).numpy(),
        "maps": model.ground(
            t["word_ids"], t["word_mask"], t["sentence_mask"], t["clip_features"], t["map_mask"]
        ).numpy(),
        "word_ids": text["word_ids"].numpy(),
    }
np.savez(out_path, **outputs)
print(type(model).__module__, type(config).__name__, type(processor).__module__)
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny model folder written by save_for_hub, its inputs and its reference outputs."""
    spec = {"name": "i3d", "rate_per_second": 1.0}
    rows = [{"sentences": SENTENCES + ["the man sits on the chair"]}]
    model, processor = build_model_and_processor("tiny", rows, video_feature_spec=spec)
    model.eval()
    folder = save_for_hub(
        model, processor, tmp_path_factory.mktemp("model") / "dmr-jrg-tiny", evaluation={"retrieval": {"R@1": 12.5}}
    )
    rng = np.random.default_rng(0)
    videos = [rng.random((n, 12), dtype=np.float32) for n in (30, 7)]
    batch = processor(text=PARAGRAPHS, video_features=videos, durations=[30.0, 7.0])
    inputs = {name: batch[name].numpy() for name in ("word_ids", "word_mask", "sentence_mask", "clip_features")}
    inputs["map_mask"] = batch["map_mask"].numpy()
    inputs_path = folder.parent / "inputs.npz"
    np.savez(inputs_path, paragraphs=json.dumps(PARAGRAPHS), **inputs)
    return folder, inputs_path, _outputs(model, processor, inputs)


def _outputs(model, processor, inputs) -> dict[str, np.ndarray]:
    t = {name: torch.as_tensor(value) for name, value in inputs.items()}
    with torch.no_grad():
        return {
            "videos": model.encode_videos(t["clip_features"]).numpy(),
            "paragraphs": model.encode_paragraphs(t["word_ids"], t["word_mask"], t["sentence_mask"]).numpy(),
            "maps": model.ground(
                t["word_ids"], t["word_mask"], t["sentence_mask"], t["clip_features"], t["map_mask"]
            ).numpy(),
            "word_ids": processor(text=PARAGRAPHS)["word_ids"].numpy(),
        }


def _assert_same_outputs(found: dict, expected: dict, case: str) -> None:
    for name, value in expected.items():
        np.testing.assert_allclose(found[name], value, atol=1e-6, err_msg=f"{case}: {name}")


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args[:3]} failed:\n{result.stderr[-4000:]}"
    return result


def _load_isolated(source: str, saved, tmp_path: Path, **env_extra) -> tuple[dict, str]:
    """Run LOAD_AND_RUN with `python -I -S` and only site-packages on the path: the package is not importable
    (neither from the checkout nor through an editable install's .pth file)."""
    folder, inputs_path, _ = saved
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1", **env_extra}
    out = tmp_path / "outputs.npz"
    site_packages = sysconfig.get_paths()["purelib"]
    command = [sys.executable, "-I", "-S", "-c", LOAD_AND_RUN, site_packages, source, str(inputs_path), str(out)]
    result = _run(command, env, tmp_path)
    return dict(np.load(out)), result.stdout


def test_remote_code_files_are_flat_and_self_contained():
    sources = remote_code_sources()
    assert {"modeling_dmr_jrg.py", "configuration_dmr_jrg.py", "processing_dmr_jrg.py"} <= set(sources)
    assert "modules_temporal_adjacent_network.py" in sources, "subpackage modules are flattened"
    for name, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 and f"{node.module}.py" in sources, f"{name}: import of {node.module}"
    for entry in REMOTE_CODE_AUTO_MAP.values():
        assert f"{entry.split('.')[0]}.py" in sources, entry


def test_saved_folder_is_complete_and_safetensors_only(saved):
    folder, _, _ = saved
    assert check_model_folder(folder) == folder
    assert json.loads((folder / "config.json").read_text())["auto_map"] == REMOTE_CODE_AUTO_MAP
    processor_config = json.loads((folder / "processor_config.json").read_text())
    assert processor_config["auto_map"] == {"AutoProcessor": REMOTE_CODE_AUTO_MAP["AutoProcessor"]}
    assert processor_config["video_feature_spec"] == {"name": "i3d", "rate_per_second": 1.0}
    assert (folder / "word_vectors.safetensors").is_file() and (folder / "vocab.json").is_file()
    assert not [p for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pkl")], "no pickle files"


def test_check_model_folder_rejects_pickles_and_missing_files(saved, tmp_path):
    folder, _, _ = saved
    with pytest.raises(DataFormatError, match="missing config.json"):
        check_model_folder(tmp_path)
    (folder / "pytorch_model.bin").write_bytes(b"pickle")
    try:
        with pytest.raises(DataFormatError, match=r"pickle-based files \['pytorch_model.bin'\]"):
            check_model_folder(folder)
    finally:
        (folder / "pytorch_model.bin").unlink()


def test_auto_classes_resolve_after_import(saved):
    folder, inputs_path, expected = saved
    assert "register_auto_classes" in dmr_jrg_hf.__all__
    assert type(AutoConfig.for_model("dmr_jrg")) is DMRJRGConfig
    model = AutoModel.from_pretrained(folder).eval()
    assert type(model) is DMRJRGModel, "AutoModel gives the package class without trust_remote_code"
    inputs = dict(np.load(inputs_path))
    inputs.pop("paragraphs")
    processor = DMRJRGProcessor.from_pretrained(folder)
    _assert_same_outputs(_outputs(model, processor, inputs), expected, "package AutoModel")


def test_auto_processor_resolves_after_import(saved):
    folder, _, _ = saved
    processor = AutoProcessor.from_pretrained(folder)
    assert type(processor) is DMRJRGProcessor and processor.video_feature_spec["name"] == "i3d"


def test_auto_classes_in_a_fresh_offline_process(saved, tmp_path):
    folder, _, _ = saved
    script = (
        "import sys, dmr_jrg_hf\n"
        "from transformers import AutoConfig, AutoModel, AutoProcessor\n"
        "names = [type(AutoConfig.from_pretrained(sys.argv[1])).__name__, type(AutoModel.from_pretrained(sys.argv[1]))"
        ".__name__, type(AutoProcessor.from_pretrained(sys.argv[1])).__name__]\n"
        "print(' '.join(names))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf_home"), "PYTHONPATH": str(REPO_ROOT)}
    result = _run([sys.executable, "-c", script, str(folder)], env, tmp_path)
    assert result.stdout.split()[-3:] == ["DMRJRGConfig", "DMRJRGModel", "DMRJRGProcessor"], result.stdout


def test_trust_remote_code_without_the_package(saved, tmp_path):
    folder, _, expected = saved
    found, stdout = _load_isolated(str(folder), saved, tmp_path)
    model_module, config_name, processor_module = stdout.split()[-3:]
    assert model_module.startswith("transformers_modules."), f"remote code was not used: {stdout}"
    assert processor_module.startswith("transformers_modules.") and config_name == "DMRJRGConfig", stdout
    _assert_same_outputs(found, expected, "trust_remote_code from a folder")


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
    folder, _, expected = saved
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
        pushed = _run([sys.executable, "-c", push, str(folder), str(benchmark)], env, tmp_path)
        assert pushed.stdout.split() == ["me/dmr-jrg-tiny", "me/tiny-benchmark"]
        stored = hub.repo("model", "me/dmr-jrg-tiny").files()
        assert sorted(p.name for p in folder.iterdir()) == stored, "every file of the folder was pushed"
        assert hub.repo("dataset", "me/tiny-benchmark").files() == ["README.md", "data/test.jsonl"]
        found, stdout = _load_isolated(
            "me/dmr-jrg-tiny", saved, tmp_path, HF_ENDPOINT=hub.endpoint, HF_HUB_OFFLINE="0", HF_HUB_DISABLE_XET="1"
        )
        assert not hub.unhandled, f"requests the fake Hub does not implement: {hub.unhandled}"
    assert stdout.startswith("transformers_modules."), stdout
    _assert_same_outputs(found, expected, "push + trust_remote_code from the Hub")


@pytest.mark.slow
def test_processor_push_to_hub_round_trip(saved, tmp_path):
    folder, _, expected = saved
    local = tmp_path / "processor"
    DMRJRGProcessor.from_pretrained(folder).save_pretrained(local)
    with FakeHub(tmp_path / "hub") as hub:
        env = _hub_env(hub, tmp_path / "hf_home")
        script = (
            "import sys, json; from dmr_jrg_hf import DMRJRGProcessor; "
            "DMRJRGProcessor.from_pretrained(sys.argv[1]).push_to_hub('me/dmr-jrg-processor', token='t'); "
            "loaded = DMRJRGProcessor.from_pretrained('me/dmr-jrg-processor'); "
            "print(json.dumps(loaded(text=json.loads(sys.argv[2]))['word_ids'].tolist()))"
        )
        result = _run([sys.executable, "-c", script, str(folder), json.dumps(PARAGRAPHS)], env, tmp_path)
        stored = hub.repo("model", "me/dmr-jrg-processor").files()
        assert stored == sorted([p.name for p in local.iterdir()] + ["README.md"]), "processor files + a card"
        assert not hub.unhandled, f"requests the fake Hub does not implement: {hub.unhandled}"
    np.testing.assert_array_equal(np.array(json.loads(result.stdout.splitlines()[-1])), expected["word_ids"])


def test_complete_model_folder_adds_code_and_card_to_a_trained_folder(saved, tmp_path):
    folder, _, _ = saved
    model = DMRJRGModel.from_pretrained(folder)
    model.save_pretrained(tmp_path)
    DMRJRGProcessor.from_pretrained(folder).save_pretrained(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps({"model": {"retrieval": {"R@1": 33.0}}}))
    with pytest.raises(DataFormatError, match="missing README.md"):
        check_model_folder(tmp_path)
    complete_model_folder(tmp_path, model_name="tiny")
    assert check_model_folder(tmp_path) == tmp_path and (tmp_path / "modeling_dmr_jrg.py").is_file()
    assert "| DMR-JRG (this model) | 33.00 |" in (tmp_path / "README.md").read_text(), "results.json on the card"


def test_push_benchmark_needs_a_dataset_card(tmp_path):
    with pytest.raises(InputError, match="no README.md dataset card"):
        push_benchmark_to_hub(tmp_path, "me/nothing")
