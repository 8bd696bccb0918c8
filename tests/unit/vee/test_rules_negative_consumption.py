"""Negative consumption on an import channel, with an optional rounding tolerance."""

from __future__ import annotations

import numpy as np

from domain.vee.rules import NegativeConsumptionCheck, NegativeConsumptionParams
from domain.vee.series import ValidationContext
from tests.unit.vee import interval_series


def negative_slots(values: list[float], tolerance: float = 0.0) -> list[tuple[int, ...]]:
    rule = NegativeConsumptionCheck(NegativeConsumptionParams(tolerance=tolerance))
    return [finding.slots for finding in rule.check(ValidationContext(interval_series(values)))]


def test_zero_and_positive_values_pass() -> None:
    assert negative_slots([0.0, 0.25, np.nan]) == []


def test_any_negative_value_fires_without_a_tolerance() -> None:
    assert negative_slots([0.25, -0.001, 0.25]) == [(1,)]


def test_a_value_at_minus_the_tolerance_passes_and_one_below_fires() -> None:
    assert negative_slots([-0.5, 0.25], tolerance=0.5) == []
    assert negative_slots([-0.625, 0.25], tolerance=0.5) == [(0,)]


def test_the_finding_names_the_lowest_value_and_suggests_checking_the_direction() -> None:
    series = interval_series([0.25, -0.25, -1.5, 0.25])

    [finding] = NegativeConsumptionCheck().check(ValidationContext(series))

    assert finding.severity == "fail"
    assert (
        finding.message
        == "2 intervals negative from 2026-03-02 00:15 to 00:45 UTC (lowest -1.5 kWh)"
    )
    assert "direction" in finding.suggestion
