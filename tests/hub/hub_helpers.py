"""Shared by the hub tests: a tiny model folder written by save_for_hub, its reference outputs, and loading it in a
fresh interpreter where the package is not importable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from dmr_jrg_hf.hub import save_for_hub
from dmr_jrg_hf.model_builder import build_model_and_processor

REPO_ROOT = Path(__file__).resolve().parents[2]
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


class SavedFolder(NamedTuple):
    """A folder written by save_for_hub, the model inputs saved next to it, and the model's outputs on them."""

    folder: Path
    inputs_path: Path
    expected: dict[str, np.ndarray]


def save_tiny_folder(folder: Path) -> SavedFolder:
    """Save a seeded tiny model with `save_for_hub` (card with one result) and record its outputs."""
    spec = {"name": "i3d", "rate_per_second": 1.0}
    rows = [{"sentences": SENTENCES + ["the man sits on the chair"]}]
    model, processor = build_model_and_processor("tiny", rows, video_feature_spec=spec)
    model.eval()
    folder = save_for_hub(model, processor, folder, evaluation={"retrieval": {"R@1": 12.5}})
    rng = np.random.default_rng(0)
    videos = [rng.random((n, 12), dtype=np.float32) for n in (30, 7)]
    batch = processor(text=PARAGRAPHS, video_features=videos, durations=[30.0, 7.0])
    inputs = {name: batch[name].numpy() for name in ("word_ids", "word_mask", "sentence_mask", "clip_features")}
    inputs["map_mask"] = batch["map_mask"].numpy()
    inputs_path = folder.parent / "inputs.npz"
    np.savez(inputs_path, paragraphs=json.dumps(PARAGRAPHS), **inputs)
    return SavedFolder(folder, inputs_path, model_outputs(model, processor, inputs))


def model_outputs(model, processor, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Video and paragraph embeddings, score maps and word ids: what LOAD_AND_RUN computes, in this process."""
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


def assert_same_outputs(found: dict, expected: dict, case: str) -> None:
    for name, value in expected.items():
        np.testing.assert_allclose(found[name], value, atol=1e-6, err_msg=f"{case}: {name}")


def run_command(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args[:3]} failed:\n{result.stderr[-4000:]}"
    return result


def load_isolated(source: str, saved: SavedFolder, tmp_path: Path, **env_extra) -> tuple[dict, str]:
    """Run LOAD_AND_RUN with `python -I -S` and only site-packages on the path: the package is not importable
    (neither from the checkout nor through an editable install's .pth file)."""
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1", **env_extra}
    out = tmp_path / "outputs.npz"
    site_packages = sysconfig.get_paths()["purelib"]
    command = [sys.executable, "-I", "-S", "-c", LOAD_AND_RUN, site_packages, source, str(saved.inputs_path), str(out)]
    result = run_command(command, env, tmp_path)
    return dict(np.load(out)), result.stdout
