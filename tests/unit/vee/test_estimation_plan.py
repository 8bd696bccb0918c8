from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from domain.reading_quality import ReadingQuality
from domain.vee.estimation import (
    LinearInterpolation,
    PowerGapFill,
    RegisterDistribution,
    RegisterScaling,
    ValueFill,
    ValueFillParams,
    build_plan,
    estimate_gaps,
    find_gaps,
    with_estimates,
)
from domain.vee.series import Estimate, PowerOutage, RegisterRead, ValidationContext
from tests.unit.vee.estimation_builders import MONDAY, context_of, series_of, slots

NAN = np.nan


class Broken:
    """A method that answers with what it should not."""

    name = "broken"

    def __init__(self, slots: tuple[int, ...], value: float) -> None:
        self.slots, self.value = slots, value

    def estimate(self, context: ValidationContext, slots: tuple[int, ...]) -> Estimate | None:
        return Estimate(self.name, self.slots, np.full(len(self.slots), self.value))


def test_find_gaps_names_runs_of_missing_and_failed_slots() -> None:
    qualities = [1, 0, 3, 1, 0, 1, 4, 0]
    series = series_of([1.0, NAN, 9.0, 1.0, NAN, 1.0, 2.0, NAN], qualities=qualities)

    assert find_gaps(series) == [(1, 2), (4,), (7,)]


def test_the_first_method_that_applies_wins_for_each_gap() -> None:
    values = np.concatenate([[1.0], np.full(2, NAN), [4.0], np.full(12, NAN), [1.0]])
    series = series_of(values)
    methods = [LinearInterpolation(), ValueFill(ValueFillParams(value=0.5))]

    estimates = estimate_gaps(context_of(series), find_gaps(series), methods)

    assert [(e.method, e.slots) for e in estimates] == [
        ("linear_interpolation", (1, 2)),
        ("value_fill", slots(4, 12)),
    ]
    assert np.array_equal(estimates[0].values, [2.0, 3.0])


def test_what_power_gap_fill_leaves_of_a_gap_goes_on_to_the_next_methods() -> None:
    series = series_of([1.0, NAN, NAN, NAN, NAN, 3.0])
    outage = PowerOutage(MONDAY + timedelta(minutes=30), MONDAY + timedelta(minutes=60))
    context = context_of(series, outages=[outage])

    estimates = estimate_gaps(context, [slots(1, 4)], [PowerGapFill(), LinearInterpolation()])

    assert [(e.method, e.slots) for e in estimates] == [
        ("power_gap_fill", (2, 3)),
        ("linear_interpolation", (1,)),
        ("linear_interpolation", (4,)),
    ]
    # Each side is interpolated towards the zero consumption of the outage.
    assert np.array_equal(estimates[1].values, [0.5])
    assert np.array_equal(estimates[2].values, [1.5])


def test_a_gap_no_method_can_fill_is_left_for_a_person() -> None:
    series = series_of(np.concatenate([[1.0], np.full(12, NAN), [1.0]]))

    assert estimate_gaps(context_of(series), find_gaps(series), [LinearInterpolation()]) == []


def test_a_method_answering_with_values_that_are_no_numbers_is_passed_over() -> None:
    series = series_of([1.0, NAN, 3.0])

    estimates = estimate_gaps(
        context_of(series), [(1,)], [Broken((1,), NAN), LinearInterpolation()]
    )

    assert [e.method for e in estimates] == ["linear_interpolation"]


def test_a_method_estimating_slots_it_was_not_asked_for_is_a_bug() -> None:
    with pytest.raises(ValueError, match="not asked"):
        estimate_gaps(context_of(series_of([1.0, NAN, 3.0])), [(1,)], [Broken((0, 1), 1.0)])


def test_later_gaps_see_earlier_estimates_so_register_distribution_adds_up() -> None:
    series = series_of([1.0, NAN, 1.0, NAN, NAN, 1.0])
    reads = [
        RegisterRead(MONDAY, Decimal(10)),
        RegisterRead(MONDAY + timedelta(minutes=90), Decimal(18)),
    ]
    context = context_of(series, registers=reads)
    methods = [ValueFill(ValueFillParams(value=2.0, max_gap_minutes=15)), RegisterDistribution()]

    estimates = estimate_gaps(context, find_gaps(series), methods)

    assert [(e.method, e.slots) for e in estimates] == [
        ("value_fill", (1,)),
        ("register_distribution", (3, 4)),
    ]
    assert np.array_equal(estimates[1].values, [1.5, 1.5])


def test_register_scaling_runs_after_every_gap_and_names_the_estimates_it_changed() -> None:
    series = series_of([1.0, NAN, 3.0, 1.0, NAN, NAN, NAN, NAN])
    reads = [
        RegisterRead(MONDAY, Decimal(0)),
        RegisterRead(MONDAY + timedelta(hours=2), Decimal(8)),
    ]
    outage = PowerOutage(MONDAY + timedelta(hours=1), None)
    context = context_of(series, registers=reads, outages=[outage])
    methods = [RegisterScaling(), PowerGapFill(), LinearInterpolation()]

    estimates = estimate_gaps(context, find_gaps(series), methods)

    # 5 kWh measured and none during the outage: the register's 8 leave 3 for slot 1,
    # interpolated at 2. Zeros scale to zeros and keep their name.
    assert [(e.method, e.slots) for e in estimates] == [
        ("linear_interpolation+register_scaling", (1,)),
        ("power_gap_fill", slots(4, 4)),
    ]
    assert np.array_equal(estimates[0].values, [3.0])
    assert "1.5000" in estimates[0].note


def test_the_callers_series_is_left_as_it_was() -> None:
    series = series_of([1.0, NAN, 3.0])

    estimate_gaps(context_of(series), [(1,)], [LinearInterpolation()])

    assert np.isnan(series.values[1])
    assert series.qualities[1] == ReadingQuality.MISSING


def test_with_estimates_gives_the_series_to_validate_again() -> None:
    series = series_of([1.0, NAN, 3.0, NAN])
    estimates = estimate_gaps(context_of(series), find_gaps(series), build_plan())

    estimated = with_estimates(series, estimates)

    assert np.array_equal(estimated.values, [1.0, 2.0, 3.0, 3.0])
    assert np.array_equal(estimated.qualities, [1, 4, 1, 4])
    assert np.isnan(series.values[1])
