"""extract_features end to end on videos written by the test: equality with a plain per-frame reference, metadata
round trip through the package's readers and benchmark loader, workers, resume after an interruption, skipped files."""

from __future__ import annotations

import json
import logging
from fractions import Fraction

import av
import h5py
import numpy as np
import pytest
import torch
from video_helpers import write_audio, write_video

from dmr_jrg_hf.data import load_benchmark, open_features, prepare_benchmark
from dmr_jrg_hf.features import VisionEncoder, extract_features, extractor_spec

NTSC = Fraction(30000, 1001)
FPS = 2.0
# name -> (frames, source rate, codec, pixel format, frames nearest to (i + 0.5) / 2 s, worked out by hand)
VIDEOS = {
    "seven": (40, 7, "mpeg4", "yuv420p", [2, 5, 9, 12, 16, 19, 23, 26, 30, 33, 37]),  # 1.75, 5.25, 8.75, ...
    "ntsc": (30, NTSC, "libvpx-vp9", "yuv420p", [7, 22]),  # 7.49, 22.48 frames; 1.001 s
    "short": (3, 10, "mjpeg", "yuvj420p", [2]),  # 0.3 s, shorter than one sample interval: the last frame
}
SUFFIX = {"mpeg4": ".mp4", "libvpx-vp9": ".webm", "mjpeg": ".avi"}
DECODER = {"mpeg4": "mpeg4", "libvpx-vp9": "vp9", "mjpeg": "mjpeg"}


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    for name, (num_frames, rate, codec, pix_fmt, _) in VIDEOS.items():
        write_video(folder / f"{name}{SUFFIX[codec]}", num_frames, rate, codec, pix_fmt)
    return folder


