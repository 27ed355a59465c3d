"""Extracted features meet trained models: the processor's feature spec records encoder and rate, indexing features of
another encoder or rate is a clear error, durations come from the feature file, ``dmr-jrg index --videos`` extracts
and indexes in one step, and ``dmr-jrg train`` on extracted features records their extractor."""

from __future__ import annotations

import json
import shutil

import pytest
from video_helpers import write_video

from dmr_jrg_hf.cli import main
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.data import open_features
from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.features import extract_features
from dmr_jrg_hf.inference import VideoCorpusIndex
from dmr_jrg_hf.model_builder import build_model_and_processor
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor

SENTENCES = ["a person opens a door", "a person sits down on a chair"]
DURATIONS = {"kitchen": 2.5, "garden": 3.0}


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "kitchen.mp4", 25, rate=10)  # 2.5 s: 2 rows at 1 fps (T / fps = 2 s, not the duration)
    write_video(folder / "garden.mp4", 21, rate=7)  # 3 s: 3 rows
    return folder


def _model(spec: dict | None):
    config = DMRJRGConfig.from_preset("tiny", feature_dim=16)
    model, processor = build_model_and_processor(config, [{"sentences": SENTENCES}], video_feature_spec=spec)
    return model.eval(), processor


def _save(folder, spec: dict | None):
    model, processor = _model(spec)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _spec(encoder, fps: float = 1.0) -> dict:
    return {"name": "tiny-clip", "encoder": str(encoder), "rate_per_second": fps, "feature_dim": 16}


def test_index_build_takes_durations_from_the_feature_file(videos, tmp_path, tiny_clip_encoder, tiny_clip_dir):
    path = tmp_path / "features.hdf5"
    extract_features(videos, path, tiny_clip_encoder, fps=1.0, show_progress=False)
    model, processor = _model(_spec(tiny_clip_dir))
    index = VideoCorpusIndex.build(model, processor, path, show_progress=False)
    durations = dict(zip(index.video_ids, index.durations, strict=True))
    assert durations == pytest.approx(DURATIONS), "the decoded durations, not frames / rate (2 s for kitchen)"


def test_features_of_another_rate_or_encoder_are_a_clear_error(videos, tmp_path, tiny_clip_encoder, tiny_clip_dir):
    path = tmp_path / "features.hdf5"
    extract_features(videos, path, tiny_clip_encoder, fps=2.0, show_progress=False)
    model, processor = _model(_spec(tiny_clip_dir, fps=1.0))
    with pytest.raises(InputError, match=r"video 'garden': features at 2.0 per second, but this model expects 1.0"):
        VideoCorpusIndex.build(model, processor, path, show_progress=False)
    model, processor = _model(_spec("openai/clip-vit-large-patch14", fps=2.0))
    with pytest.raises(InputError, match="features of encoder '.*tiny-clip-vit0', but this model was trained on"):
        VideoCorpusIndex.build(model, processor, path, show_progress=False)
    copy = shutil.copytree(tiny_clip_dir, tmp_path / "models" / tiny_clip_dir.name)  # a local copy: the same encoder
    model, processor = _model(_spec(copy, fps=2.0))
    assert len(VideoCorpusIndex.build(model, processor, path, show_progress=False)) == 2


def test_a_processor_saved_without_encoder_or_rate_still_loads_and_indexes(videos, tmp_path, tiny_clip_encoder):
    path = tmp_path / "features.hdf5"
    extract_features(videos, path, tiny_clip_encoder, fps=1.0, show_progress=False)
    folder = _save(tmp_path / "old-model", {"name": "i3d"})  # what processors saved before this change hold
    processor = DMRJRGProcessor.from_pretrained(folder)
    assert processor.video_feature_spec == {"name": "i3d"}, "missing keys stay missing: unknown, not checked"
    index = VideoCorpusIndex.build(DMRJRGModel.from_pretrained(folder).eval(), processor, path, show_progress=False)
    assert sorted(index.video_ids) == ["garden", "kitchen"]


