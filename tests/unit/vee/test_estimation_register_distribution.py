from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from domain.vee.estimation import RegisterDistribution, RegisterDistributionParams
from domain.vee.series import RegisterRead
from tests.unit.vee.estimation_builders import MONDAY, context_of, series_of, slots

NAN = np.nan
# Eight quarter-hours: four known (1 kWh each), four missing.
VALUES = [1.0, 1.0, NAN, NAN, NAN, NAN, 1.0, 1.0]
GAP = slots(2, 4)


def _read(slot: int, value: str, seconds_off: int = 0, register: str = "total") -> RegisterRead:
    moment = MONDAY + timedelta(minutes=15 * slot, seconds=seconds_off)
    return RegisterRead(moment, Decimal(value), register)


def test_the_advance_not_in_known_intervals_is_shared_equally_by_the_gap() -> None:
    context = context_of(series_of(VALUES), registers=[_read(0, "100"), _read(8, "112")])

    estimate = RegisterDistribution().estimate(context, GAP)

    assert estimate is not None
    assert estimate.method == "register_distribution"
    assert estimate.slots == GAP
    assert np.array_equal(estimate.values, [2.0, 2.0, 2.0, 2.0])


def test_another_gap_between_the_same_reads_gets_its_share_too() -> None:
    values = [1.0, NAN, NAN, NAN, NAN, NAN, 1.0, NAN]
    context = context_of(series_of(values), registers=[_read(0, "100"), _read(8, "114")])

    estimate = RegisterDistribution().estimate(context, slots(1, 5))

    assert estimate is not None
    # 12 kWh for six unknown slots, slot 7 included: five of them in this gap.
    assert np.array_equal(estimate.values, np.full(5, 2.0))


def test_a_gap_across_a_read_gets_each_windows_share() -> None:
    reads = [_read(0, "100"), _read(4, "104"), _read(8, "112")]

    estimate = RegisterDistribution().estimate(context_of(series_of(VALUES), registers=reads), GAP)

    assert estimate is not None
    assert np.array_equal(estimate.values, [1.0, 1.0, 3.0, 3.0])


@pytest.mark.parametrize(("seconds_off", "applies"), [(60, True), (-60, True), (61, False)])
def test_a_read_counts_when_it_is_within_the_tolerance_of_a_slot_boundary(
    seconds_off: int, applies: bool
) -> None:
    reads = [_read(0, "100"), _read(8, "112", seconds_off)]

    estimate = RegisterDistribution().estimate(context_of(series_of(VALUES), registers=reads), GAP)

    assert (estimate is not None) is applies


def test_a_wider_tolerance_accepts_reads_further_off_the_grid() -> None:
    reads = [_read(0, "100"), _read(8, "112", 300)]
    method = RegisterDistribution(RegisterDistributionParams(read_tolerance_seconds=300))

    assert method.estimate(context_of(series_of(VALUES), registers=reads), GAP) is not None


def test_without_a_read_after_the_gap_there_is_no_advance() -> None:
    context = context_of(series_of(VALUES), registers=[_read(0, "100")])

    assert RegisterDistribution().estimate(context, GAP) is None


def test_known_intervals_above_the_advance_are_left_to_a_person() -> None:
    context = context_of(series_of(VALUES), registers=[_read(0, "100"), _read(8, "103.5")])

    assert RegisterDistribution().estimate(context, GAP) is None


def test_an_advance_equal_to_the_known_intervals_gives_zero() -> None:
    context = context_of(series_of(VALUES), registers=[_read(0, "100"), _read(8, "104")])

    estimate = RegisterDistribution().estimate(context, GAP)

    assert estimate is not None
    assert np.array_equal(estimate.values, np.zeros(4))


def test_a_falling_register_is_no_advance() -> None:
    context = context_of(series_of(VALUES), registers=[_read(0, "100"), _read(8, "90")])

    assert RegisterDistribution().estimate(context, GAP) is None


def test_only_the_named_register_is_used() -> None:
    reads = [_read(0, "10", register="1.8.1"), _read(8, "22", register="1.8.1")]
    context = context_of(series_of(VALUES), registers=reads)
    rate_one = RegisterDistribution(RegisterDistributionParams(register="1.8.1"))

    assert RegisterDistribution().estimate(context, GAP) is None
    assert rate_one.estimate(context, GAP) is not None


def test_the_register_must_be_named_and_the_tolerance_not_negative() -> None:
    with pytest.raises(ValueError, match="register"):
        RegisterDistributionParams(register="")
    with pytest.raises(ValueError, match="read_tolerance_seconds"):
        RegisterDistributionParams(read_tolerance_seconds=-1)
