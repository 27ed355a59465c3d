"""Checks of user-given values where they enter the package (Python API, CLI, files); each error names the value.

Numbers: ``bool`` is rejected where a count or a number of seconds is expected (``True`` is an ``int`` in Python, but
never what a user means by "1 moment" or "1 second"). Arrays: `first_nonfinite_row` finds the row a message names.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .errors import DMRJRGError, InputError

__all__ = ["check_positive_int", "check_positive_seconds", "check_unit_interval", "first_nonfinite_row"]


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _scalar(value: Any) -> Any:
    """A 0-d NumPy array or torch tensor as its Python number; anything else unchanged."""
    return value.item() if getattr(value, "ndim", None) == 0 and hasattr(value, "item") else value


def check_positive_int(value: Any, name: str, error: type[DMRJRGError] = InputError) -> int:
    """Return ``value`` as an ``int`` when it is an integer >= 1, else raise ``error`` naming ``name`` and the value.

    Example:
        >>> check_positive_int(3, "top_k")
        3
    """
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise error(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_positive_seconds(value: Any, name: str) -> float:
    """Return a duration as ``float`` when it is a finite number > 0, else raise `InputError` naming ``name``."""
    value = _scalar(value)
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{name}: duration must be a positive number of seconds, got {value!r}")
    return float(value)


def check_unit_interval(value: Any, name: str, error: type[DMRJRGError] = InputError) -> float:
    """Return ``value`` as ``float`` when it lies in (0, 1] (NaN does not), else raise ``error`` naming ``name``."""
    if not _is_number(value) or not 0 < value <= 1:
        raise error(f"{name} must be a number in (0, 1], got {value!r}")
    return float(value)


def first_nonfinite_row(array: np.ndarray) -> int | None:
    """The first row (index along axis 0) of a float array that holds a NaN or an Inf, or None when there is none.

    One read of the array: each row is summed in float64, and a sum is finite exactly when every value of the row
    is (NaN and Inf propagate, and no float32 row shorter than 10^269 values can overflow a float64 sum). That is a
    third of the time of ``np.isfinite(array).all(...)``, which writes a boolean per value. Float64 arrays, whose sums
    can overflow, are checked value by value.
    """
    if len(array) == 0:
        return None
    rows = array.reshape(len(array), -1)
    if array.dtype.itemsize < 8:
        with np.errstate(invalid="ignore"):  # inf + -inf: NaN, which is what is wanted here
            finite = np.isfinite(rows.sum(axis=1, dtype=np.float64))
    else:
        finite = np.isfinite(rows).all(axis=1)
    return None if finite.all() else int(np.flatnonzero(~finite)[0])
