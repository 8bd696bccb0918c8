"""High/low absolute limits: a value equal to a limit passes, beyond it fires."""

from __future__ import annotations

import numpy as np
import pytest

from domain.vee.rules import AbsoluteLimitsCheck, AbsoluteLimitsParams
from domain.vee.series import ValidationContext
from tests.unit.vee import household_day, interval_series

LIMITS = AbsoluteLimitsCheck(AbsoluteLimitsParams(high=2.0, low=0.125))


def check(values: list[float], rule: AbsoluteLimitsCheck = LIMITS) -> list[tuple[int, ...]]:
    return [finding.slots for finding in rule.check(ValidationContext(interval_series(values)))]


def test_a_value_at_the_high_limit_passes() -> None:
    assert check([1.0, 2.0, 1.0]) == []


def test_a_value_just_above_the_high_limit_fires() -> None:
    assert check([1.0, 2.001, 1.0]) == [(1,)]


def test_a_value_at_the_low_limit_passes_and_one_below_fires() -> None:
    assert check([0.125, 1.0]) == []
    assert check([0.124, 1.0]) == [(0,)]


def test_consecutive_values_beyond_a_limit_are_one_finding_with_the_extreme() -> None:
    [finding] = LIMITS.check(ValidationContext(interval_series([1.0, 3.0, 7.5, 2.5, 1.0])))

    assert finding.slots == (1, 2, 3)
    assert finding.message == (
        "3 intervals above the high limit of 2 kWh from 2026-03-02 00:15 to 01:00 UTC"
        " (extreme 7.5 kWh)"
    )
    assert finding.detail == {"limit": 2.0, "extreme": 7.5, "side": "above"}


def test_missing_values_are_not_judged() -> None:
    assert check([np.nan, 1.0, np.nan]) == []


def test_the_default_high_limit_is_10_kwh_and_no_low_limit() -> None:
    rule = AbsoluteLimitsCheck()

    assert check([10.0, 0.0, -1.0], rule) == []
    assert check([10.5], rule) == [(0,)]


def test_a_household_day_is_within_the_default_limits() -> None:
    assert AbsoluteLimitsCheck().check(ValidationContext(interval_series(household_day()))) == []


def test_a_low_limit_above_the_high_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="low must not be above high"):
        AbsoluteLimitsParams(high=1.0, low=2.0)
