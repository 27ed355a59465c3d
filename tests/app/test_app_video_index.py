"""``dmr-jrg app --videos DIR``: the videos are extracted and indexed at start (with their files, for playback), the
next start reuses that index, and a changed folder or another model rebuilds it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from video_helpers import save_tiny_clip_encoder, write_video

from dmr_jrg_hf.apps import app as app_module
from dmr_jrg_hf.apps import video_index
from dmr_jrg_hf.cli import main
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.inference import VideoCorpusIndex
from dmr_jrg_hf.loading import load_pretrained
from dmr_jrg_hf.model_builder import build_model_and_processor

SENTENCES = ["a person opens a door", "a person sits down"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return save_tiny_clip_encoder(tmp_path_factory.mktemp("tiny-clip"))


def _save_model(folder, encoder, seed: int = 0):
    torch.manual_seed(seed)  # another seed: other weights, so another model fingerprint
    config = DMRJRGConfig.from_preset("tiny", feature_dim=16)
    spec = {"name": "tiny-clip", "encoder": str(encoder), "rate_per_second": 1.0, "feature_dim": 16}
    model, processor = build_model_and_processor(config, [{"sentences": SENTENCES}], video_feature_spec=spec)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "kitchen.mp4", 20, rate=10)
    write_video(folder / "garden.mp4", 21, rate=7)
    return folder


def test_second_start_reuses_the_index_and_a_new_video_rebuilds_it(videos, encoder, tmp_path, monkeypatch):
    model = _save_model(tmp_path / "model", encoder)
    index_dir = video_index.prepare_video_index(model, videos, tmp_path / "index", show_progress=False)
    index = VideoCorpusIndex.load(index_dir)
    assert index.video_files == {name: str((videos / f"{name}.mp4").resolve()) for name in ("garden", "kitchen")}
    assert (tmp_path / "index.features.hdf5").is_file(), "features cached beside the index"
    written = (index_dir / "index.json").stat().st_mtime_ns

    extractions = []
    extract = video_index.features_for_index
    monkeypatch.setattr(video_index, "features_for_index", lambda *a, **k: extractions.append(a) or extract(*a, **k))
    assert video_index.prepare_video_index(model, videos, index_dir, show_progress=False) == index_dir
    assert extractions == [] and (index_dir / "index.json").stat().st_mtime_ns == written, "reused as it was"

    write_video(videos / "street.mp4", 14, rate=7)
    video_index.prepare_video_index(model, videos, index_dir, show_progress=False)
    assert len(extractions) == 1 and sorted(VideoCorpusIndex.load(index_dir).video_files) == [
        "garden",
        "kitchen",
        "street",
    ]


def test_another_model_rebuilds_the_index(videos, encoder, tmp_path):
    first = _save_model(tmp_path / "first", encoder, seed=0)
    index_dir = video_index.prepare_video_index(first, videos, tmp_path / "index", show_progress=False)
    second = _save_model(tmp_path / "second", encoder, seed=1)
    video_index.prepare_video_index(second, videos, index_dir, show_progress=False)
    VideoCorpusIndex.load(index_dir).check_model(load_pretrained(second)[0])  # raises if still the first model's


def test_cli_app_videos_indexes_then_serves_that_index(videos, encoder, tmp_path, monkeypatch):
    model = _save_model(tmp_path / "model", encoder)
    calls = []
    monkeypatch.setattr(app_module, "launch", lambda **kwargs: calls.append(kwargs))
    monkeypatch.chdir(tmp_path)
    assert main(["app", "--model", str(model), "--videos", str(videos), "--port", "7999", "-q"]) == 0
    assert calls[0]["index_dir"] == video_index.default_index_dir(videos) == Path("outputs/videos-index")
    assert len(VideoCorpusIndex.load(tmp_path / "outputs" / "videos-index")) == 2
    assert main(["app", "--model", str(model), "--videos", str(videos), "--index-dir", str(tmp_path / "i"), "-q"]) == 0
    assert calls[1]["index_dir"] == tmp_path / "i" and VideoCorpusIndex.load(tmp_path / "i").video_file("garden")
