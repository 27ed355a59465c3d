"""Failure paths of training: a used output folder, damaged or interrupted checkpoints, a crash in validation and
bad features. Each case asserts the error class, that the message names the item, and what is left on disk."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from helpers import assert_same_weights, folder_snapshot, make_tiny_model, training_arguments, weights_of

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.errors import ConfigError, DataFormatError, InputError
from dmr_jrg_hf.hub import complete_model_folder
from dmr_jrg_hf.training import DMRJRGTrainer
from dmr_jrg_hf.training.checkpointing import checkpoint_sequence, latest_valid_checkpoint


def _train(build_model, benchmark, output_dir, seed=2, eval_rows=None, num_train_epochs=2, **overrides):
    model, processor = build_model(seed=seed, num_train_epochs=num_train_epochs)
    trainer = DMRJRGTrainer(
        model,
        processor,
        training_arguments(output_dir, **overrides),
        benchmark.paragraphs["train"],
        benchmark.features,
        eval_rows,
    )
    return model, trainer.train()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, small_benchmark):
    """A 3-epoch run (checkpoints epoch-0001 to epoch-0003 kept) and its final weights, built once per module."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    folder = tmp_path_factory.mktemp("run")

    def build(seed=0, **overrides):
        return make_tiny_model(small_benchmark, seed, **overrides)

    model, _ = _train(build, small_benchmark, folder, num_train_epochs=3, save_total_limit=3)
    AcceleratorState._reset_state(reset_partial_state=True)
    return folder, weights_of(model)


def _copy_run(finished_run, tmp_path):
    import shutil

    return shutil.copytree(finished_run[0], tmp_path / "run")


def test_a_used_output_folder_is_refused(finished_run, tmp_path, small_benchmark, build_model):
    folder = _copy_run(finished_run, tmp_path)
    before = folder_snapshot(folder)
    with pytest.raises(
        ConfigError, match=rf"output folder {folder} is not empty .*pass --overwrite .*--resume latest"
    ):
        _train(build_model, small_benchmark, folder)
    assert folder_snapshot(folder) == before


@pytest.mark.portability
def test_overwrite_starts_a_clean_run(finished_run, tmp_path, small_benchmark, build_model, monkeypatch):
    folder = _copy_run(finished_run, tmp_path)
    complete_model_folder(folder)  # as `dmr-jrg train` leaves it: model card and remote code too
    (folder / "notes.txt").write_text("the user's own file")
    seen = {}

    def look_when_training_starts(self, *args, **kwargs):
        seen.setdefault("entries", sorted(path.name for path in folder.iterdir()))
        return original(self, *args, **kwargs)

    original = DMRJRGTrainer._train_epoch
    monkeypatch.setattr(DMRJRGTrainer, "_train_epoch", look_when_training_starts)
    model, output = _train(build_model, small_benchmark, folder, num_train_epochs=1, overwrite_output_dir=True)
    assert seen["entries"] == ["notes.txt", "run_config.json", "training_args.json"], "nothing of the old run left"
    assert sorted(path.name for path in (folder / "checkpoints").iterdir()) == ["epoch-0001"]
    assert output.epochs_completed == 1 and (folder / "notes.txt").read_text() == "the user's own file"
    monkeypatch.undo()
    fresh, _ = _train(build_model, small_benchmark, tmp_path / "fresh", num_train_epochs=1)
    assert_same_weights(weights_of(fresh), weights_of(model), case="overwrite vs a new folder")


def test_checkpoints_are_kept_by_recency_not_by_name(finished_run, tmp_path, small_benchmark, build_model):
    folder = _copy_run(finished_run, tmp_path)
    checkpoints = folder / "checkpoints"
    _train(
        build_model,
        small_benchmark,
        folder,
        save_total_limit=1,
        resume_from_checkpoint=str(checkpoints / "epoch-0001"),
    )
    # The resumed run wrote epoch-0002 last; by name order epoch-0003 (the earlier run's) would have been kept.
    assert sorted(path.name for path in checkpoints.iterdir()) == ["epoch-0002"]
    assert checkpoint_sequence(checkpoints / "epoch-0002") == 4, "sequence continues after the 3 earlier saves"
    assert latest_valid_checkpoint(checkpoints).name == "epoch-0002"


DAMAGES = {
    "truncated trainer_state.json": ("trainer_state.json", "truncate"),
    "truncated model.safetensors": ("model.safetensors", "truncate"),
    "truncated optimizer.bin": ("optimizer.bin", "truncate"),
    "missing scheduler.bin": ("scheduler.bin", "delete"),
}


def _damage(checkpoint, name, how):
    path = checkpoint / name
    if how == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("case", list(DAMAGES))
def test_a_damaged_checkpoint_is_named(finished_run, tmp_path, small_benchmark, build_model, case):
    folder = _copy_run(finished_run, tmp_path)
    name, how = DAMAGES[case]
    checkpoint = folder / "checkpoints" / "epoch-0003"
    _damage(checkpoint, name, how)
    before = folder_snapshot(folder)
    expected = rf"checkpoint {checkpoint}: {name} (is missing|has \d+ bytes, the manifest says \d+ \(truncated\?\))"
    with pytest.raises(DataFormatError, match=expected):
        _train(build_model, small_benchmark, folder, num_train_epochs=4, resume_from_checkpoint=str(checkpoint))
    assert folder_snapshot(folder) == before, case


