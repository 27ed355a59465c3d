"""Accelerate trainer of DMR-JRG (paper §III-H, §IV-B): Adam, step decay, grad clip, checkpoint/resume, TensorBoard.

The same code runs on CPU, one GPU, several GPUs (DDP) and several machines through `accelerate launch`. With
``config.supervision == "weak"`` (the paper's setting) the training rows lose their ``timestamps`` column before the
data loader is built, so no code path can read a training timestamp.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator, DataLoaderConfiguration
from accelerate.logging import get_logger
from accelerate.utils import set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..data.collator import DMRJRGCollator
from ..errors import ConfigError
from ..files import atomic_folder
from ..modeling_dmr_jrg import DMRJRGModelOutput
from ..version import __version__
from .arguments import TrainingArguments
from .checkpointing import (
    finalize_checkpoint,
    latest_valid_checkpoint,
    read_checkpoint_state,
    rewrite_checkpoint_state,
    rotate_checkpoints,
    staging_folder,
    verify_checkpoint,
)
from .evaluation import evaluate_model
from .run_folder import check_split_features, prepare_output_dir
from .schedules import step_decay_schedule

__all__ = ["DMRJRGTrainer", "TrainOutput", "adam_optimizer", "select_supervised_paragraphs"]

logger = get_logger(__name__)

LOSS_FIELDS = tuple(field.name for field in fields(DMRJRGModelOutput) if field.name.endswith("loss"))


# PyTorch 2.13's CPU Inductor computes wrong gradients for the retrieval loss of this model's training step (forward
# values right, parameter gradients off by up to 12x their size; the accuracy minifier names one 827-node backward
# graph) when it inlines chains of pointwise operators into the fused C++ kernels that read them. Realising every
# intermediate buffer (or not fusing at all) gives eager mode's gradients; tests/training/test_trainer.py checks them.
CPU_INDUCTOR_OPTIONS = {"realize_opcount_threshold": 1}

# Devices with torch's fused Adam kernel (`adam_optimizer`).
FUSED_ADAM_DEVICES = ("cpu", "cuda")


def adam_optimizer(
    parameters: Sequence[torch.nn.Parameter], learning_rate: float, device: torch.device
) -> torch.optim.Adam:
    """The paper's Adam (§IV-B), as torch's fused kernel where ``device`` has one (`FUSED_ADAM_DEVICES`).

    The fused kernel updates every parameter in one operator instead of a dozen per parameter: on a 2-core CPU the
    step of the hidden-128 Charades-STA model (156 tensors, 6.3M values) takes 9 ms instead of 36; on a GPU it is one
    launch instead of hundreds. It computes the same update, rounded differently in the last bit (the test holds it to
    the per-parameter loop within float tolerance), so a seeded run differs from one with the loop.
    """
    return torch.optim.Adam(parameters, lr=learning_rate, fused=device.type in FUSED_ADAM_DEVICES)


@dataclass
class TrainOutput:
    """What a finished run reports: steps, epochs, the best validation value and every evaluation."""

    global_step: int
    epochs_completed: int
    best_metric: float | None
    best_epoch: int | None
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0


def select_supervised_paragraphs(num_paragraphs: int, fraction: float, seed: int) -> np.ndarray:
    """``semi`` supervision: a seeded choice of ``round(fraction * n)`` (at least one) paragraphs with timestamps."""
    chosen = np.zeros(num_paragraphs, dtype=bool)
    count = max(1, round(fraction * num_paragraphs))
    chosen[np.random.default_rng(seed).permutation(num_paragraphs)[:count]] = True
    return chosen


def _rows_for_supervision(rows: Sequence[Mapping[str, Any]], config, seed: int) -> list[dict[str, Any]]:
    """Weak: drop timestamps. Full: keep them for every row. Semi: keep them and flag the chosen paragraphs."""
    rows = [dict(row) for row in rows]
    if config.supervision == "weak":
        for row in rows:
            row.pop("timestamps", None)
        return rows
    flags = (
        np.ones(len(rows), dtype=bool)
        if config.supervision == "full"
        else select_supervised_paragraphs(len(rows), config.semi_supervised_fraction, seed)
    )
    for row, flag in zip(rows, flags, strict=True):
        row["has_timestamps"] = bool(flag)
    return rows


@contextmanager
def _unchanged_random_state() -> Iterator[None]:
    """Restore the Python, NumPy and torch (CPU and CUDA) generators when the block ends."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        yield
    random.setstate(python_state)
    np.random.set_state(numpy_state)


