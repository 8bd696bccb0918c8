"""Cumulative registers: they must not decrease, and their advance stays within limits."""

from __future__ import annotations

import numpy as np

from domain.vee.rules import (
    RegisterDecreaseCheck,
    RegisterDecreaseParams,
    RegisterDeltaCheck,
    RegisterDeltaParams,
)
from domain.vee.series import ValidationContext
from tests.unit.vee import at, interval_series, reads

DAY_SERIES = interval_series(np.full(96, 0.25))


def with_reads(*registers: tuple) -> ValidationContext:
    return ValidationContext(
        DAY_SERIES, registers=tuple(read for group in registers for read in group)
    )


def test_a_register_that_rises_or_stays_passes() -> None:
    context = with_reads(reads("total", (at(0), "1000.0"), (at(12), "1000.0"), (at(24), "1024")))

    assert RegisterDecreaseCheck().check(context) == []


def test_a_register_that_goes_down_fails_for_the_intervals_between_the_reads() -> None:
    context = with_reads(reads("total", (at(24), "999.9"), (at(0), "1000.0")))  # any order

    [finding] = RegisterDecreaseCheck().check(context)

    assert finding.severity == "fail"
    assert finding.slots == tuple(range(96))
    assert finding.message == (
        "register total went down by 0.1 kWh from 1000.0 at 2026-03-02 00:00:00 UTC"
        " to 999.9 at 2026-03-03 00:00:00 UTC"
    )
    assert "meter exchange" in finding.suggestion


def test_each_register_is_judged_on_its_own_reads() -> None:
    context = with_reads(
        reads("total", (at(0), "1000"), (at(24), "1024")),
        reads("1.8.1", (at(0), "600"), (at(24), "590")),
    )

    [finding] = RegisterDecreaseCheck().check(context)

    assert finding.detail["register"] == "1.8.1"


def test_a_decrease_of_exactly_the_tolerance_passes_and_a_larger_one_fires() -> None:
    rule = RegisterDecreaseCheck(RegisterDecreaseParams(tolerance=0.5))

    assert rule.check(with_reads(reads("total", (at(0), "1000"), (at(24), "999.5")))) == []
    assert len(rule.check(with_reads(reads("total", (at(0), "1000"), (at(24), "999.4"))))) == 1


def test_an_advance_of_exactly_the_daily_limit_passes_and_more_fires() -> None:
    limit = with_reads(reads("total", (at(0), "1000"), (at(24), "1200")))
    above = with_reads(reads("total", (at(0), "1000"), (at(24), "1200.5")))

    assert RegisterDeltaCheck().check(limit) == []
    [finding] = RegisterDeltaCheck().check(above)
    assert finding.message == (
        "register total advanced 200.5 kWh from 2026-03-02 00:00:00 UTC to 2026-03-03 00:00:00 UTC:"
        " 200.5 kWh a day, above the limit of 200 kWh"
    )


def test_the_advance_is_scaled_to_a_day() -> None:
    half_day = with_reads(reads("total", (at(0), "1000"), (at(12), "1100.5")))

    [finding] = RegisterDeltaCheck().check(half_day)

    assert finding.detail["per_day"] == 201.0
    assert finding.slots == tuple(range(48))


def test_a_low_daily_limit_fires_below_it_only() -> None:
    rule = RegisterDeltaCheck(RegisterDeltaParams(high_per_day=None, low_per_day=1.0))

    assert rule.check(with_reads(reads("total", (at(0), "1000"), (at(24), "1001")))) == []
    [finding] = rule.check(with_reads(reads("total", (at(0), "1000"), (at(24), "1000.5"))))
    assert finding.detail["side"] == "below"


def test_the_delta_rule_watches_only_its_register_and_needs_two_reads() -> None:
    other = with_reads(reads("1.8.1", (at(0), "1000"), (at(24), "5000")))
    single = with_reads(reads("total", (at(0), "1000")))

    assert RegisterDeltaCheck().check(other) == []
    assert RegisterDeltaCheck().check(single) == []