def test_index_videos_extracts_then_indexes(videos, tmp_path, tiny_clip_dir, capsys):
    model = _save(tmp_path / "model", _spec(tiny_clip_dir))
    index_dir = tmp_path / "corpus"
    assert main(["index", "--model", str(model), "--videos", str(videos), "--output-dir", str(index_dir), "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["videos"] == 2
    features = open_features(tmp_path / "corpus.features.hdf5")  # beside the index folder
    assert features.file_metadata()["encoder"] == str(tiny_clip_dir.resolve()) and sorted(features) == sorted(
        DURATIONS
    )
    assert (tmp_path / "skipped.jsonl").read_text() == "", "skipped.jsonl beside the feature file"
    index = VideoCorpusIndex.load(index_dir)
    assert dict(zip(index.video_ids, index.durations, strict=True)) == pytest.approx(DURATIONS)
    assert index.video_files == {name: str((videos / f"{name}.mp4").resolve()) for name in DURATIONS}, "the files"
    assert main(["search", "a person opens a door", "--model", str(model), "--index", str(index_dir), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["queries"][0]["results"]
    assert {row["video_id"] for row in results} == set(DURATIONS)


def test_index_videos_add_indexes_only_the_new_videos(videos, tmp_path, tiny_clip_dir, capsys):
    model = _save(tmp_path / "model", _spec(tiny_clip_dir))
    index_dir, common = tmp_path / "corpus", ["--model", str(model), "-q"]
    assert main(["index", *common, "--videos", str(videos), "--output-dir", str(index_dir)]) == 0
    capsys.readouterr()
    more = tmp_path / "more"
    more.mkdir()
    write_video(more / "street.mp4", 14, rate=7)
    assert main(["index", *common, "--videos", str(more), "--output-dir", str(index_dir), "--add"]) == 0
    assert json.loads(capsys.readouterr().out)["videos"] == 3
    assert sorted(VideoCorpusIndex.load(index_dir).video_ids) == ["garden", "kitchen", "street"]
    assert VideoCorpusIndex.load(index_dir).video_file("street") == (more / "street.mp4").resolve()
    assert sorted(open_features(tmp_path / "corpus.features.hdf5")) == ["garden", "kitchen", "street"]


def test_index_videos_with_another_rate_or_encoder_fails_before_extracting(videos, tmp_path, tiny_clip_dir, capsys):
    model = _save(tmp_path / "model", _spec(tiny_clip_dir))
    common = ["index", "--model", str(model), "--videos", str(videos), "--output-dir", str(tmp_path / "corpus"), "-q"]
    assert main([*common, "--fps", "2"]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(
        f"dmr-jrg index: error: videos {videos}: features at 2.0 per second, but this model expects"
    )
    other = shutil.copytree(tiny_clip_dir, tmp_path / "other-encoder")
    assert main([*common, "--encoder", str(other)]) == 1
    assert "but this model was trained on features of" in capsys.readouterr().err
    assert not (tmp_path / "corpus.features.hdf5").exists(), "nothing was extracted"


def test_index_videos_needs_an_encoder_when_the_model_records_none(videos, tmp_path, tiny_clip_dir, capsys):
    model = _save(tmp_path / "model", None)
    common = ["index", "--model", str(model), "--videos", str(videos), "--output-dir", str(tmp_path / "corpus"), "-q"]
    assert main(common) == 1
    assert "the model records no video encoder" in capsys.readouterr().err
    assert main([*common, "--encoder", str(tiny_clip_dir)]) == 0


def test_train_on_extracted_features_records_their_extractor(videos, tmp_path, tiny_clip_encoder, capsys):
    features = tmp_path / "features.hdf5"
    extract_features(videos, features, tiny_clip_encoder, fps=1.0, show_progress=False)
    annotations = tmp_path / "charades"
    annotations.mkdir()
    for split, (video_id, sentence) in {"train": ("kitchen", SENTENCES[0]), "test": ("garden", SENTENCES[1])}.items():
        (annotations / f"charades_sta_{split}.txt").write_text(f"{video_id} 0.5 1.5##{sentence}.\n")
        (annotations / f"Charades_v1_{split}.csv").write_text(f"id,length\n{video_id},{DURATIONS[video_id]}\n")
    run = tmp_path / "run"
    arguments = [
        "train",
        "--benchmark",
        "charades_sta",
        "--annotations",
        str(annotations),
        "--features",
        str(features),
    ]
    assert main([*arguments, "--epochs", "1", "--output-dir", str(run), "-q"]) == 0
    capsys.readouterr()
    spec = DMRJRGProcessor.from_pretrained(run).video_feature_spec
    assert (spec["encoder"], spec["rate_per_second"], spec["feature_dim"]) == (tiny_clip_encoder.name, 1.0, 16)
    index_dir = tmp_path / "corpus"
    assert main(["index", "--model", str(run), "--videos", str(videos), "--output-dir", str(index_dir), "-q"]) == 0
    assert len(VideoCorpusIndex.load(index_dir)) == 2, "index --videos uses the encoder and rate the model records"