class DMRJRGTrainer:
    """Train a `DMRJRGModel` on paragraph rows and a video-feature mapping.

    The run folder ends with the final model (the best epoch's when validation ran) and its processor
    (``save_pretrained``) next to the run's own records. A caller that shares the model finishes the folder with
    `dmr_jrg_hf.hub.complete_model_folder` (remote code and model card), as ``dmr-jrg train`` and the demo do.

    Args:
        model (DMRJRGModel): built from the config the processor was made with (word vectors already set).
        processor (DMRJRGProcessor): turns rows into model inputs.
        args (TrainingArguments): run settings.
        train_rows (Sequence[Mapping]): paragraph rows (a `datasets.Dataset` split or a list of dicts).
        features (Mapping[str, np.ndarray]): video id -> per-frame features of the training videos.
        eval_rows (Sequence[Mapping], optional): validation rows for evaluation and best-checkpoint selection.
        eval_features (Mapping[str, np.ndarray], optional): features of the validation videos (default: ``features``).

    Example:
        >>> args = TrainingArguments("outputs/run")
        >>> trainer = DMRJRGTrainer(model, processor, args, train_rows, features)  # doctest: +SKIP
        >>> trainer.train()  # doctest: +SKIP
        >>> complete_model_folder(args.output_dir)  # doctest: +SKIP
    """

    def __init__(
        self,
        model,
        processor,
        args: TrainingArguments,
        train_rows: Sequence[Mapping[str, Any]],
        features: Mapping[str, np.ndarray],
        eval_rows: Sequence[Mapping[str, Any]] | None = None,
        eval_features: Mapping[str, np.ndarray] | None = None,
    ):
        if len(train_rows) == 0:
            raise ConfigError("train_rows is empty")
        self.model = model
        self.processor = processor
        self.args = args
        self.config = model.config
        self.train_rows = _rows_for_supervision(train_rows, self.config, args.semi_supervised_seed)
        self.features = features
        self.eval_rows = eval_rows
        self.eval_features = eval_features if eval_features is not None else features
        self.accelerator = Accelerator(
            mixed_precision=args.mixed_precision,
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            log_with="tensorboard" if args.report_to_tensorboard else None,
            project_dir=str(args.output_path),
            dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
        )

    # Setup -------------------------------------------------------------------------------------------------------

    def _build(self):
        set_seed(self.args.seed)
        if self.args.gradient_checkpointing:
            self.model.activation_checkpointing_enable()
        self.collator = DMRJRGCollator(
            self.processor,
            self.features,
            include_timestamps=self.config.supervision != "weak",
            seed=self.args.seed,
        )
        loader = DataLoader(
            self.train_rows,
            batch_size=self.config.train_batch_size,
            shuffle=True,
            collate_fn=self.collator,
            num_workers=self.args.num_workers,
            generator=torch.Generator().manual_seed(self.args.seed),
        )
        trainable = [parameter for parameter in self.model.parameters() if parameter.requires_grad]
        optimizer = adam_optimizer(trainable, self.config.learning_rate, self.accelerator.device)
        model, optimizer, loader = self.accelerator.prepare(self.model, optimizer, loader)
        if self.args.torch_compile:  # shares the parameters: saving and evaluation use self.model
            cpu = self.accelerator.device.type == "cpu"
            model = torch.compile(model, options=CPU_INDUCTOR_OPTIONS if cpu else None)
        batches = (
            len(loader) if self.args.max_steps_per_epoch is None else min(len(loader), self.args.max_steps_per_epoch)
        )
        self.steps_per_epoch = max(1, math.ceil(batches / self.args.gradient_accumulation_steps))
        # The prepared scheduler steps once per process at every optimizer step (Accelerate's AcceleratedScheduler).
        schedule = step_decay_schedule(
            optimizer,
            self.steps_per_epoch * self.accelerator.num_processes,
            self.config.lr_decay_factor,
            self.config.lr_decay_epochs,
        )
        schedule = self.accelerator.prepare(schedule)
        return model, optimizer, loader, schedule

    def _log_run_header(self) -> None:
        accelerator = self.accelerator
        logger.info(
            "dmr_jrg_hf %s | objective %s, supervision %s | seed %d | processes %d | precision %s | "
            "%d training / %d validation paragraphs",
            __version__,
            self.config.objective,
            self.config.supervision,
            self.args.seed,
            accelerator.num_processes,
            accelerator.mixed_precision,
            len(self.train_rows),
            0 if self.eval_rows is None else len(self.eval_rows),
        )
        resolved_config = self.config.to_json_string(use_diff=False)
        logger.info("config: %s", resolved_config)
        if accelerator.is_main_process:
            self.args.output_path.mkdir(parents=True, exist_ok=True)
            (self.args.output_path / "run_config.json").write_text(resolved_config)
            (self.args.output_path / "training_args.json").write_text(json.dumps(self.args.to_dict(), indent=2))
        if self.args.report_to_tensorboard:
            scalars = {
                key: value
                for key, value in self.config.to_dict().items()
                if isinstance(value, int | float | str | bool)
            }
            accelerator.init_trackers("logs", config=scalars)

    # Checkpoints -------------------------------------------------------------------------------------------------

    @property
    def _checkpoints_dir(self) -> Path:
        return self.args.output_path / "checkpoints"

    def _save_checkpoint(self, epoch: int, state: dict[str, Any]) -> Path:
        """Write the resumable state of ``epoch`` atomically (see `checkpointing`), then rotate old checkpoints."""
        folder = self._checkpoints_dir / f"epoch-{epoch:04d}"
        staging = staging_folder(folder)
        if self.accelerator.is_main_process and staging.exists():
            shutil.rmtree(staging)  # left by a save that crashed
        self.accelerator.wait_for_everyone()
        self.accelerator.save_state(str(staging))
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            finalize_checkpoint(staging, folder, state)
            for removed in rotate_checkpoints(self._checkpoints_dir, self.args.save_total_limit):
                logger.info("removed checkpoint %s (keeping the %d newest)", removed, self.args.save_total_limit)
        self.accelerator.wait_for_everyone()
        return folder

    def _checkpoint_to_resume(self) -> Path | None:
        """The verified checkpoint ``resume_from_checkpoint`` names (``latest``: the newest valid one), before
        anything is written."""
        target = self.args.resume_from_checkpoint
        if target is None:
            return None
        if target == "latest":
            return latest_valid_checkpoint(self._checkpoints_dir)
        verify_checkpoint(Path(target))
        return Path(target)

    def _resume(self, folder: Path | None) -> dict[str, Any]:
        if folder is None:
            return {"epoch": 0, "global_step": 0, "best_metric": None, "best_epoch": None, "history": []}
        state = read_checkpoint_state(folder)
        self.accelerator.load_state(str(folder))
        logger.info("resumed from %s at epoch %d, step %d", folder, state["epoch"], state["global_step"])
        return state

    # Loop --------------------------------------------------------------------------------------------------------

    def _train_epoch(self, model, optimizer, loader, schedule, epoch: int, global_step: int) -> int:
        accelerator = self.accelerator
        model.train()
        loader.set_epoch(epoch)
        self.collator.set_epoch(epoch)
        running: dict[str, float] = {}
        limit = self.args.max_steps_per_epoch or len(loader)
        progress = tqdm(
            total=min(limit, len(loader)),
            desc=f"epoch {epoch + 1}/{self.config.num_train_epochs}",
            unit="batch",
            disable=not (self.args.show_progress and accelerator.is_local_main_process),
        )
        for batch_index, batch in enumerate(loader):
            if batch_index >= limit:
                break
            with accelerator.accumulate(model):
                output = model(**batch)
                accelerator.backward(output.loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), self.config.max_grad_norm)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
            terms = {
                name: getattr(output, name).item() for name in LOSS_FIELDS if getattr(output, name, None) is not None
            }
            running = {name: 0.9 * running.get(name, value) + 0.1 * value for name, value in terms.items()}
            progress.set_postfix({name.replace("_loss", ""): f"{value:.3f}" for name, value in running.items()})
            progress.update()
            if accelerator.sync_gradients:
                global_step += 1
                if global_step % self.args.log_every_steps == 0 and self.args.report_to_tensorboard:
                    scalars = {f"train/{name}": value for name, value in terms.items()}
                    scalars["train/learning_rate"] = schedule.get_last_lr()[0]
                    accelerator.log(scalars, step=global_step)
        progress.close()
        return global_step

    def evaluate(
        self, rows=None, features=None, protocols: Sequence[str] | None = None
    ) -> dict[str, dict[str, float]]:
        """Evaluate the current weights on ``rows`` (default: the validation rows), sharded over processes."""
        rows = self.eval_rows if rows is None else rows
        if rows is None:
            raise ConfigError("no evaluation rows were given")
        return evaluate_model(
            self.accelerator.unwrap_model(self.model),
            self.processor,
            rows,
            self.eval_features if features is None else features,
            protocols=protocols or self.args.eval_protocols,
            batch_size=self.config.eval_batch_size,
            accelerator=self.accelerator,
            show_progress=self.args.show_progress,
        )

    def _score(self, results: dict[str, dict[str, float]]) -> float:
        protocol, metric = self.args.best_metric.split("/", 1)
        if metric not in results.get(protocol, {}):
            raise ConfigError(f"best_metric {self.args.best_metric!r} is not among the evaluated results")
        return results[protocol][metric]

    def _save_best(self) -> None:
        if self.accelerator.is_main_process:
            with atomic_folder(self.args.output_path / "best") as staging:
                self.accelerator.unwrap_model(self.model).save_pretrained(staging)
                self.processor.save_pretrained(staging)
        self.accelerator.wait_for_everyone()

    def _validate(self, state: dict[str, Any]) -> None:
        """Evaluate after epoch ``state["epoch"]``, record it in ``state`` and keep the best weights."""
        epoch, global_step = state["epoch"], state["global_step"]
        with _unchanged_random_state():  # the checkpoint saved before it holds the generators the next epoch uses
            results = self.evaluate()
        value = self._score(results)
        state["history"].append({"epoch": epoch, "step": global_step, "results": results})
        if self.args.report_to_tensorboard:
            self.accelerator.log(
                {f"eval/{p}/{m}": v for p, metrics in results.items() for m, v in metrics.items()}, step=global_step
            )
        logger.info("epoch %d: %s = %.2f", epoch, self.args.best_metric, value)
        if state["best_metric"] is None or value > state["best_metric"]:
            state["best_metric"], state["best_epoch"] = value, epoch
            self._save_best()

    def _end_of_epoch(self, state: dict[str, Any]) -> None:
        """Save the epoch's checkpoint first, then validate: a crash in evaluation loses no training. The checkpoint
        is saved with ``pending_evaluation`` and rewritten with the validation results once they exist, so a run
        resumed from it evaluates that epoch first, exactly where the uninterrupted run did."""
        epoch = state["epoch"]
        evaluate = bool(self.eval_rows is not None and self.args.eval_every_epochs)
        evaluate = evaluate and epoch % self.args.eval_every_epochs == 0
        save = bool(self.args.save_every_epochs) and epoch % self.args.save_every_epochs == 0
        state["pending_evaluation"] = evaluate
        folder = self._save_checkpoint(epoch, state) if save else None
        if evaluate:
            self._validate(state)
            state["pending_evaluation"] = False
            if folder is not None and self.accelerator.is_main_process:
                rewrite_checkpoint_state(folder, state)
            self.accelerator.wait_for_everyone()

    def train(self) -> TrainOutput:
        """Run the epochs (resuming if asked), evaluate, keep the best weights and save the final model folder.

        Raises:
            ConfigError: ``output_dir`` holds another run and neither ``resume_from_checkpoint`` nor
                ``overwrite_output_dir`` is set.
            InputError: a video of the training or validation rows has no features, or bad ones (named).
            DataFormatError: the checkpoint to resume from is incomplete or damaged (names the file).
        """
        prepare_output_dir(self.args, self.accelerator.is_main_process)
        self.accelerator.wait_for_everyone()
        splits = {"training": (self.train_rows, self.features)}
        if self.eval_rows is not None:
            splits["validation"] = (self.eval_rows, self.eval_features)
        check_split_features(splits, self.config.feature_dim)
        checkpoint = self._checkpoint_to_resume()
        model, optimizer, loader, schedule = self._build()
        self._log_run_header()
        state = self._resume(checkpoint)
        if state.pop("pending_evaluation", False):
            self._validate(state)
        started = time.perf_counter()
        for epoch in range(state["epoch"], self.config.num_train_epochs):
            global_step = self._train_epoch(model, optimizer, loader, schedule, epoch, state["global_step"])
            state.update(epoch=epoch + 1, global_step=global_step)
            self._end_of_epoch(state)
        state.pop("pending_evaluation", None)
        output = self._finish(state, time.perf_counter() - started)
        self.accelerator.end_training()
        return output

    def _finish(self, state: dict[str, Any], seconds: float) -> TrainOutput:
        """Load the best weights (when validation ran) and save model + processor + results to ``output_dir``."""
        best = self.args.output_path / "best"
        unwrapped = self.accelerator.unwrap_model(self.model)
        if state["best_epoch"] is not None and best.is_dir():
            unwrapped.load_state_dict(type(unwrapped).from_pretrained(best).state_dict())
        output = TrainOutput(
            global_step=state["global_step"],
            epochs_completed=state["epoch"],
            best_metric=state["best_metric"],
            best_epoch=state["best_epoch"],
            history=state["history"],
            train_seconds=seconds,
        )
        if self.accelerator.is_main_process:
            unwrapped.save_pretrained(self.args.output_path)
            self.processor.save_pretrained(self.args.output_path)
            summary = {key: value for key, value in output.__dict__.items()}
            summary["best_metric_name"] = self.args.best_metric
            (self.args.output_path / "train_results.json").write_text(json.dumps(summary, indent=2))
        self.accelerator.wait_for_everyone()
        return output
