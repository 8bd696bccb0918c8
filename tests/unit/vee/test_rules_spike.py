"""Spike: per day, the highest interval against (1 + tolerance) x the third-highest."""

from __future__ import annotations

import numpy as np

from domain.vee.rules import SpikeCheck, SpikeParams
from domain.vee.series import ValidationContext
from tests.unit.vee import household_day, interval_series, slot


def day_with_peak(*peaks: float) -> np.ndarray:
    values = np.full(96, 0.25)
    values[slot(18) : slot(18) + len(peaks)] = peaks
    return values


def spikes(values: np.ndarray, rule: SpikeCheck | None = None) -> list:
    return (rule or SpikeCheck()).check(ValidationContext(interval_series(values)))


def test_a_highest_exactly_three_times_the_third_highest_passes() -> None:
    assert spikes(day_with_peak(0.75)) == []  # 0.25 x (1 + 200 %)


def test_a_highest_just_above_three_times_the_third_highest_fires_on_its_slot() -> None:
    [finding] = spikes(day_with_peak(0.76))

    assert finding.slots == (slot(18),)
    assert finding.severity == "warn"
    assert finding.message == (
        "2026-03-02: 1 interval up to 0.76 kWh, more than 200 % above the third-highest 0.25 kWh"
    )
    assert finding.detail == {"day": "2026-03-02", "highest": 0.76, "third_highest": 0.25}


def test_a_spike_over_two_intervals_is_caught_and_both_are_named() -> None:
    [finding] = spikes(day_with_peak(2.0, 1.5))

    assert finding.slots == (slot(18), slot(18, 15))


def test_a_peak_of_three_intervals_is_real_load() -> None:
    assert spikes(day_with_peak(2.0, 1.5, 1.0)) == []


def test_the_tolerance_is_a_parameter() -> None:
    rule = SpikeCheck(SpikeParams(tolerance_percent=50.0))

    assert spikes(day_with_peak(0.375), rule) == []
    assert len(spikes(day_with_peak(0.4), rule)) == 1


def test_a_day_with_fewer_than_three_positive_values_is_skipped() -> None:
    values = np.zeros(96)
    values[[10, 20]] = [5.0, 0.01]

    assert spikes(values) == []
    values[30] = 0.01
    assert len(spikes(values)) == 1


def test_a_spike_smaller_than_the_minimum_worth_looking_at_is_ignored() -> None:
    rule = SpikeCheck(SpikeParams(min_highest=1.0))

    assert spikes(day_with_peak(0.99), rule) == []
    assert len(spikes(day_with_peak(1.0), rule)) == 1


def test_each_day_is_judged_on_its_own_values() -> None:
    two_days = np.concatenate([day_with_peak(0.75), day_with_peak(0.8)])

    [finding] = spikes(two_days)

    assert finding.detail["day"] == "2026-03-03"
    assert finding.slots == (96 + slot(18),)


def test_missing_intervals_are_not_values() -> None:
    values = day_with_peak(0.75)
    values[:90] = np.nan  # the third-highest is now among the few left

    assert spikes(values) == []


def test_an_ordinary_household_day_has_no_spike_and_a_corrupted_value_is_found() -> None:
    day = household_day()
    assert spikes(day) == []

    day[slot(3)] = 2.5  # a night-time quarter-hour of 10 kW
    [finding] = spikes(day)
    assert finding.slots == (slot(3),)
