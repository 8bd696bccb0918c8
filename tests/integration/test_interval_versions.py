"""Every version of every interval, as of any time, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from adapters.persistence.store import StoreLocation
from application.readings import Readings
from domain.channel import Channel
from domain.provenance import InvalidProvenance, Provenance
from domain.vee.reason_codes import UnknownReasonCode

CHANNEL = Channel.id_for("SP-1:A+")
START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DEVICE = Provenance("hes-collector", "load profile read", "device")
OLGA = Provenance("olga", "meter display photographed by the customer", "ui", "CUSTOMER_READ")


@pytest.fixture
def readings(store: StoreLocation) -> Iterator[Readings]:
    application = Readings(env=store.application_env())
    yield application
    application.close()


def moment() -> datetime:
    time.sleep(0.005)  # recorded times of consecutive steps must differ
    now = datetime.now(UTC)
    time.sleep(0.005)
    return now


def values_as_of(readings: Readings, as_of: datetime | None) -> list[float | None]:
    rows = readings.intervals(CHANNEL, START, START + timedelta(hours=1), as_of=as_of)
    return [row["value"] for row in rows]


def test_ingest_edit_and_late_read_each_answer_exactly_as_of_its_time(readings: Readings) -> None:
    readings.record_block(
        CHANNEL, 15, START, np.array([1.0, 2.0, 3.0, 4.0]), np.zeros(4, np.uint8), DEVICE
    )
    after_ingest = moment()
    readings.edit_intervals(CHANNEL, {START + timedelta(minutes=15): 2.5}, OLGA)
    after_edit = moment()
    readings.record_block(  # a late, corrected read of the whole hour
        CHANNEL, 15, START, np.array([1.0, 2.2, 3.3, 4.0]), np.zeros(4, np.uint8), DEVICE
    )
    after_late_read = moment()

    assert values_as_of(readings, after_ingest) == [1.0, 2.0, 3.0, 4.0]
    assert values_as_of(readings, after_edit) == [1.0, 2.5, 3.0, 4.0]
    # The late read corrects slot 3; the person's edit of slot 2 is kept.
    assert values_as_of(readings, after_late_read) == [1.0, 2.5, 3.3, 4.0]
    assert values_as_of(readings, None) == [1.0, 2.5, 3.3, 4.0]
    assert values_as_of(readings, START) == []  # nothing was known before the ingest

    versions = readings.interval_versions(CHANNEL, START + timedelta(minutes=15))
    assert [(v["event"], v["value"], v["quality"]) for v in versions] == [
        ("IntervalsRecorded", 2.0, "raw"),
        ("IntervalsEdited", 2.5, "edited"),
        ("IntervalsRecorded", 2.2, "raw"),
    ]
    assert versions[1]["actor"] == "olga"
    assert versions[1]["reason_code"] == "CUSTOMER_READ"
    assert versions[2]["held"] is True
    assert versions[0]["recorded_at"] < versions[1]["recorded_at"] < versions[2]["recorded_at"]


def test_an_edit_needs_a_known_reason_code_or_a_free_text_reason(readings: Readings) -> None:
    readings.record_block(CHANNEL, 15, START, np.array([1.0]), np.zeros(1, np.uint8), DEVICE)
    with pytest.raises(UnknownReasonCode, match="unknown reason code"):
        readings.edit_intervals(
            CHANNEL, {START: 5.0}, Provenance("olga", "because", "ui", reason_code="WHIM")
        )
    with pytest.raises(InvalidProvenance, match="reason is required"):
        readings.edit_intervals(CHANNEL, {START: 5.0}, Provenance("olga", " ", "ui", "OTHER"))
    assert values_as_of(readings, None) == [1.0]
    readings.edit_intervals(CHANNEL, {START: 5.0}, Provenance("olga", "site visit", "ui", "OTHER"))
    assert values_as_of(readings, None) == [5.0]
