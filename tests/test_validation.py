import numpy as np
import pytest

from dmr_jrg_hf.validation import first_nonfinite_row


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_first_nonfinite_row_finds_the_first_bad_row(dtype, bad):
    array = np.zeros((6, 3, 4), dtype)
    array[4, 2, 1] = bad
    array[2, 0, 3] = bad
    assert first_nonfinite_row(array) == 2


def test_first_nonfinite_row_does_not_mistake_large_values_for_overflow():
    largest = np.finfo(np.float32).max
    array = np.full((3, 1000), largest, np.float32)
    with np.errstate(over="ignore"):
        assert np.isinf(array.sum(axis=1)).all()  # a float32 sum would overflow
    assert first_nonfinite_row(array) is None
    wide = np.full((2, 4), np.finfo(np.float64).max)
    assert first_nonfinite_row(wide) is None  # float64 rows are checked value by value


def test_first_nonfinite_row_of_inf_and_minus_inf_in_one_row():
    array = np.zeros((2, 2), np.float32)
    array[1] = [np.inf, -np.inf]  # their sum is NaN: still caught
    assert first_nonfinite_row(array) == 1


def test_first_nonfinite_row_of_empty_and_one_dimensional_arrays():
    assert first_nonfinite_row(np.zeros((0, 5), np.float32)) is None
    assert first_nonfinite_row(np.array([1.0, 2.0, np.nan])) == 2
