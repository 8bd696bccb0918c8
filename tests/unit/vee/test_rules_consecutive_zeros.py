"""Consecutive zeros: runs at or below the threshold from 2 h up to 24 h fire."""

from __future__ import annotations

import numpy as np

from domain.vee.rules import ConsecutiveZerosCheck, ConsecutiveZerosParams
from domain.vee.series import ValidationContext
from tests.unit.vee import household_day, interval_series


def with_zeros(count: int, length: int = 96, first: int = 40) -> np.ndarray:
    values = np.full(length, 0.25)
    values[first : first + count] = 0.0
    return values


def runs_found(values: np.ndarray, rule: ConsecutiveZerosCheck | None = None) -> list:
    findings = (rule or ConsecutiveZerosCheck()).check(ValidationContext(interval_series(values)))
    return [finding.slots for finding in findings]


def test_zeros_for_exactly_two_hours_fire() -> None:
    assert runs_found(with_zeros(8)) == [tuple(range(40, 48))]


def test_zeros_for_one_hour_45_do_not() -> None:
    assert runs_found(with_zeros(7)) == []


def test_zeros_for_exactly_a_day_fire_and_a_longer_run_is_a_vacant_premise() -> None:
    assert len(runs_found(with_zeros(96, length=192))) == 1
    assert runs_found(with_zeros(97, length=192)) == []


def test_the_finding_says_when_and_how_long() -> None:
    [finding] = ConsecutiveZerosCheck().check(ValidationContext(interval_series(with_zeros(10))))

    assert finding.severity == "warn"
    assert finding.message == (
        "10 intervals at or below 0 kWh from 2026-03-02 10:00 to 12:30 UTC (2.5 h)"
    )
    assert finding.detail == {"hours": 2.5, "intervals": 10}


def test_values_at_the_threshold_count_as_zero_and_values_above_it_do_not() -> None:
    rule = ConsecutiveZerosCheck(ConsecutiveZerosParams(threshold=0.01))
    at_threshold = np.full(96, 0.25)
    at_threshold[0:8] = 0.01
    above = at_threshold.copy()
    above[4] = 0.011

    assert len(runs_found(at_threshold, rule)) == 1
    assert runs_found(above, rule) == []


def test_a_missing_interval_breaks_a_run() -> None:
    values = with_zeros(9)
    values[44] = np.nan

    assert runs_found(values) == []


def test_the_hours_are_parameters() -> None:
    rule = ConsecutiveZerosCheck(ConsecutiveZerosParams(min_hours=1.0, max_hours=1.5))

    assert runs_found(with_zeros(3), rule) == []
    assert len(runs_found(with_zeros(4), rule)) == 1
    assert len(runs_found(with_zeros(6), rule)) == 1
    assert runs_found(with_zeros(7), rule) == []


def test_an_ordinary_household_day_has_no_run_of_zeros() -> None:
    assert runs_found(household_day()) == []
