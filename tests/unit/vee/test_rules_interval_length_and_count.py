"""Interval length (capture period, alignment) and interval count (complete days)."""

from __future__ import annotations

import numpy as np

from domain.vee.rules import (
    IntervalCountCheck,
    IntervalCountParams,
    IntervalLengthCheck,
    IntervalLengthParams,
)
from domain.vee.series import ValidationContext
from tests.unit.vee import at, interval_series

NAN = np.nan


def test_intervals_of_the_channels_length_on_its_boundaries_pass() -> None:
    series = interval_series(np.full(8, 0.25), start=at(10, 15))

    assert IntervalLengthCheck().check(ValidationContext(series)) == []


def test_intervals_of_another_length_fail_for_the_whole_series() -> None:
    series = interval_series(np.full(48, 0.5), interval_minutes=30)

    [finding] = IntervalLengthCheck().check(ValidationContext(series))

    assert finding.slots == ()
    assert finding.message == "intervals are 30 min long; the channel expects 15 min"
    assert "capture period" in finding.suggestion


def test_a_channel_configured_for_30_minutes_accepts_30_minute_intervals() -> None:
    series = interval_series(np.full(48, 0.5), interval_minutes=30)
    rule = IntervalLengthCheck(IntervalLengthParams(interval_minutes=30))

    assert rule.check(ValidationContext(series)) == []


def test_intervals_starting_off_a_boundary_fail() -> None:
    series = interval_series(np.full(8, 0.25), start=at(10, 7))

    [finding] = IntervalLengthCheck().check(ValidationContext(series))

    assert finding.message == "intervals start 420 s after a 15-min boundary"
    assert finding.detail["offset_seconds"] == 420.0


def test_a_complete_day_has_its_96_intervals() -> None:
    assert IntervalCountCheck().check(ValidationContext(interval_series(np.full(96, 0.25)))) == []


def test_a_day_with_one_interval_missing_is_short_by_default() -> None:
    values = np.full(96, 0.25)
    values[5] = NAN

    [finding] = IntervalCountCheck().check(ValidationContext(interval_series(values)))

    assert finding.slots == (5,)
    assert finding.message.startswith("2026-03-02: 95 of 96 intervals present (99.0 %")
    assert finding.detail == {"day": "2026-03-02", "present": 95, "expected": 96}


def test_exactly_the_minimum_share_passes_and_one_interval_less_fires() -> None:
    rule = IntervalCountCheck(IntervalCountParams(min_complete_percent=75.0))
    at_minimum = np.full(96, 0.25)
    at_minimum[:24] = NAN  # 72 of 96 = 75 %
    below = at_minimum.copy()
    below[24] = NAN

    assert rule.check(ValidationContext(interval_series(at_minimum))) == []
    [finding] = rule.check(ValidationContext(interval_series(below)))
    assert finding.detail["present"] == 71
    assert finding.slots == tuple(range(25))


def test_a_partial_day_delivered_whole_points_at_the_slots_it_has() -> None:
    series = interval_series(np.full(48, 0.25), start=at(12))

    [finding] = IntervalCountCheck().check(ValidationContext(series))

    assert finding.slots == tuple(range(48))
    assert finding.detail["present"] == 48


def test_each_day_of_a_longer_series_is_counted_on_its_own() -> None:
    values = np.full(192, 0.25)
    values[100] = NAN

    [finding] = IntervalCountCheck().check(ValidationContext(interval_series(values)))

    assert finding.detail["day"] == "2026-03-03"
    assert finding.slots == (100,)
