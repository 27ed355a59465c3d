from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import torch
import torch._inductor.config as inductor_config
from helpers import assert_same_weights, training_arguments, weights_of
from torch.optim.optimizer import register_optimizer_step_pre_hook

from dmr_jrg_hf.errors import ConfigError, DataFormatError
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor
from dmr_jrg_hf.training import DMRJRGTrainer, adam_optimizer, select_supervised_paragraphs


@pytest.mark.parametrize(
    "overrides",
    [{}, {"clip_alignment_weight": 1.0, "alignment_pseudo_label_weight": 10.0}],
    ids=["paper objective", "with the alignment pseudo-labels"],
)
@pytest.mark.portability
def test_weak_training_never_reads_timestamps(tmp_path, small_benchmark, build_model, overrides):
    rows = small_benchmark.paragraphs["train"]
    rng = random.Random(3)
    scrambled = [
        dict(row, timestamps=[sorted([rng.uniform(0, row["duration"]), rng.uniform(0, row["duration"])]) for _ in ts])
        for row, ts in ((row, row["timestamps"]) for row in rows)
    ]
    results = []
    for name, train_rows in (("original", rows), ("random timestamps", scrambled)):
        model, processor = build_model(seed=1, **overrides)
        DMRJRGTrainer(
            model, processor, training_arguments(tmp_path / name), train_rows, small_benchmark.features
        ).train()
        results.append(weights_of(model))
    assert_same_weights(*results, case="weak supervision with scrambled timestamps")
    changed = any(
        not torch.equal(a, b)
        for a, b in zip(results[0].values(), build_model(seed=1, **overrides)[0].state_dict().values(), strict=True)
    )
    assert changed, "training did not change any weight"


@pytest.mark.portability
def test_kill_and_resume_equals_uninterrupted_run(tmp_path, small_benchmark, build_model):
    rows, features = small_benchmark.paragraphs["train"], small_benchmark.features
    model, processor = build_model(seed=2, num_train_epochs=3)
    DMRJRGTrainer(model, processor, training_arguments(tmp_path / "straight"), rows, features).train()
    uninterrupted = weights_of(model)

    model, processor = build_model(seed=2, num_train_epochs=2)
    DMRJRGTrainer(model, processor, training_arguments(tmp_path / "killed"), rows, features).train()
    # A new process would rebuild everything from scratch: a differently seeded model proves load_state restores it.
    model, processor = build_model(seed=99, num_train_epochs=3)
    resumed_args = training_arguments(tmp_path / "killed", resume_from_checkpoint="latest")
    output = DMRJRGTrainer(model, processor, resumed_args, rows, features).train()
    assert output.epochs_completed == 3
    assert_same_weights(uninterrupted, weights_of(model), case="resume from epoch 2 of 3")


@pytest.mark.portability
def test_checkpoints_are_rotated_and_final_model_is_saved(tmp_path, small_benchmark, build_model):
    model, processor = build_model(num_train_epochs=3)
    args = training_arguments(tmp_path, save_total_limit=2)
    DMRJRGTrainer(model, processor, args, small_benchmark.paragraphs["train"], small_benchmark.features).train()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch-0002", "epoch-0003"]
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "vocab.json").is_file()
    assert not (tmp_path / "README.md").exists() and not (tmp_path / "modeling_dmr_jrg.py").exists(), "no card or code"
    assert "auto_map" not in (tmp_path / "config.json").read_text(), "finishing the folder is the caller's job"
    loaded = DMRJRGModel.from_pretrained(tmp_path)
    assert_same_weights(weights_of(model), weights_of(loaded), case="final save_pretrained")
    assert DMRJRGProcessor.from_pretrained(tmp_path).vocabulary.words == processor.vocabulary.words


