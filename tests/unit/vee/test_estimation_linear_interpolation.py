from __future__ import annotations

import numpy as np
import pytest

from domain.reading_quality import ReadingQuality
from domain.vee.estimation import LinearInterpolation, LinearInterpolationParams
from tests.unit.vee.estimation_builders import context_of, series_of, slots

NAN = np.nan


def _gap_of(length: int) -> tuple[np.ndarray, tuple[int, ...]]:
    values = np.concatenate([[1.0], np.full(length, NAN), [1.0 + length + 1]])
    return values, slots(1, length)


def test_a_gap_is_filled_on_the_line_between_its_neighbours() -> None:
    context = context_of(series_of([1.0, NAN, NAN, NAN, 5.0]))

    estimate = LinearInterpolation().estimate(context, (1, 2, 3))

    assert estimate is not None
    assert estimate.method == "linear_interpolation"
    assert estimate.slots == (1, 2, 3)
    assert np.array_equal(estimate.values, [2.0, 3.0, 4.0])


@pytest.mark.parametrize(
    ("interval_minutes", "longest"),
    [(15, 8), (60, 2), (5, 24)],
)
def test_a_gap_of_exactly_two_hours_is_interpolated(interval_minutes: int, longest: int) -> None:
    values, gap = _gap_of(longest)
    context = context_of(series_of(values, interval_minutes=interval_minutes))

    estimate = LinearInterpolation().estimate(context, gap)

    assert estimate is not None
    assert np.allclose(estimate.values, np.arange(2.0, 2.0 + longest))


@pytest.mark.parametrize(("interval_minutes", "too_long"), [(15, 9), (60, 3), (5, 25)])
def test_a_gap_one_interval_longer_than_two_hours_is_left_to_another_method(
    interval_minutes: int, too_long: int
) -> None:
    values, gap = _gap_of(too_long)
    context = context_of(series_of(values, interval_minutes=interval_minutes))

    assert LinearInterpolation().estimate(context, gap) is None


def test_the_longest_gap_follows_max_gap_minutes() -> None:
    method = LinearInterpolation(LinearInterpolationParams(max_gap_minutes=30))
    two, two_slots = _gap_of(2)
    three, three_slots = _gap_of(3)

    assert method.estimate(context_of(series_of(two)), two_slots) is not None
    assert method.estimate(context_of(series_of(three)), three_slots) is None


def test_the_gap_is_measured_from_known_value_to_known_value_not_by_the_slots_asked() -> None:
    values, _ = _gap_of(9)

    # One slot of a gap of nine: still 2 h 15 min without a known value.
    assert LinearInterpolation().estimate(context_of(series_of(values)), (5,)) is None


def test_failed_values_are_no_anchors() -> None:
    qualities = [ReadingQuality.VALIDATED, ReadingQuality.FAILED, ReadingQuality.MISSING]
    series = series_of([1.0, 100.0, NAN, 4.0], qualities=[*qualities, ReadingQuality.VALIDATED])

    estimate = LinearInterpolation().estimate(context_of(series), (1, 2))

    assert estimate is not None
    assert np.array_equal(estimate.values, [2.0, 3.0])


def test_earlier_estimates_are_anchors() -> None:
    qualities = [ReadingQuality.ESTIMATED, ReadingQuality.MISSING, ReadingQuality.VALIDATED]
    series = series_of([2.0, NAN, 4.0], qualities=qualities)

    estimate = LinearInterpolation().estimate(context_of(series), (1,))

    assert estimate is not None
    assert np.array_equal(estimate.values, [3.0])


def test_a_gap_at_the_end_of_the_data_repeats_the_last_known_value() -> None:
    context = context_of(series_of([1.0, 2.0, NAN, NAN]))

    estimate = LinearInterpolation().estimate(context, (2, 3))

    assert estimate is not None
    assert np.array_equal(estimate.values, [2.0, 2.0])
    assert "one side" in estimate.note


def test_a_gap_at_the_start_of_the_data_repeats_the_first_known_value() -> None:
    estimate = LinearInterpolation().estimate(context_of(series_of([NAN, 3.0, 5.0])), (0,))

    assert estimate is not None
    assert np.array_equal(estimate.values, [3.0])


def test_a_one_sided_gap_is_also_limited_to_two_hours() -> None:
    values = np.concatenate([[1.0], np.full(9, NAN)])

    assert LinearInterpolation().estimate(context_of(series_of(values)), slots(1, 9)) is None
    assert LinearInterpolation().estimate(context_of(series_of(values[:9])), slots(1, 8))


def test_without_flat_filling_one_sided_gaps_are_left_to_another_method() -> None:
    method = LinearInterpolation(LinearInterpolationParams(flat_when_one_sided=False))

    assert method.estimate(context_of(series_of([1.0, 2.0, NAN])), (2,)) is None
    assert method.estimate(context_of(series_of([1.0, NAN, 3.0])), (1,)) is not None


def test_no_known_value_at_all_means_nothing_to_interpolate() -> None:
    assert LinearInterpolation().estimate(context_of(series_of([NAN, NAN])), (0, 1)) is None


def test_a_slot_outside_the_series_is_a_callers_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        LinearInterpolation().estimate(context_of(series_of([1.0, NAN])), (2,))


def test_max_gap_minutes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_gap_minutes"):
        LinearInterpolationParams(max_gap_minutes=0)
