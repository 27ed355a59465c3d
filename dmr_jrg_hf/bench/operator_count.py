"""Count the operators a block of PyTorch code dispatches (forward and backward alike).

On a GPU every dispatched operator is at least one kernel launch, so a training step made of many small operators is
bound by launches and host work rather than by FLOPs; the count is the number to cut (fusing, batching) and does not
depend on the device or on the tensor sizes, so a CPU run measures it for a GPU step.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["OperatorCounter"]

_VIEW_FREE = {"aten.detach.default", "aten.view.default", "aten._unsafe_view.default", "aten.t.default"}


class OperatorCounter(TorchDispatchMode):
    """A `TorchDispatchMode` that counts every ATen operator dispatched inside its ``with`` block.

    ``counts`` maps operator names (``"aten.mm.default"``) to calls; ``total`` is their sum and ``kernels`` the sum
    without the metadata-only views and detaches (which launch nothing).

    Example:
        >>> import torch
        >>> with OperatorCounter() as counter:
        ...     (torch.ones(3, requires_grad=True) * 2).sum().backward()
        >>> counter.counts["aten.mul.Tensor"] >= 1 and counter.total >= 3
        True
    """

    def __init__(self):
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None) -> Any:
        self.counts[str(func)] += 1
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        """Every dispatched operator."""
        return sum(self.counts.values())

    @property
    def kernels(self) -> int:
        """Dispatched operators less the views and detaches, which only change tensor metadata."""
        return self.total - sum(self.counts[name] for name in _VIEW_FREE)

    def most_common(self, count: int = 10) -> list[tuple[str, int]]:
        """The ``count`` most frequent operators with their calls."""
        return self.counts.most_common(count)
