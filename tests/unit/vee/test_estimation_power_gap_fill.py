from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from domain.vee.estimation import PowerGapFill, PowerGapFillParams
from domain.vee.series import PowerOutage
from tests.unit.vee.estimation_builders import MONDAY, context_of, series_of, slots

NAN = np.nan
# Eight quarter-hours, 00:00 to 02:00; slots 1-6 missing.
VALUES = [0.2, NAN, NAN, NAN, NAN, NAN, NAN, 0.2]
GAP = slots(1, 6)


def _at(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


def test_slots_wholly_inside_an_outage_had_no_consumption() -> None:
    outage = PowerOutage(MONDAY + _at(15), MONDAY + _at(105))
    context = context_of(series_of(VALUES), outages=[outage])

    estimate = PowerGapFill().estimate(context, GAP)

    assert estimate is not None
    assert estimate.method == "power_gap_fill"
    assert estimate.slots == GAP
    assert np.array_equal(estimate.values, np.zeros(6))


def test_slots_cut_by_power_down_or_power_up_are_left_for_the_next_method() -> None:
    outage = PowerOutage(MONDAY + _at(20), MONDAY + _at(80))  # 00:20 to 01:20
    context = context_of(series_of(VALUES), outages=[outage])

    estimate = PowerGapFill().estimate(context, GAP)

    assert estimate is not None
    assert estimate.slots == (2, 3, 4)  # 00:30, 00:45, 01:00


def test_an_outage_that_is_still_on_fills_to_the_end_of_the_data() -> None:
    context = context_of(series_of(VALUES), outages=[PowerOutage(MONDAY + _at(60), None)])

    estimate = PowerGapFill().estimate(context, GAP)

    assert estimate is not None
    assert estimate.slots == (4, 5, 6)


@pytest.mark.parametrize(("down_minutes", "filled"), [(22.5, True), (24.0, False)])
def test_a_slot_counts_when_min_inside_fraction_of_it_is_without_power(
    down_minutes: float, filled: bool
) -> None:
    # Slot 1 is 00:15-00:30: down at 00:22:30 leaves half of it without power.
    outage = PowerOutage(MONDAY + _at(down_minutes), MONDAY + _at(30))
    method = PowerGapFill(PowerGapFillParams(min_inside_fraction=0.5))

    estimate = method.estimate(context_of(series_of(VALUES), outages=[outage]), GAP)

    assert (estimate is not None and estimate.slots == (1,)) is filled


def test_a_gap_outside_every_outage_is_not_filled() -> None:
    outage = PowerOutage(MONDAY + _at(120), MONDAY + _at(180))

    assert PowerGapFill().estimate(context_of(series_of(VALUES), outages=[outage]), GAP) is None
    assert PowerGapFill().estimate(context_of(series_of(VALUES)), GAP) is None


def test_disconnections_count_only_when_asked_for() -> None:
    relay_open = [(MONDAY + _at(15), MONDAY + _at(105))]
    context = context_of(series_of(VALUES), disconnections=relay_open)
    with_relay = PowerGapFill(PowerGapFillParams(include_disconnections=True))

    assert PowerGapFill().estimate(context, GAP) is None
    estimate = with_relay.estimate(context, GAP)
    assert estimate is not None
    assert estimate.slots == GAP


@pytest.mark.parametrize("fraction", [0.0, 1.5])
def test_min_inside_fraction_is_a_share_of_a_slot(fraction: float) -> None:
    with pytest.raises(ValueError, match="min_inside_fraction"):
        PowerGapFillParams(min_inside_fraction=fraction)


@pytest.mark.parametrize(("down_seconds", "filled"), [(15 * 60, True), (15 * 60 + 1, False)])
def test_by_default_only_slots_wholly_without_power_are_filled(
    down_seconds: int, filled: bool
) -> None:
    outage = PowerOutage(MONDAY + timedelta(seconds=down_seconds), MONDAY + _at(30))

    estimate = PowerGapFill().estimate(context_of(series_of(VALUES), outages=[outage]), GAP)

    assert (estimate is not None and estimate.slots == (1,)) is filled
