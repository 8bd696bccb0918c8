"""Clock drift at the read, and the number of power outages over the series' period."""

from __future__ import annotations

import numpy as np

from domain.vee.rules import ClockDriftCheck, OutageCountCheck, OutageCountParams
from domain.vee.series import PowerOutage, ValidationContext
from tests.unit.vee import at, interval_series

DAY_SERIES = interval_series(np.full(96, 0.25))


def drift(seconds: float | None) -> list:
    return ClockDriftCheck().check(ValidationContext(DAY_SERIES, clock_deviation_seconds=seconds))


def test_a_clock_exactly_30_seconds_off_passes() -> None:
    assert drift(30.0) == []
    assert drift(-30.0) == []


def test_a_clock_more_than_30_seconds_off_warns_for_the_whole_series() -> None:
    [ahead] = drift(30.5)
    [behind] = drift(-31)

    assert ahead.severity == "warn"
    assert ahead.slots == ()
    assert ahead.message == "meter clock 30.5 s ahead of the head end (limit 30 s)"
    assert behind.message == "meter clock 31 s behind the head end (limit 30 s)"
    assert "synchronise" in behind.suggestion


def test_without_a_clock_reading_there_is_nothing_to_judge() -> None:
    assert drift(None) == []


def outages_of(*spans: tuple[float, float | None]) -> tuple[PowerOutage, ...]:
    return tuple(PowerOutage(at(down), None if up is None else at(up)) for down, up in spans)


def counted(outages: tuple[PowerOutage, ...], rule: OutageCountCheck | None = None) -> list:
    return (rule or OutageCountCheck()).check(ValidationContext(DAY_SERIES, outages=outages))


def test_three_outages_pass_and_a_fourth_fires() -> None:
    three = outages_of((1, 1.1), (5, 5.1), (9, 9.1))

    assert counted(three) == []
    [finding] = counted((*three, *outages_of((13, 13.5))))
    assert finding.message == "4 power outages from 2026-03-02 01:00:00 UTC (more than 3)"
    assert finding.detail == {"outages": 4, "max_outages": 3}


def test_the_finding_points_at_the_intervals_the_outages_touch() -> None:
    [finding] = counted(outages_of((1, 1.1), (5, 5.25), (9, 9.1), (23.9, None)))

    assert finding.slots == (4, 20, 36, 95)


def test_outages_outside_the_series_period_do_not_count() -> None:
    outside = outages_of((-2, -1), (24, 25), (-1, 0))

    assert counted((*outside, *outages_of((1, 1.1), (5, 5.1), (9, 9.1)))) == []


def test_outages_shorter_than_the_minimum_do_not_count() -> None:
    rule = OutageCountCheck(OutageCountParams(max_outages=0, min_duration_seconds=180))
    short = outages_of((1, 1 + 179 / 3600))
    long = outages_of((1, 1 + 180 / 3600))
    ongoing = outages_of((23, None))

    assert counted(short, rule) == []
    assert len(counted(long, rule)) == 1
    assert len(counted(ongoing, rule)) == 1
