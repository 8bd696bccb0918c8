from __future__ import annotations

import math

import numpy as np
import pytest

from domain.vee.estimation import ValueFill, ValueFillParams
from tests.unit.vee.estimation_builders import context_of, series_of, slots

NAN = np.nan


def _gap_of(length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    return np.concatenate([[1.0], np.full(length, NAN), [1.0]]), slots(1, length)


def test_every_slot_of_the_gap_gets_the_value() -> None:
    values, gap = _gap_of(3)

    estimate = ValueFill(ValueFillParams(value=0.25)).estimate(context_of(series_of(values)), gap)

    assert estimate is not None
    assert estimate.method == "value_fill"
    assert estimate.slots == gap
    assert np.array_equal(estimate.values, [0.25, 0.25, 0.25])


def test_the_default_value_is_zero_and_any_gap_length_is_filled() -> None:
    values = np.full(96 * 3, NAN)

    estimate = ValueFill().estimate(context_of(series_of(values)), slots(0, 96 * 3))

    assert estimate is not None
    assert np.array_equal(estimate.values, np.zeros(96 * 3))


def test_a_gap_of_exactly_max_gap_minutes_is_filled() -> None:
    values, gap = _gap_of(4)
    method = ValueFill(ValueFillParams(value=1.0, max_gap_minutes=60))

    assert method.estimate(context_of(series_of(values)), gap) is not None


def test_a_gap_longer_than_max_gap_minutes_is_left_to_another_method() -> None:
    values, gap = _gap_of(5)
    method = ValueFill(ValueFillParams(value=1.0, max_gap_minutes=60))

    assert method.estimate(context_of(series_of(values)), gap) is None


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_the_value_must_be_a_finite_number(value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        ValueFillParams(value=value)


def test_max_gap_minutes_must_be_positive_when_given() -> None:
    with pytest.raises(ValueError, match="max_gap_minutes"):
        ValueFillParams(max_gap_minutes=0)
