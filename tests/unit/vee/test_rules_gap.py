"""Gap: each contiguous run of missing intervals is one finding, beyond a tolerated length."""

from __future__ import annotations

import numpy as np

from domain.reading_quality import ReadingQuality
from domain.vee.rules import GapCheck, GapParams
from domain.vee.series import ValidationContext
from tests.unit.vee import MIDNIGHT, at, interval_series, slot

NAN = np.nan


def day_with_missing(*slots: int) -> np.ndarray:
    values = np.full(96, 0.25)
    values[list(slots)] = NAN
    return values


def test_a_complete_day_has_no_gap() -> None:
    assert GapCheck().check(ValidationContext(interval_series(np.full(96, 0.25)))) == []


def test_three_missing_intervals_are_one_gap_with_its_times_and_length() -> None:
    values = day_with_missing(slot(10), slot(10, 15), slot(10, 30))

    [finding] = GapCheck().check(ValidationContext(interval_series(values)))

    assert finding.rule == "gap"
    assert finding.severity == "fail"
    assert finding.slots == (40, 41, 42)
    assert finding.message == "3 intervals missing from 2026-03-02 10:00 to 10:45 UTC"
    assert finding.suggestion == "estimate by linear interpolation"
    assert finding.detail == {"missing_intervals": 3, "missing_minutes": 45}


def test_separate_gaps_are_separate_findings() -> None:
    values = day_with_missing(0, 1, 50, 95)

    findings = GapCheck().check(ValidationContext(interval_series(values)))

    assert [finding.slots for finding in findings] == [(0, 1), (50,), (95,)]
    assert findings[1].message == "1 interval missing from 2026-03-02 12:30 to 12:45 UTC"


def test_a_gap_as_long_as_the_tolerated_length_passes_and_one_longer_fires() -> None:
    rule = GapCheck(GapParams(max_gap_intervals=2))

    tolerated = rule.check(ValidationContext(interval_series(day_with_missing(10, 11))))
    too_long = rule.check(ValidationContext(interval_series(day_with_missing(10, 11, 12))))

    assert tolerated == []
    assert [finding.slots for finding in too_long] == [(10, 11, 12)]


def test_an_hour_long_gap_is_for_interpolation_and_a_longer_one_for_a_re_read() -> None:
    hour = GapCheck().check(ValidationContext(interval_series(day_with_missing(*range(8, 12)))))
    longer = GapCheck().check(ValidationContext(interval_series(day_with_missing(*range(8, 13)))))

    assert hour[0].suggestion == "estimate by linear interpolation"
    assert longer[0].suggestion.startswith("re-read the load profile")


def test_a_value_whose_quality_says_missing_counts_as_missing() -> None:
    series = interval_series(np.full(4, 0.25))
    qualities = series.qualities.copy()
    qualities[2] = ReadingQuality.MISSING
    series = type(series)(series.start, 15, series.values, series.statuses, qualities)

    [finding] = GapCheck().check(ValidationContext(series))

    assert finding.slots == (2,)


def test_a_gap_over_midnight_names_both_dates() -> None:
    values = np.full(8, 0.25)
    values[2:6] = NAN

    [finding] = GapCheck().check(ValidationContext(interval_series(values, start=at(23))))

    assert finding.message == "4 intervals missing from 2026-03-02 23:30 to 2026-03-03 00:30 UTC"


def test_a_series_starting_mid_day_names_slots_from_its_own_start() -> None:
    values = [0.25, NAN, 0.25]

    [finding] = GapCheck().check(ValidationContext(interval_series(values, start=at(6))))

    assert finding.slots == (1,)
    assert "06:15 to 06:30" in finding.message
    assert MIDNIGHT.hour == 0
