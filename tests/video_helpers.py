"""Videos for the feature and app tests, written with PyAV: every frame shows its own index in black/white stripes, so
a test can read back which source frame was sampled, whatever the (lossy) codec; and the tiny random CLIP vision
encoder that turns them into features (nothing is downloaded)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from dmr_jrg_hf.bench.random_encoder import save_random_clip_encoder

av = pytest.importorskip("av", reason="PyAV (the `video` extra) is not installed")

WIDTH, HEIGHT = 64, 48
NUM_BITS = 6  # frames carry their index in 6 black/white stripes: up to 64 frames per test video


def frame_image(index: int) -> np.ndarray:
    """RGB frame whose stripe ``b`` is white when bit ``b`` of ``index`` is set (survives lossy codecs)."""
    image = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    for bit in range(NUM_BITS):
        image[:, 2 + 10 * bit : 10 + 10 * bit] = 235 if index >> bit & 1 else 16
    return image


def frame_index(image: np.ndarray) -> int:
    """The index `frame_image` wrote into a decoded frame."""
    return sum(1 << bit for bit in range(NUM_BITS) if image[8:40, 4 + 10 * bit : 8 + 10 * bit].mean() > 128)


def require_encoder(codec: str) -> None:
    try:
        av.codec.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError) as error:  # an unknown codec name raises either, by PyAV version
        pytest.skip(f"this PyAV build has no {codec} encoder ({error})")


def write_video(
    path: Path, num_frames: int, rate: float | Fraction = 7, codec: str = "mpeg4", pix_fmt: str = "yuv420p"
) -> Path:
    """A video of ``num_frames`` frames at ``rate`` frames per second; frame ``i`` shows `frame_image(i)`."""
    require_encoder(codec)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(rate).limit_denominator(100000))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, pix_fmt
        for index in range(num_frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame_image(index), format="rgb24")))
        container.mux(stream.encode())
    return path


def write_audio(path: Path, seconds: float = 1.0) -> Path:
    """An audio-only file (AAC in MP4), no video stream."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        for start in range(0, int(16000 * seconds), 1024):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def save_tiny_clip_encoder(folder: Path) -> Path:
    """Save a random CLIP vision tower with projection (D = 16) and its image processor (32 x 32 crops) in a folder."""
    return save_random_clip_encoder(folder)
