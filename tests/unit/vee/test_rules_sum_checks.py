"""Sum checks: intervals against the register advance, TOU registers against the total."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from domain.vee.rules import SumCheck, SumCheckParams, TouSumCheck, TouSumCheckParams
from domain.vee.series import IntervalSeries, RegisterRead, ValidationContext
from tests.unit.vee import at, household_day, interval_series, reads

QUARTERS = interval_series(np.full(96, 0.25))  # 24 kWh over the day


def total(advance: str, end_hours: float = 24, start_hours: float = 0) -> tuple:
    end = str(Decimal("1000") + Decimal(advance))
    return reads("total", (at(start_hours), "1000"), (at(end_hours), end))


def sum_check(
    series: IntervalSeries, registers: tuple[RegisterRead, ...], rule: SumCheck | None = None
) -> list:
    return (rule or SumCheck()).check(ValidationContext(series, registers=registers))


def test_intervals_adding_up_to_the_register_advance_pass() -> None:
    assert sum_check(QUARTERS, total("24")) == []


def test_a_difference_of_exactly_the_absolute_tolerance_passes() -> None:
    assert sum_check(QUARTERS, total("25")) == []  # 1 kWh, though 4 %


def test_a_difference_beyond_both_tolerances_fails_for_the_intervals_of_the_span() -> None:
    [finding] = sum_check(QUARTERS, total("25.5"))

    assert finding.severity == "fail"
    assert finding.slots == tuple(range(96))
    assert finding.message == (
        "intervals from 2026-03-02 00:00 to 2026-03-03 00:00 UTC add up to 24 kWh"
        " but register total advanced 25.5 kWh (difference -1.5 kWh)"
    )
    assert finding.detail == {
        "interval_sum": 24.0,
        "register_advance": 25.5,
        "difference": -1.5,
    }


def test_a_difference_of_exactly_the_percent_tolerance_passes_and_more_fires() -> None:
    rule = SumCheck(SumCheckParams(absolute_tolerance=0.0, percent_tolerance=2.0))
    at_tolerance = interval_series(np.full(98, 0.5))  # 49 kWh against 50: 2 %
    beyond = interval_series(np.full(97, 0.5))  # 48.5 kWh against 50: 3 %

    assert sum_check(at_tolerance, total("50", end_hours=24.5), rule) == []
    assert len(sum_check(beyond, total("50", end_hours=24.25), rule)) == 1


def test_a_large_difference_within_the_percent_tolerance_passes() -> None:
    rule = SumCheck(SumCheckParams(absolute_tolerance=0.0, percent_tolerance=5.0))

    assert sum_check(QUARTERS, total("25"), rule) == []  # 1 of 25 = 4 %


def test_only_the_intervals_between_the_reads_are_summed() -> None:
    assert sum_check(QUARTERS, total("6", start_hours=6, end_hours=12)) == []
    [finding] = sum_check(QUARTERS, total("9", start_hours=6, end_hours=12))
    assert finding.slots == tuple(range(24, 48))


def test_a_read_taken_seconds_after_the_boundary_counts_at_the_boundary() -> None:
    late = reads("total", (at(0, seconds=20), "1000"), (at(24, seconds=40), "1024"))

    assert sum_check(QUARTERS, late) == []


def test_without_every_interval_of_the_span_the_sum_is_not_judged() -> None:
    values = np.full(96, 0.25)
    values[10] = np.nan

    assert sum_check(interval_series(values), total("30")) == []
    assert sum_check(QUARTERS, total("30", end_hours=25)) == []  # beyond the series
    assert sum_check(QUARTERS, reads("total", (at(0), "1000"))) == []


def test_a_household_day_matches_its_register_and_a_wrong_multiplier_does_not() -> None:
    day = household_day()
    advance = f"{day.sum():.2f}"

    assert sum_check(interval_series(day), total(advance)) == []
    assert len(sum_check(interval_series(day * 1.2), total(advance))) == 1


def tou(total_advance: str, *rates: str) -> tuple:
    registers = list(total(total_advance))
    for number, advance in enumerate(rates, start=1):
        end = str(Decimal("500") + Decimal(advance))
        registers += reads(f"1.8.{number}", (at(0), "500"), (at(24), end))
    return tuple(registers)


def tou_check(registers: tuple, rule: TouSumCheck | None = None) -> list:
    return (rule or TouSumCheck()).check(ValidationContext(QUARTERS, registers=registers))


def test_tou_registers_adding_up_to_the_total_pass() -> None:
    assert tou_check(tou("24", "14", "10")) == []


def test_tou_registers_off_by_exactly_the_absolute_tolerance_pass() -> None:
    assert tou_check(tou("24", "14", "11")) == []


def test_tou_registers_off_beyond_both_tolerances_warn() -> None:
    [finding] = tou_check(tou("24", "14", "11.5"))

    assert finding.severity == "warn"
    assert finding.slots == ()
    assert finding.message == (
        "TOU registers 1.8.1, 1.8.2 advanced 25.5 kWh but register total advanced 24 kWh"
        " (difference 1.5 kWh)"
    )


def test_a_percent_tolerance_applies_to_the_total_advance() -> None:
    rule = TouSumCheck(TouSumCheckParams(absolute_tolerance=0.0, percent_tolerance=1.0))

    assert tou_check(tou("100", "60", "41"), rule) == []  # 1 of 100
    assert len(tou_check(tou("100", "60", "41.01"), rule)) == 1


def test_the_tou_registers_may_be_named() -> None:
    rule = TouSumCheck(TouSumCheckParams(tou_registers=("1.8.1", "1.8.2")))
    registers = tou("24", "14", "10") + reads("2.8.0", (at(0), "0"), (at(24), "7"))

    assert tou_check(registers, rule) == []
    assert len(tou_check(registers)) == 1  # every other register counts by default


def test_a_tou_register_without_two_reads_leaves_the_sum_unknown() -> None:
    registers = (*tou("24", "14"), *reads("1.8.2", (at(0), "500")))

    assert tou_check(registers) == []


def test_the_total_register_cannot_be_a_tou_register() -> None:
    with pytest.raises(ValueError, match="total register"):
        TouSumCheckParams(tou_registers=("total",))
