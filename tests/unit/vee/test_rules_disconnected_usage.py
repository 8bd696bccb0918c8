"""Usage while the meter's relay was open."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from domain.vee.rules import DisconnectedUsageCheck, DisconnectedUsageParams
from domain.vee.series import ValidationContext
from tests.unit.vee import at, interval_series, slot


def day_with(values_at: dict[int, float]) -> np.ndarray:
    values = np.full(96, 0.25)
    values[slot(10) : slot(12)] = 0.0  # the relay opens at 10:00 and closes at 12:00
    for index, value in values_at.items():
        values[index] = value
    return values


def usage(
    values: np.ndarray,
    disconnected: tuple[datetime, datetime | None] = (at(10), at(12)),
    rule: DisconnectedUsageCheck | None = None,
) -> list:
    context = ValidationContext(interval_series(values), disconnections=(disconnected,))
    return (rule or DisconnectedUsageCheck()).check(context)


def test_no_usage_while_disconnected_passes() -> None:
    assert usage(day_with({})) == []


def test_usage_while_disconnected_fails_on_those_intervals() -> None:
    [finding] = usage(day_with({slot(10, 15): 0.5, slot(10, 30): 0.25}))

    assert finding.severity == "fail"
    assert finding.slots == (slot(10, 15), slot(10, 30))
    assert finding.message == (
        "0.75 kWh used in 2 intervals from 2026-03-02 10:15 to 10:45 UTC while the relay"
        " was open (disconnected at 2026-03-02 10:00:00 UTC)"
    )
    assert "bypass" in finding.suggestion


def test_an_interval_the_relay_opened_in_is_not_judged() -> None:
    assert usage(day_with({slot(10): 0.25}), disconnected=(at(10, 5), at(12))) == []
    assert len(usage(day_with({slot(10, 15): 0.25}), disconnected=(at(10, 5), at(12)))) == 1


def test_usage_at_the_threshold_passes_and_above_it_fails() -> None:
    rule = DisconnectedUsageCheck(DisconnectedUsageParams(threshold=0.01))

    assert usage(day_with({slot(11): 0.01}), rule=rule) == []
    assert len(usage(day_with({slot(11): 0.011}), rule=rule)) == 1


def test_a_disconnection_still_open_covers_the_rest_of_the_series() -> None:
    values = day_with({})
    values[slot(12) :] = 0.0
    values[95] = 0.125

    [finding] = usage(values, disconnected=(at(10), None))

    assert finding.slots == (95,)


def test_usage_after_reconnection_is_ordinary() -> None:
    assert usage(day_with({slot(12): 1.0})) == []
