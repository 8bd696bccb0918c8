"""ChannelDay: blocks of intervals, revisions by people and by VEE, and their guards."""

from __future__ import annotations

import uuid
from datetime import date

import numpy as np
import pytest

from domain.channel_day import BlockOutOfDay, ChannelDay, EstimateLocked
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality as Q

DEVICE = Provenance("hes-collector", "load profile read", "device")
OPERATOR = Provenance("olga", "customer supplied a reading", "ui", reason_code="CUSTOMER_READ")


def new_day() -> ChannelDay:
    return ChannelDay.open(uuid.uuid4(), date(2026, 3, 1), 15)


def test_a_block_is_recorded_once_and_a_missing_value_is_marked_missing() -> None:
    day = new_day()
    assert day.record(0, np.array([1.0, np.nan, 3.0]), np.zeros(3), DEVICE)
    assert not day.record(0, np.array([1.0, np.nan, 3.0]), np.zeros(3), DEVICE)
    assert day.version == 2
    assert list(day.qualities[:3]) == [Q.RAW, Q.MISSING, Q.RAW]


def test_a_re_read_of_the_same_data_does_not_undo_an_edit() -> None:
    day = new_day()
    day.record(0, np.array([1.0, 2.0]), np.zeros(2), DEVICE)
    day.edit([1], np.array([2.5]), OPERATOR)
    assert not day.record(0, np.array([1.0, 2.0]), np.zeros(2), DEVICE)
    assert day.values[1] == 2.5
    assert day.qualities[1] == Q.EDITED


def test_a_different_late_read_is_recorded_but_keeps_the_edit() -> None:
    day = new_day()
    day.record(0, np.array([1.0, 2.0]), np.zeros(2), DEVICE)
    day.edit([1], np.array([2.5]), OPERATOR)
    assert day.record(0, np.array([1.1, 2.2]), np.zeros(2), DEVICE)
    assert day.values[0] == 1.1 and day.values[1] == 2.5
    assert day.raw[1] == 2.2
    event = day.collect_events()[-1]
    assert isinstance(event, ChannelDay.IntervalsRecorded)
    assert event.held_slots == [1]


def test_billed_estimates_are_not_replaced_silently() -> None:
    day = new_day()
    day.record(0, np.array([1.0, np.nan, 3.0]), np.zeros(3), DEVICE)
    day.estimate([1], np.array([2.0]), "linear_interpolation", DEVICE)
    day.mark_billed([1], DEVICE)
    with pytest.raises(EstimateLocked):
        day.estimate([1], np.array([2.1]), "like_day_average", DEVICE)
    day.record(0, np.array([1.0, 2.4, 3.0]), np.zeros(3), DEVICE)  # a late actual read
    assert day.values[1] == 2.0 and day.qualities[1] == Q.ESTIMATED
    day.estimate([1], np.array([2.4]), "late read", DEVICE, override_reason="actual arrived")
    assert day.values[1] == 2.4 and not day.billed[1]


def test_an_unbilled_estimate_may_be_replaced_by_a_late_actual_read() -> None:
    day = new_day()
    day.record(0, np.array([1.0, np.nan]), np.zeros(2), DEVICE)
    day.estimate([1], np.array([2.0]), "linear_interpolation", DEVICE)
    day.record(0, np.array([1.0, 2.4]), np.zeros(2), DEVICE)
    assert day.values[1] == 2.4 and day.qualities[1] == Q.RAW


def test_accepting_as_is_keeps_the_value_and_marks_it_accepted() -> None:
    day = new_day()
    day.record(0, np.array([1.0, 99.0]), np.zeros(2), DEVICE, qualities=np.array([2, 3]))
    day.accept_as_is([1], OPERATOR)
    assert day.values[1] == 99.0 and day.qualities[1] == Q.ACCEPTED


@pytest.mark.parametrize(
    ("slots", "values", "message"),
    [
        ([96], [1.0], "outside this day"),
        ([1, 1], [1.0, 2.0], "named twice"),
        ([1], [1.0, 2.0], "1 intervals but 2 values"),
        ([1], [float("inf")], "finite"),
        ([], [], "no intervals"),
    ],
)
def test_edits_that_do_not_fit_the_day_are_refused(
    slots: list[int], values: list[float], message: str
) -> None:
    day = new_day()
    with pytest.raises(BlockOutOfDay, match=message):
        day.edit(slots, np.array(values), OPERATOR)
    assert day.version == 1


def test_version_1_blocks_are_upcast_to_per_slot_qualities() -> None:
    state = {"values": np.array([1.0, 2.0]), "quality": int(Q.RAW)}
    ChannelDay.IntervalsRecorded.upcast_v1_v2(state)
    assert np.array_equal(state["qualities"], [Q.RAW, Q.RAW])
    assert state["findings"] == [] and state["held_slots"] == []
