"""Duplicate delivery: intervals delivered before, with the same or with other values."""

from __future__ import annotations

import numpy as np

from domain.vee.rules import DuplicateDeliveryCheck, DuplicateDeliveryParams
from domain.vee.series import IntervalSeries, ValidationContext
from tests.unit.vee import at, interval_series

NEW = interval_series([0.25, 0.5, 0.75, 1.0], start=at(10))


def duplicates(earlier: IntervalSeries | None, rule: DuplicateDeliveryCheck | None = None) -> list:
    context = ValidationContext(NEW, previously_delivered=earlier)
    return (rule or DuplicateDeliveryCheck()).check(context)


def test_intervals_never_delivered_before_pass() -> None:
    assert duplicates(None) == []
    assert duplicates(interval_series([0.25] * 4, start=at(9))) == []


def test_the_same_values_again_are_a_warning() -> None:
    [finding] = duplicates(interval_series([0.25, 0.5, 0.75, 1.0], start=at(10)))

    assert finding.severity == "warn"
    assert finding.slots == (0, 1, 2, 3)
    assert finding.message == (
        "4 intervals from 2026-03-02 10:00 to 11:00 UTC delivered again with the same values"
    )


def test_other_values_for_intervals_already_delivered_fail() -> None:
    findings = duplicates(interval_series([0.25, 0.5, 0.5, 1.0], start=at(10)))

    changed = findings[0]
    assert changed.severity == "fail"
    assert changed.slots == (2,)
    assert changed.message == (
        "1 interval from 2026-03-02 10:30 to 10:45 UTC delivered again with other values"
        " (largest change 0.25 kWh)"
    )
    assert [finding.slots for finding in findings] == [(2,), (0, 1), (3,)]


def test_a_change_within_the_tolerance_counts_as_the_same() -> None:
    rule = DuplicateDeliveryCheck(DuplicateDeliveryParams(tolerance=0.25, report_identical=False))

    assert duplicates(interval_series([0.25, 0.5, 0.5, 1.0], start=at(10)), rule) == []
    [finding] = duplicates(interval_series([0.25, 0.5, 0.375, 1.0], start=at(10)), rule)
    assert finding.detail["largest_change"] == 0.375


def test_earlier_deliveries_are_matched_by_interval_start() -> None:
    earlier = interval_series([9.0, 9.0, 0.75, 1.0], start=at(9, 30))

    findings = duplicates(earlier)

    assert [finding.slots for finding in findings] == [(0, 1)]
    assert findings[0].detail["values"] == "different"


def test_a_gap_filled_by_a_late_delivery_is_not_a_duplicate() -> None:
    earlier = interval_series([0.25, np.nan, np.nan, 1.0], start=at(10))

    findings = duplicates(
        earlier, DuplicateDeliveryCheck(DuplicateDeliveryParams(report_identical=False))
    )

    assert findings == []


def test_earlier_deliveries_on_other_boundaries_cannot_be_compared() -> None:
    assert duplicates(interval_series([0.25] * 4, start=at(10, 5))) == []
    assert duplicates(interval_series([0.25] * 4, start=at(10), interval_minutes=30)) == []
