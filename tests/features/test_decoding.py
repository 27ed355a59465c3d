"""PyAV decoding of videos written by the test: several codecs and containers, odd frame rates, a video shorter than
one sample interval, and the files that cannot be decoded (corrupt, truncated, zero bytes, audio only, too long)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from video_helpers import HEIGHT, WIDTH, frame_index, write_audio, write_video

from dmr_jrg_hf.features.decoding import SampledVideo, VideoDecodeError

NTSC = Fraction(30000, 1001)
CODECS = [  # (encoder, container suffix, pixel format)
    ("mpeg4", ".mp4", "yuv420p"),
    ("libx264", ".mp4", "yuv420p"),
    ("mjpeg", ".avi", "yuvj420p"),
    ("libvpx-vp9", ".webm", "yuv420p"),
    ("mpeg4", ".mkv", "yuv420p"),
]


def _sampled_indices(video: SampledVideo) -> list[list[int]]:
    return [[frame_index(image) for image in row] for row in video]


@pytest.mark.parametrize(("codec", "suffix", "pix_fmt"), CODECS, ids=[f"{c}{s}" for c, s, _ in CODECS])
@pytest.mark.parametrize(
    ("rate", "num_frames", "fps", "expected"),
    [
        (7, 12, 2.0, [2, 5, 9]),  # rows at 0.25, 0.75, 1.25 s = 1.75, 5.25, 8.75 frames
        (NTSC, 40, 3.0, [5, 15, 25, 35]),  # rows at 1/6 .. 7/6 s = 4.995, 14.985, 24.975, 34.965 frames
    ],
    ids=["7fps", "29.97fps"],
)
def test_codecs_and_odd_rates_sample_the_hand_computed_frames(
    tmp_path, codec, suffix, pix_fmt, rate, num_frames, fps, expected
):
    path = write_video(tmp_path / f"clip{suffix}", num_frames, rate, codec, pix_fmt)
    video = SampledVideo(path, fps)
    rows = [row for row in video]
    assert all(len(row) == 1 and row[0].shape == (HEIGHT, WIDTH, 3) and row[0].dtype == np.uint8 for row in rows)
    assert [frame_index(row[0]) for row in rows] == expected, f"{codec}{suffix} at {float(rate):.3f} fps"
    assert video.info.num_decoded_frames == num_frames, f"{codec}{suffix}: decoded frames"
    assert video.info.duration == pytest.approx(num_frames / float(rate), abs=2e-3), f"{codec}{suffix}: duration"
    assert video.info.source_fps == pytest.approx(float(rate), rel=1e-3), f"{codec}{suffix}: source rate"


def test_one_fps_source_ties_go_to_the_earlier_frame(tmp_path):
    path = write_video(tmp_path / "slow.avi", 4, rate=1, codec="mjpeg", pix_fmt="yuvj420p")
    assert _sampled_indices(SampledVideo(path, 1.0)) == [[0], [1], [2], [3]], "0.5 s is as far from 0 s as from 1 s"


def test_video_shorter_than_one_sample_interval_gives_one_row(tmp_path):
    path = write_video(tmp_path / "short.mp4", 3, rate=10)  # 0.3 s; at 1 fps the first centre 0.5 s is past the end
    video = SampledVideo(path, 1.0)
    assert _sampled_indices(video) == [[2]], "one row: the last frame"
    assert video.info.duration == pytest.approx(0.3)


def test_clip_rows_of_frames(tmp_path):
    path = write_video(tmp_path / "clip.mp4", 16, rate=8)
    assert _sampled_indices(SampledVideo(path, 1.0, frames_per_row=4)) == [[1, 3, 5, 7], [9, 11, 13, 15]]


def _failure(path, **options) -> VideoDecodeError:
    with pytest.raises(VideoDecodeError) as info:
        list(SampledVideo(path, 1.0, **options))
    return info.value


def test_corrupt_file_is_unreadable(tmp_path):
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    error = _failure(path)
    assert error.reason == "unreadable" and str(path) in str(error)


def test_truncated_mp4_is_unreadable(tmp_path):
    whole = write_video(tmp_path / "whole.mp4", 30, rate=10).read_bytes()
    cut_in_index = tmp_path / "cut_in_index.mp4"
    cut_in_index.write_bytes(whole[: whole.index(b"moov") + 40])  # every frame, but the index (moov box) cut short
    error = _failure(cut_in_index)
    assert (error.reason, error.detail) == ("unreadable", "no stream found: truncated, or not a media file")
    cut_before_index = tmp_path / "cut_before_index.mp4"
    cut_before_index.write_bytes(whole[: whole.index(b"moov") - 4])
    error = _failure(cut_before_index)
    assert (error.reason, error.detail) == ("unreadable", "Invalid data found when processing input")


def test_zero_byte_missing_and_audio_only_files(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    assert (_failure(empty).reason, _failure(empty).detail) == ("empty_file", "0 bytes")
    assert _failure(tmp_path / "absent.mp4").reason == "not_found"
    audio = _failure(write_audio(tmp_path / "speech.m4a"))
    assert (audio.reason, audio.detail) == ("no_video_stream", "streams: audio")
    assert "no video stream" in str(audio) and "speech.m4a" in str(audio)


def test_video_longer_than_max_duration(tmp_path):
    path = write_video(tmp_path / "long.mp4", 30, rate=10)  # 3 s
    error = _failure(path, max_duration=2.0)
    assert error.reason == "too_long" and "max_duration 2 s" in error.detail
    assert len(list(SampledVideo(path, 1.0, max_duration=3.5))) == 3, "within the limit: decoded as usual"


def test_decode_error_part_way_names_the_time_reached(tmp_path, monkeypatch):
    path = write_video(tmp_path / "broken.mp4", 30, rate=10)
    real_open = av.open

    class _BreaksAfterFiveFrames:
        """A container whose stream fails after five frames (FFmpeg conceals most damage, so it is simulated)."""

        def __init__(self, container):
            self.container = container
            self.streams, self.duration = container.streams, container.duration

        def decode(self, stream):
            for count, frame in enumerate(self.container.decode(stream)):
                if count == 5:
                    raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
                yield frame

        def close(self):
            self.container.close()

    monkeypatch.setattr(av, "open", lambda name: _BreaksAfterFiveFrames(real_open(name)))
    error = _failure(path)
    assert error.reason == "decode_error"
    assert error.detail == "Invalid data found when processing input after 0.4 s", error.detail
