"""A day's total against the average daily total of the channel's history."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from domain.vee.rules import HistoricalUsageCheck, HistoricalUsageParams
from domain.vee.series import ValidationContext
from tests.unit.vee import MIDNIGHT, household_day, interval_series


def history(days: int = 7, per_interval: float = 0.125) -> np.ndarray:
    """``days`` complete days of 12 kWh each (0.125 kWh a quarter-hour) before the test day."""
    return np.full(96 * days, per_interval)


def judged(day: np.ndarray, past: np.ndarray, rule: HistoricalUsageCheck | None = None) -> list:
    start = MIDNIGHT - timedelta(minutes=15 * len(past))
    context = ValidationContext(interval_series(day), history=interval_series(past, start=start))
    return (rule or HistoricalUsageCheck()).check(context)


def test_a_day_at_three_times_the_average_passes() -> None:
    assert judged(np.full(96, 0.375), history()) == []  # 36 kWh = 3 x 12


def test_a_day_just_above_three_times_the_average_fires_for_the_whole_day() -> None:
    day = np.full(96, 0.375)
    day[40] += 0.125

    [finding] = judged(day, history())

    assert finding.severity == "warn"
    assert finding.slots == tuple(range(96))
    assert finding.message == (
        "2026-03-02: 36.125 kWh used, above 3 x the average of 12 kWh a day over 7 days"
    )
    assert finding.detail["side"] == "above"


def test_a_day_at_the_low_factor_passes_and_one_below_it_fires() -> None:
    rule = HistoricalUsageCheck(HistoricalUsageParams(low_factor=0.25))
    at_factor = np.full(96, 0.03125)  # 3 kWh = 0.25 x 12
    below = at_factor.copy()
    below[0] = 0.0

    assert judged(at_factor, history(), rule) == []
    [finding] = judged(below, history(), rule)
    assert finding.detail["side"] == "below"


def test_a_very_low_day_fires_with_the_default_factor() -> None:
    [finding] = judged(np.full(96, 0.0125), history())  # 1.2 kWh, a tenth of the average

    assert "below 0.2 x the average" in finding.message


def test_with_fewer_complete_days_of_history_than_required_the_rule_is_silent() -> None:
    six_days = history(days=6)
    seven_with_a_gap = history(days=7)
    seven_with_a_gap[100] = np.nan

    assert judged(np.full(96, 5.0), six_days) == []
    assert judged(np.full(96, 5.0), seven_with_a_gap) == []
    assert len(judged(np.full(96, 5.0), history(days=7))) == 1


def test_a_day_with_a_missing_interval_is_left_to_the_gap_rule() -> None:
    day = np.full(96, 5.0)
    day[3] = np.nan

    assert judged(day, history()) == []


def test_without_history_the_rule_is_silent() -> None:
    assert HistoricalUsageCheck().check(ValidationContext(interval_series(np.full(96, 5.0)))) == []


def test_an_ordinary_household_day_against_its_own_recent_days_passes() -> None:
    past = np.concatenate(
        [household_day(MIDNIGHT.date() - timedelta(days=n)) for n in range(14, 0, -1)]
    )

    assert judged(household_day(), past) == []
