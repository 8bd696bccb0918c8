from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from domain.reading_quality import ReadingQuality
from domain.vee.estimation import RegisterScaling, RegisterScalingParams
from domain.vee.series import RegisterRead, ValidationContext
from tests.unit.vee.estimation_builders import MONDAY, context_of, series_of, slots

RAW, ESTIMATED = ReadingQuality.RAW, ReadingQuality.ESTIMATED
# Four measured intervals of 1 kWh, four estimated ones of 0.5 kWh.
VALUES = [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0]
QUALITIES = [RAW, RAW, ESTIMATED, ESTIMATED, ESTIMATED, ESTIMATED, RAW, RAW]
ESTIMATES = slots(2, 4)


def _context(
    advance: str, values: list[float] = VALUES, qualities: list[int] = QUALITIES
) -> ValidationContext:
    reads = [
        RegisterRead(MONDAY, Decimal("500")),
        RegisterRead(MONDAY + timedelta(hours=2), Decimal("500") + Decimal(advance)),
    ]
    return context_of(series_of(values, qualities=qualities), registers=reads)


def test_estimates_are_scaled_so_that_the_window_adds_up_to_the_advance() -> None:
    estimate = RegisterScaling().estimate(_context("7"), ESTIMATES)

    assert estimate is not None
    assert estimate.method == "register_scaling"
    assert estimate.slots == ESTIMATES
    assert np.array_equal(estimate.values, [0.75, 0.75, 0.75, 0.75])
    assert "1.5000" in estimate.note


@pytest.mark.parametrize(("advance", "applies"), [("8", True), ("8.01", False)])
def test_a_factor_up_to_max_factor_is_applied(advance: str, applies: bool) -> None:
    # 4 kWh measured; the estimates' 2 kWh doubled at an advance of 8 kWh.
    assert (RegisterScaling().estimate(_context(advance), ESTIMATES) is not None) is applies


@pytest.mark.parametrize(("advance", "applies"), [("5", True), ("4.99", False)])
def test_a_factor_down_to_min_factor_is_applied(advance: str, applies: bool) -> None:
    assert (RegisterScaling().estimate(_context(advance), ESTIMATES) is not None) is applies


def test_wider_bounds_accept_a_larger_correction() -> None:
    method = RegisterScaling(RegisterScalingParams(max_factor=3.0))

    estimate = method.estimate(_context("10"), ESTIMATES)

    assert estimate is not None
    assert np.array_equal(estimate.values, np.full(4, 1.5))


def test_a_window_with_a_slot_still_unknown_is_not_scaled() -> None:
    values = [1.0, np.nan, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0]
    qualities = [RAW, ReadingQuality.MISSING, *QUALITIES[2:]]

    assert RegisterScaling().estimate(_context("7", values, qualities), ESTIMATES) is None


def test_estimates_not_named_stay_as_they_are() -> None:
    estimate = RegisterScaling().estimate(_context("6"), (2, 3))

    assert estimate is not None
    # 4 measured + 1 fixed estimate: the two named ones take the remaining 1 kWh.
    assert np.array_equal(estimate.values, [0.5, 0.5])


def test_zero_estimates_cannot_be_scaled() -> None:
    values = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]

    assert RegisterScaling().estimate(_context("6", values), ESTIMATES) is None


def test_without_reads_around_the_estimates_nothing_is_scaled() -> None:
    context = context_of(series_of(VALUES, qualities=QUALITIES))

    assert RegisterScaling().estimate(context, ESTIMATES) is None


@pytest.mark.parametrize(("low", "high"), [(1.1, 2.0), (0.5, 0.9), (-0.1, 2.0)])
def test_the_bounds_must_enclose_one(low: float, high: float) -> None:
    with pytest.raises(ValueError, match="min_factor"):
        RegisterScalingParams(min_factor=low, max_factor=high)


@pytest.mark.parametrize(("seconds_off", "applies"), [(60, True), (61, False)])
def test_only_reads_within_the_tolerance_of_a_slot_boundary_are_used(
    seconds_off: int, applies: bool
) -> None:
    reads = [
        RegisterRead(MONDAY - timedelta(seconds=seconds_off), Decimal("500")),
        RegisterRead(MONDAY + timedelta(hours=2), Decimal("507")),
    ]
    context = context_of(series_of(VALUES, qualities=QUALITIES), registers=reads)

    assert (RegisterScaling().estimate(context, ESTIMATES) is not None) is applies


def test_only_the_named_register_is_used() -> None:
    reads = [
        RegisterRead(MONDAY, Decimal("500"), "1.8.2"),
        RegisterRead(MONDAY + timedelta(hours=2), Decimal("507"), "1.8.2"),
    ]
    context = context_of(series_of(VALUES, qualities=QUALITIES), registers=reads)
    rate_two = RegisterScaling(RegisterScalingParams(register="1.8.2"))

    assert RegisterScaling().estimate(context, ESTIMATES) is None
    assert rate_two.estimate(context, ESTIMATES) is not None