@pytest.mark.portability
@pytest.mark.parametrize("case", list(DAMAGES))
def test_resume_latest_falls_back_to_a_valid_checkpoint(
    finished_run, tmp_path, small_benchmark, build_model, caplog, case
):
    folder = _copy_run(finished_run, tmp_path)
    _damage(folder / "checkpoints" / "epoch-0003", *DAMAGES[case])
    with caplog.at_level(logging.WARNING):
        model, output = _train(
            build_model, small_benchmark, folder, seed=99, num_train_epochs=3, resume_from_checkpoint="latest"
        )
    assert f"skipping epoch-0003: checkpoint {folder / 'checkpoints' / 'epoch-0003'}: {DAMAGES[case][0]}" in (
        caplog.text
    )
    assert output.epochs_completed == 3
    assert_same_weights(finished_run[1], weights_of(model), case=f"{case}: resumed from epoch 2")


@pytest.mark.portability
def test_an_interrupted_save_resumes_bit_identical(finished_run, tmp_path, small_benchmark, build_model, monkeypatch):
    """Kill test: the save of epoch 3 fails between model.safetensors and optimizer.bin; `latest` falls back to
    epoch 2 and the resumed run ends with the uninterrupted run's weights."""
    import accelerate.checkpointing

    folder = tmp_path / "killed"
    original = accelerate.checkpointing.save

    def crash_before_the_optimizer_of_epoch_3(obj, path, *args, **kwargs):
        if ".epoch-0003.tmp" in str(path) and str(path).endswith("optimizer.bin"):
            raise KeyboardInterrupt("killed during the save")
        return original(obj, path, *args, **kwargs)

    monkeypatch.setattr(accelerate.checkpointing, "save", crash_before_the_optimizer_of_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        _train(build_model, small_benchmark, folder, num_train_epochs=3)
    monkeypatch.undo()
    staging = folder / "checkpoints" / ".epoch-0003.tmp"
    assert (staging / "model.safetensors").is_file() and not (staging / "optimizer.bin").exists()
    assert not (folder / "checkpoints" / "epoch-0003").exists(), "an interrupted save never looks complete"
    model, output = _train(
        build_model, small_benchmark, folder, seed=99, num_train_epochs=3, resume_from_checkpoint="latest"
    )
    assert output.epochs_completed == 3
    assert_same_weights(finished_run[1], weights_of(model), case="resume after a save killed between files")
    assert sorted(path.name for path in (folder / "checkpoints").iterdir()) == ["epoch-0002", "epoch-0003"]


@pytest.mark.portability
def test_a_crash_in_validation_loses_no_training(tmp_path, small_benchmark, build_model, monkeypatch):
    """The epoch's checkpoint is written before validation; the resumed run validates that epoch first."""
    validation = small_benchmark.paragraphs["validation"]
    straight_model, straight = _train(
        build_model, small_benchmark, tmp_path / "straight", 2, validation, eval_every_epochs=1
    )

    calls = []
    original = DMRJRGTrainer.evaluate

    def crash_on_the_second_validation(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("evaluation crashed")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DMRJRGTrainer, "evaluate", crash_on_the_second_validation)
    folder = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="evaluation crashed"):
        _train(build_model, small_benchmark, folder, 2, validation, eval_every_epochs=1)
    monkeypatch.undo()
    assert latest_valid_checkpoint(folder / "checkpoints").name == "epoch-0002", "epoch 2 was saved before its crash"
    model, resumed = _train(
        build_model, small_benchmark, folder, 99, validation, eval_every_epochs=1, resume_from_checkpoint="latest"
    )
    assert [entry["epoch"] for entry in resumed.history] == [1, 2]
    assert resumed.history == straight.history and resumed.best_epoch == straight.best_epoch
    assert_same_weights(weights_of(straight_model), weights_of(model), case="resume after a crash in validation")


@pytest.mark.parametrize("split", ["train", "validation"])
def test_bad_features_are_named_before_training(tmp_path, small_benchmark, build_model, split):
    rows = small_benchmark.paragraphs[split]
    video_id = rows[1]["video_id"]
    features = dict(small_benchmark.features)
    features[video_id] = np.array(features[video_id], copy=True)
    features[video_id][2, 3] = np.nan
    model, processor = build_model()
    trainer = DMRJRGTrainer(
        model,
        processor,
        training_arguments(tmp_path / "run"),
        small_benchmark.paragraphs["train"],
        features,
        small_benchmark.paragraphs["validation"],
    )
    label = "training" if split == "train" else "validation"
    with pytest.raises(InputError, match=rf"video '{video_id}' \({label}\): features contain NaN or Inf"):
        trainer.train()
    assert folder_snapshot(tmp_path / "run") == {}, "nothing written before the check"


def test_a_video_without_features_is_named(tmp_path, small_benchmark, build_model):
    features = dict(small_benchmark.features)
    missing = small_benchmark.paragraphs["train"][0]["video_id"]
    del features[missing]
    model, processor = build_model()
    trainer = DMRJRGTrainer(
        model, processor, training_arguments(tmp_path), small_benchmark.paragraphs["train"], features
    )
    with pytest.raises(InputError, match=rf"video '{missing}' \(training rows\): no features"):
        trainer.train()


@pytest.mark.parametrize("value", [0, -1, 1.5])
def test_run_settings_are_checked(tmp_path, value):
    with pytest.raises(ConfigError, match=rf"max_steps_per_epoch must be a positive integer, got {value}"):
        training_arguments(tmp_path, max_steps_per_epoch=value)


@pytest.mark.parametrize("field", ["num_train_epochs", "train_batch_size"])
def test_the_schedule_has_one_source_the_config(tmp_path, field):
    with pytest.raises(TypeError, match=field):
        training_arguments(tmp_path, **{field: 2})
    with pytest.raises(ConfigError, match=rf"{field} must be a positive int, got 0"):
        DMRJRGConfig.from_preset("tiny", **{field: 0})