def test_validation_selects_best_and_logs_tensorboard(tmp_path, small_benchmark, build_model):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model, processor = build_model(num_train_epochs=2)
    args = training_arguments(tmp_path, eval_every_epochs=1, report_to_tensorboard=True, save_every_epochs=0)
    trainer = DMRJRGTrainer(
        model,
        processor,
        args,
        small_benchmark.paragraphs["train"],
        small_benchmark.features,
        eval_rows=small_benchmark.paragraphs["validation"],
    )
    output = trainer.train()
    assert [entry["epoch"] for entry in output.history] == [1, 2]
    values = [entry["results"]["vprg"]["R@1,IoU=0.5"] for entry in output.history]
    assert output.best_metric == max(values) and output.best_epoch == 1 + values.index(max(values))
    assert (tmp_path / "best" / "model.safetensors").is_file()
    summary = json.loads((tmp_path / "train_results.json").read_text())
    assert summary["best_metric_name"] == "vprg/R@1,IoU=0.5"
    events = list((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file"
    tags = set()
    for event_file in events:
        accumulator = EventAccumulator(str(event_file))
        accumulator.Reload()
        tags |= set(accumulator.Tags()["scalars"])
    for tag in ("train/loss", "train/local_loss", "train/learning_rate", "eval/vprg/R@1,IoU=0.5"):
        assert tag in tags, f"missing TensorBoard tag {tag}; found {sorted(tags)[:10]}"


@pytest.mark.parametrize("supervision", ["full", "semi"])
def test_supervised_modes_add_the_timestamp_loss(tmp_path, small_benchmark, build_model, supervision):
    model, processor = build_model(supervision=supervision, semi_supervised_fraction=0.5)
    trainer = DMRJRGTrainer(
        model, processor, training_arguments(tmp_path), small_benchmark.paragraphs["train"], small_benchmark.features
    )
    flags = [row["has_timestamps"] for row in trainer.train_rows]
    expected = len(flags) if supervision == "full" else round(0.5 * len(flags))
    assert sum(flags) == expected, supervision
    trainer.train()
    batch = trainer.collator(trainer.train_rows[:4])
    model.train()
    output = model(**batch)
    assert output.supervised_loss is not None and math.isfinite(output.supervised_loss.item()), supervision


def test_semi_selection_is_seeded():
    first = select_supervised_paragraphs(50, 0.2, seed=1)
    assert first.sum() == 10
    np.testing.assert_array_equal(first, select_supervised_paragraphs(50, 0.2, seed=1))
    assert not np.array_equal(first, select_supervised_paragraphs(50, 0.2, seed=2))
    assert select_supervised_paragraphs(3, 0.01, seed=0).sum() == 1, "at least one paragraph keeps timestamps"


def test_bad_settings_are_named(tmp_path, small_benchmark, build_model):
    with pytest.raises(ConfigError, match="mixed_precision"):
        training_arguments(tmp_path, mixed_precision="fp8")
    model, processor = build_model()
    with pytest.raises(ConfigError, match="train_rows is empty"):
        DMRJRGTrainer(model, processor, training_arguments(tmp_path), [], small_benchmark.features)
    trainer = DMRJRGTrainer(
        model,
        processor,
        training_arguments(tmp_path, resume_from_checkpoint=str(tmp_path / "nowhere")),
        small_benchmark.paragraphs["train"],
        small_benchmark.features,
    )
    with pytest.raises(DataFormatError, match="nowhere: no such folder"):
        trainer.train()


@pytest.mark.portability
def test_bf16_and_gradient_accumulation(tmp_path, small_benchmark, build_model):
    model, processor = build_model()
    before = weights_of(model)
    args = training_arguments(tmp_path, mixed_precision="bf16", gradient_accumulation_steps=2, save_every_epochs=0)
    output = DMRJRGTrainer(
        model, processor, args, small_benchmark.paragraphs["train"], small_benchmark.features
    ).train()
    assert output.global_step == 2, "12 paragraphs / batch 4 = 3 batches -> 2 optimizer steps with accumulation 2"
    assert all(torch.isfinite(tensor).all() for tensor in weights_of(model).values())
    assert any(not torch.equal(before[name], tensor) for name, tensor in weights_of(model).items())


def test_torch_compile_is_off_by_default(tmp_path, small_benchmark, build_model):
    model, processor = build_model()
    rows = small_benchmark.paragraphs["train"]
    trained = [
        DMRJRGTrainer(model, processor, training_arguments(tmp_path / str(on), torch_compile=on), rows, {})._build()[0]
        for on in (False, True)
    ]
    assert not isinstance(trained[0], torch._dynamo.eval_frame.OptimizedModule), "eager unless asked"
    assert isinstance(trained[1], torch._dynamo.eval_frame.OptimizedModule) and trained[1]._orig_mod is model


def test_the_optimizer_is_fused_adam_and_matches_the_per_parameter_loop(tmp_path, small_benchmark, build_model):
    model, processor = build_model()
    rows = small_benchmark.paragraphs["train"]
    optimizer = DMRJRGTrainer(model, processor, training_arguments(tmp_path), rows, {})._build()[1]
    assert optimizer.optimizer.defaults["fused"], "the fused kernel on a CPU"
    assert not adam_optimizer([torch.nn.Parameter(torch.zeros(1))], 1e-3, torch.device("meta")).defaults["fused"]
    torch.manual_seed(0)
    initial = [torch.randn(64, 9), torch.randn(5), torch.randn(3, 4, 2)]
    trained = []
    for fused in (True, False):
        parameters = [torch.nn.Parameter(tensor.clone()) for tensor in initial]
        adam = torch.optim.Adam(parameters, lr=1e-2, fused=fused)
        gradients = torch.Generator().manual_seed(1)
        for _ in range(30):
            for parameter in parameters:
                parameter.grad = torch.randn(parameter.shape, generator=gradients)
            adam.step()
        trained.append(parameters)
    for index, (fused, loop) in enumerate(zip(*trained, strict=True)):
        assert not torch.equal(fused, initial[index]), "the steps moved the weights"
        torch.testing.assert_close(fused, loop, msg=f"parameter {index}: fused Adam against the loop")


@pytest.mark.slow
def test_a_compiled_model_takes_the_same_first_step(tmp_path, small_benchmark, build_model, monkeypatch):
    """The gradients the optimizer receives, compiled against eager (dropout on). Weights after a step are not
    compared: Adam's first update is lr * g / (|g| + eps), so a gradient of 1e-9 whose sign the kernels' summation
    order flips moves its weight by 2 * lr either way."""
    # Inductor draws dropout masks from its own generator unless told to fall back to eager's random operators.
    monkeypatch.setattr(inductor_config, "fallback_random", True)
    captured: dict[int, torch.Tensor] = {}  # id(parameter) -> its gradient at the optimizer step
    gradients: list[dict[str, torch.Tensor]] = []

    def record(optimizer, args, kwargs):
        captured.update({id(p): p.grad.clone() for group in optimizer.param_groups for p in group["params"]})

    handle = register_optimizer_step_pre_hook(record)
    try:
        for compiled in (False, True):
            model, processor = build_model(seed=1)
            captured.clear()
            args = training_arguments(
                tmp_path / str(compiled), torch_compile=compiled, save_every_epochs=0, max_steps_per_epoch=1
            )
            rows = small_benchmark.paragraphs["train"]
            DMRJRGTrainer(model, processor, args, rows, small_benchmark.features).train()
            gradients.append({name: captured[id(p)] for name, p in model.named_parameters() if id(p) in captured})
    finally:
        handle.remove()
    eager, compiled = gradients
    assert eager.keys() == compiled.keys() and len(eager) == len(list(model.parameters()))
    assert any(grad.abs().max() > 0 for grad in eager.values()), "the step has gradients to compare"
    for name, grad in eager.items():
        message = f"compile changed the gradient of {name}"
        torch.testing.assert_close(compiled[name], grad, atol=1e-5, rtol=1e-3, msg=message)


def test_gradient_checkpointing_trains_the_same_weights(tmp_path, small_benchmark, build_model):
    results = []
    for checkpointing in (False, True):
        model, processor = build_model(seed=1, tan_implementation="valid_cells")
        args = training_arguments(
            tmp_path / str(checkpointing), gradient_checkpointing=checkpointing, save_every_epochs=0
        )
        DMRJRGTrainer(model, processor, args, small_benchmark.paragraphs["train"], small_benchmark.features).train()
        assert model.local_branch.temporal_adjacent_network.gradient_checkpointing is checkpointing
        results.append(weights_of(model))
    for name, tensor in results[0].items():
        torch.testing.assert_close(results[1][name], tensor, msg=f"gradient checkpointing changed {name}")
