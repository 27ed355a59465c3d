"""Run settings of the trainer (what is not a model hyper-parameter: paths, seed, precision, evaluation cadence)."""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..metrics.report import PROTOCOLS
from ..validation import check_positive_int

__all__ = ["TrainingArguments", "MIXED_PRECISION_CHOICES"]

MIXED_PRECISION_CHOICES = ("no", "bf16", "fp16")


@dataclass
class TrainingArguments:
    """Settings of one training run. The schedule itself (lr, decay, epochs, batch size, grad clip, supervision)
    lives in `DMRJRGConfig` only (``num_train_epochs``, ``train_batch_size``, ...): set it there, e.g.
    ``DMRJRGConfig.from_preset("charades", num_train_epochs=5)``.

    Args:
        output_dir (str): run folder: checkpoints/, best/ (if evaluating), logs/, final model, results.json. A new
            run needs an empty or new folder (see ``overwrite_output_dir``); ``resume_from_checkpoint`` continues the
            run already there.
        overwrite_output_dir (bool): start a new run in a folder that holds another one: its checkpoints/, best/,
            logs/, run files and (in a folder a run wrote) final model files are removed first; other files are left
            alone.
        seed (int): seeds Python, numpy, torch, the sampler and the word masking.
        gradient_accumulation_steps (int): batches per optimizer step.
        mixed_precision (str): "no", "bf16" (CPU and GPU) or "fp16" (GPU). On a CPU without AMX (e.g. 2-core
            AVX-512 machines) bf16 matrix products are slower than fp32 and "no" is faster.
        gradient_checkpointing (bool): recompute each TAN layer in the backward pass instead of storing its
            activations (`DMRJRGModel.activation_checkpointing_enable`): less memory for large ``num_clips``, about
            one more TAN forward of time per step; results are unchanged.
        torch_compile (bool): train through ``torch.compile(model)`` (inductor; the prepared model is compiled, so
            DDP wraps the eager module). Off by default: on a CPU the minutes of compilation outweigh the gain on
            short runs, and on a CPU Inductor runs with ``CPU_INDUCTOR_OPTIONS`` (PyTorch 2.13's default fusion gives
            wrong gradients for this step, see `dmr_jrg_hf.training.trainer`). The Bi-LSTM stays eager (Dynamo does
            not trace LSTMs by default). The step reads no device values and keeps its shapes per batch shape, so it
            suits CUDA graphs on a GPU.
        eval_every_epochs (int): evaluate on the validation rows every N epochs (0: never).
        best_metric (str): ``protocol/metric`` that selects the best checkpoint, e.g. ``vprg/R@1,IoU=0.5``.
        eval_protocols (tuple[str, ...]): protocols computed at each validation.
        save_every_epochs (int): write a resumable checkpoint every N epochs (0: never).
        save_total_limit (int): resumable checkpoints kept: the most recently written ones (by save order, not by
            folder name).
        resume_from_checkpoint (str, optional): a checkpoint folder, or "latest" for the most recently written one in
            output_dir that is complete (damaged ones are skipped with a warning).
        max_steps_per_epoch (int, optional): cut every epoch after this many batches (smoke tests).
        log_every_steps (int): TensorBoard logging period in optimizer steps.
        report_to_tensorboard (bool): write TensorBoard event files under ``output_dir/logs``.
        show_progress (bool): tqdm progress bars on the main process.
        num_workers (int): DataLoader workers.
        semi_supervised_seed (int): chooses the paragraphs with timestamps in ``semi`` mode.
    """

    output_dir: str = "outputs/run"
    overwrite_output_dir: bool = False
    seed: int = 42
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    torch_compile: bool = False
    eval_every_epochs: int = 1
    best_metric: str = "vprg/R@1,IoU=0.5"
    eval_protocols: tuple[str, ...] = field(default=("retrieval", "grounding", "vprg"))
    save_every_epochs: int = 1
    save_total_limit: int = 2
    resume_from_checkpoint: str | None = None
    max_steps_per_epoch: int | None = None
    log_every_steps: int = 10
    report_to_tensorboard: bool = True
    show_progress: bool = True
    num_workers: int = 0
    semi_supervised_seed: int = 0

    def __post_init__(self) -> None:
        if self.mixed_precision not in MIXED_PRECISION_CHOICES:
            raise ConfigError(
                f"mixed_precision must be one of {MIXED_PRECISION_CHOICES}, got {self.mixed_precision!r}"
            )
        for name in ("gradient_accumulation_steps", "log_every_steps", "save_total_limit"):
            check_positive_int(getattr(self, name), name, ConfigError)
        if self.max_steps_per_epoch is not None:
            check_positive_int(self.max_steps_per_epoch, "max_steps_per_epoch", ConfigError)
        for name in ("eval_every_epochs", "save_every_epochs", "num_workers"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name} must be >= 0, got {value!r}")
        if not isinstance(self.best_metric, str) or "/" not in self.best_metric:
            raise ConfigError(f"best_metric must read 'protocol/metric', got {self.best_metric!r}")
        self._check_protocols()

    def _check_protocols(self) -> None:
        """Known protocol names, and the best-checkpoint metric among those validation computes, checked now rather
        than at the first validation."""
        if isinstance(self.eval_protocols, str):
            raise ConfigError(
                f"eval_protocols must be a list of protocol names, got the string {self.eval_protocols!r}"
            )
        self.eval_protocols = tuple(self.eval_protocols)
        unknown = [name for name in self.eval_protocols if name not in PROTOCOLS]
        if unknown:
            raise ConfigError(f"eval_protocols: unknown {unknown}; choose from {list(PROTOCOLS)}")
        protocol = self.best_metric.split("/", 1)[0]
        if self.eval_every_epochs and protocol not in self.eval_protocols:
            raise ConfigError(
                f"best_metric {self.best_metric!r} reads protocol {protocol!r}, which eval_protocols "
                f"{list(self.eval_protocols)} does not compute"
            )

    @property
    def output_path(self) -> Path:
        return Path(self.output_dir)

    def to_dict(self) -> dict:
        return asdict(self)
