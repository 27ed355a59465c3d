"""Learning-rate schedule of the paper (§IV-B): multiply by ``decay_factor`` every ``decay_epochs`` epochs."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["step_decay_schedule"]


def step_decay_schedule(
    optimizer: Optimizer, steps_per_epoch: int, decay_factor: float, decay_epochs: int
) -> LambdaLR:
    """Step decay stepped once per optimizer step: ``lr = lr0 * decay_factor ** (epoch // decay_epochs)``.

    Stepping per optimizer step (not per epoch) keeps the schedule right under gradient accumulation, several
    processes and resumption in the middle of a run; the epoch is ``step // steps_per_epoch``.

    Args:
        optimizer (Optimizer): its initial learning rates are the base rates.
        steps_per_epoch (int): optimizer steps in one epoch (after accumulation).
        decay_factor (float): 0.8 in the paper.
        decay_epochs (int): 20 in the paper.

    Example:
        >>> import torch
        >>> optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> schedule = step_decay_schedule(optimizer, steps_per_epoch=2, decay_factor=0.5, decay_epochs=1)
        >>> for _ in range(2):
        ...     optimizer.step(); schedule.step()
        >>> optimizer.param_groups[0]["lr"]
        0.5
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")

    def factor(step: int) -> float:
        return decay_factor ** ((step // steps_per_epoch) // decay_epochs)

    return LambdaLR(optimizer, factor)