def _decoded_frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def _reference(encoder: VisionEncoder, frames: list[np.ndarray]) -> np.ndarray:
    """One frame at a time through the image processor and the model, then the L2 norm."""
    rows = []
    for frame in frames:
        pixel_values = encoder.image_processor(frame, return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            rows.append(encoder.model(pixel_values=pixel_values).image_embeds[0])
    return torch.nn.functional.normalize(torch.stack(rows), dim=-1).numpy()


def _contents(path) -> dict:
    with h5py.File(path, "r") as handle:
        return {
            "attrs": dict(handle.attrs),
            "videos": {key: (handle[key][()], dict(handle[key].attrs)) for key in handle},
        }


def _assert_same_file(first, second, what: str) -> None:
    a, b = _contents(first), _contents(second)
    assert a["attrs"] == b["attrs"], f"{what}: file attributes"
    assert sorted(a["videos"]) == sorted(b["videos"]), f"{what}: videos"
    for video_id, (values, attributes) in a["videos"].items():
        np.testing.assert_array_equal(values, b["videos"][video_id][0], err_msg=f"{what}: {video_id}")
        assert attributes == b["videos"][video_id][1], f"{what}: {video_id} attributes"


def test_extraction_equals_a_per_frame_reference(videos, tmp_path, tiny_clip_encoder):
    output = tmp_path / "features.hdf5"
    report = extract_features(videos, output, tiny_clip_encoder, fps=FPS, batch_size=3, show_progress=False)
    assert sorted(report.extracted) == sorted(VIDEOS) and not report.skipped
    features = open_features(output)
    for name, (_, _, codec, _, indices) in VIDEOS.items():
        frames = _decoded_frames(videos / f"{name}{SUFFIX[codec]}")
        expected = _reference(tiny_clip_encoder, [frames[index] for index in indices])
        np.testing.assert_allclose(features[name], expected, atol=1e-5, err_msg=name)
    assert report.num_rows == report.num_sampled_frames == 14
    assert report.video_seconds == pytest.approx(40 / 7 + 30 / float(NTSC) + 0.3, abs=1e-3)


def test_clip_encoder_rows_are_stacks_of_frames(tmp_path, tiny_videomae_dir):
    path = write_video(tmp_path / "clip.mp4", 16, rate=8)  # 2 s: rows of frames [1, 3, 5, 7] and [9, 11, 13, 15]
    encoder = VisionEncoder.from_pretrained(tiny_videomae_dir, device="cpu")
    report = extract_features([path], tmp_path / "clips.hdf5", encoder, fps=1.0, show_progress=False)
    frames = _decoded_frames(path)
    clips = [[frames[index] for index in range(start, start + 8, 2)] for start in (1, 9)]
    with torch.no_grad():
        hidden = encoder.model(pixel_values=encoder.image_processor(clips, return_tensors="pt")["pixel_values"])
    expected = torch.nn.functional.normalize(hidden.last_hidden_state.mean(dim=1), dim=-1).numpy()
    features = open_features(tmp_path / "clips.hdf5")
    np.testing.assert_allclose(features["clip"], expected, atol=1e-5)
    assert report.num_sampled_frames == 8 and features.file_metadata()["frames_per_row"] == 4


def test_metadata_round_trip_in_both_layouts(videos, tmp_path, tiny_clip_encoder, tiny_clip_dir):
    for output in (tmp_path / "features.hdf5", tmp_path / "npy"):
        extract_features(videos, output, tiny_clip_encoder, fps=FPS, show_progress=False)
    hdf5, npy = open_features(tmp_path / "features.hdf5"), open_features(tmp_path / "npy")
    encoder = str(tiny_clip_dir.resolve())
    for name, (num_frames, rate, codec, _, indices) in VIDEOS.items():
        metadata = hdf5.video_metadata(name)
        assert metadata["duration"] == pytest.approx(num_frames / float(rate), abs=1e-3), name
        assert (metadata["fps"], metadata["encoder"], metadata["num_frames"]) == (FPS, encoder, len(indices)), name
        assert metadata["num_decoded_frames"] == num_frames and metadata["codec"] == DECODER[codec], name
        assert npy.video_metadata(name) == metadata, f"{name}: same metadata in both layouts"
        np.testing.assert_array_equal(hdf5[name], npy[name], err_msg=f"{name}: same values in both layouts")
    assert hdf5.durations() == npy.durations() and len(hdf5.durations()) == 3
    spec = extractor_spec(hdf5)
    assert spec == {"name": tiny_clip_dir.name, "encoder": encoder, "rate_per_second": FPS, "frames_per_row": 1,
                    "feature_dim": 16}  # fmt: skip
    assert spec == extractor_spec(npy)


def _charades_folder(tmp_path, durations: dict[str, float]):
    folder = tmp_path / "charades"
    folder.mkdir()
    lines = {"train": "seven 0.5 2.5##a person opens a door.\n", "test": "ntsc 0.1 0.9##a person sits down.\n"}
    for split, text in lines.items():
        (folder / f"charades_sta_{split}.txt").write_text(text)
        rows = [f"{video_id},{durations[video_id]}" for video_id in durations if video_id in text]
        (folder / f"Charades_v1_{split}.csv").write_text("id,length\n" + "\n".join(rows) + "\n")
    return folder


def test_load_benchmark_reads_the_extracted_file(videos, tmp_path, tiny_clip_encoder, caplog):
    output = tmp_path / "features.hdf5"
    extract_features(videos, output, tiny_clip_encoder, fps=FPS, show_progress=False)
    annotations = _charades_folder(tmp_path, {"seven": 40 / 7, "ntsc": 30.0})  # ntsc: 1 s decoded, 30 s annotated
    with caplog.at_level(logging.WARNING, logger="dmr_jrg_hf.data.builders"):
        data = load_benchmark("charades_sta", annotations, output, cache_dir=tmp_path / "cache")
    assert data.paragraphs["train"][0]["video_id"] == "seven"
    assert extractor_spec(data.features)["rate_per_second"] == FPS, "the loader's reader gives the extractor spec"
    assert data.features.durations()["seven"] == pytest.approx(40 / 7, abs=1e-3)
    warnings = [record.getMessage() for record in caplog.records]
    assert any("test: 1 video(s) last differently" in text and "'ntsc': 30.0 s annotated, 1.0 s" in text for text in
               warnings), warnings  # fmt: skip
    assert not any(text.startswith("train:") for text in warnings), "5.7 s annotated = 5.7 s decoded: no warning"
    prepare_benchmark("charades_sta", annotations, output, tmp_path / "exported")
    card = (tmp_path / "exported" / "README.md").read_text()
    assert f"Extracted with `{tiny_clip_encoder.name}` at 2 feature rows per second." in card, (
        "prepare names the encoder"
    )


def test_workers_write_the_same_file(videos, tmp_path, tiny_clip_encoder):
    for workers in (0, 1):
        extract_features(
            videos, tmp_path / f"w{workers}.hdf5", tiny_clip_encoder, fps=FPS, num_workers=workers, show_progress=False
        )
    _assert_same_file(tmp_path / "w0.hdf5", tmp_path / "w1.hdf5", "num_workers 1 vs 0")


class _DiesAtCall(VisionEncoder):
    """The tiny encoder, killed (KeyboardInterrupt) at its n-th batch."""

    def __init__(self, encoder: VisionEncoder, call: int):
        super().__init__(encoder.model, encoder.image_processor, encoder.name, encoder.frames_per_row)
        self.remaining = call

    def encode(self, pixel_values):
        self.remaining -= 1
        if self.remaining == 0:
            raise KeyboardInterrupt
        return super().encode(pixel_values)


def test_resume_after_an_interruption_gives_the_same_file(videos, tmp_path, tiny_clip_encoder):
    whole = tmp_path / "whole.hdf5"
    extract_features(videos, whole, tiny_clip_encoder, fps=FPS, batch_size=3, show_progress=False)
    resumed = tmp_path / "resumed.hdf5"
    with pytest.raises(KeyboardInterrupt):  # "ntsc" (2 rows, 1 batch) is written, "seven" dies in its 3rd batch
        extract_features(
            videos, resumed, _DiesAtCall(tiny_clip_encoder, 4), fps=FPS, batch_size=3, show_progress=False
        )
    staged = sorted(path.name for path in (tmp_path / "resumed.hdf5.partial").iterdir())
    assert staged == ["extraction.json", "ntsc.json", "ntsc.npy"], "only the finished video is there, whole"
    report = extract_features(videos, resumed, tiny_clip_encoder, fps=FPS, batch_size=3, show_progress=False)
    assert report.already_done == ["ntsc"] and sorted(report.extracted) == ["seven", "short"]
    _assert_same_file(whole, resumed, "interrupted + resumed vs uninterrupted")


def test_a_complete_output_is_not_extracted_again(videos, tmp_path, tiny_clip_dir, tiny_clip_encoder, monkeypatch):
    output = tmp_path / "features.hdf5"
    extract_features(videos, output, tiny_clip_encoder, fps=FPS, show_progress=False)

    def no_loading(*args, **kwargs):
        raise AssertionError("the encoder must not be loaded when every video is done")

    monkeypatch.setattr(VisionEncoder, "from_pretrained", no_loading)
    report = extract_features(videos, output, tiny_clip_dir, fps=FPS, show_progress=False)
    assert sorted(report.already_done) == sorted(VIDEOS) and not report.extracted


def test_videos_that_cannot_be_decoded_are_listed_in_skipped_jsonl(videos, tmp_path, tiny_clip_encoder):
    (videos / "noise.mp4").write_bytes(bytes(range(256)) * 8)
    (videos / "empty.mkv").touch()
    write_audio(videos / "speech.mp4")
    write_video(videos / "long.mp4", 60, rate=10)  # 6 s > max_duration
    output = tmp_path / "out" / "features.hdf5"
    report = extract_features(videos, output, tiny_clip_encoder, fps=FPS, max_duration=5.9, show_progress=False)
    assert sorted(report.extracted) == sorted(VIDEOS), "the other videos go on"
    assert sorted(open_features(output)) == sorted(VIDEOS)
    lines = (tmp_path / "out" / "skipped.jsonl").read_text().splitlines()
    skipped = {item["video_id"]: item for item in map(json.loads, lines)}
    assert {video_id: item["reason"] for video_id, item in skipped.items()} == {
        "empty": "empty_file",
        "long": "too_long",
        "noise": "unreadable",
        "speech": "no_video_stream",
    }
    assert skipped["speech"] == {
        "video_id": "speech",
        "path": str(videos / "speech.mp4"),
        "reason": "no_video_stream",
        "detail": "streams: audio",
    }
    assert skipped["long"]["detail"] == "header says 6.0 s > max_duration 5.9 s"
    assert report.to_dict()["skipped"] == {"empty_file": 1, "too_long": 1, "unreadable": 1, "no_video_stream": 1}
