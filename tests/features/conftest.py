"""Fixtures of the video-feature tests: tiny random vision encoders (CLIP vision tower with projection, VideoMAE) saved
to temporary folders (nothing is downloaded); the test videos and the CLIP one come from `video_helpers`."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("av", reason="PyAV (the `video` extra) is not installed")

from video_helpers import save_tiny_clip_encoder  # noqa: E402


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> Path:
    """A random CLIP vision tower with projection (D = 16) and its image processor (32 x 32 crops)."""
    return save_tiny_clip_encoder(tmp_path_factory.mktemp("tiny-clip-vit"))


@pytest.fixture(scope="session")
def tiny_videomae_dir(tmp_path_factory) -> Path:
    """A random VideoMAE (4 frames per clip, D = 32) and its image processor."""
    import torch
    from transformers import VideoMAEConfig, VideoMAEImageProcessor, VideoMAEModel

    folder = tmp_path_factory.mktemp("tiny-videomae")
    config = VideoMAEConfig(
        image_size=32,
        patch_size=16,
        num_frames=4,
        tubelet_size=2,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
    )
    torch.manual_seed(0)
    VideoMAEModel(config).save_pretrained(folder)
    VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_clip_encoder(tiny_clip_dir):
    from dmr_jrg_hf.features import VisionEncoder

    return VisionEncoder.from_pretrained(tiny_clip_dir, device="cpu")
