"""A register's reads of one month: new reads and corrections recorded, repeats not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.provenance import Provenance
from domain.register_month import InvalidRegisterRead, RegisterMonth

METER = Provenance("hes-collector", "load profile read", "device")
FIELD = Provenance("fred", "field visit", "api", "MANUAL_READ")
CHANNEL = uuid.uuid4()
MIDNIGHT = datetime(2026, 3, 3, tzinfo=UTC)


def stream() -> RegisterMonth:
    return RegisterMonth.open(CHANNEL, "total", "2026-03")


def test_new_reads_are_recorded_and_repeats_are_not() -> None:
    month = stream()

    assert (
        month.record(
            [(MIDNIGHT, Decimal("1234.5")), (MIDNIGHT + timedelta(1), Decimal("1240"))], METER
        )
        == 2
    )
    assert month.record([(MIDNIGHT, Decimal("1234.50"))], METER) == 0  # the same number
    # Another zone, the same moment: still the same read.
    assert (
        month.record(
            [(MIDNIGHT.astimezone(timezone(timedelta(hours=1))), Decimal("1234.5"))], METER
        )
        == 0
    )

    events = month.collect_events()
    assert [type(e).__name__ for e in events] == ["Opened", "ReadsRecorded"]
    [row, _] = month.rows(MIDNIGHT, MIDNIGHT + timedelta(days=2))
    assert (row["read_at"], row["value"], row["actor"], row["source"]) == (
        MIDNIGHT, Decimal("1234.5"), "hes-collector", "device",
    )  # fmt: skip


def test_a_different_value_for_a_known_time_is_a_correction() -> None:
    month = stream()
    month.record([(MIDNIGHT, Decimal("1234.5"))], METER)

    assert month.record([(MIDNIGHT, Decimal("1234.6")), (MIDNIGHT, Decimal("1234.6"))], FIELD) == 1

    [row] = month.rows(MIDNIGHT, MIDNIGHT + timedelta(hours=1))
    assert (row["value"], row["actor"], row["reason_code"], row["version"]) == (
        Decimal("1234.6"), "fred", "MANUAL_READ", 3,
    )  # fmt: skip
    assert month.rows(MIDNIGHT + timedelta(seconds=1), MIDNIGHT + timedelta(hours=1)) == []


@pytest.mark.parametrize(
    ("read_at", "value", "problem"),
    [
        (datetime(2026, 3, 3), Decimal(1), "timezone-aware"),
        (datetime(2026, 4, 1, tzinfo=UTC), Decimal(1), "not in 2026-03"),
        (MIDNIGHT, Decimal("NaN"), "finite"),
        (MIDNIGHT, "twelve", "must be a number"),
    ],
)
def test_bad_reads_are_refused_with_the_reason(
    read_at: datetime, value: object, problem: str
) -> None:
    month = stream()
    with pytest.raises(InvalidRegisterRead, match=problem):
        month.record([(read_at, value)], METER)  # type: ignore[list-item]
    assert month.reads == {}


def test_streams_are_one_per_channel_register_and_month() -> None:
    ids = {
        RegisterMonth.id_for(CHANNEL, "total", "2026-03"),
        RegisterMonth.id_for(CHANNEL, "1.8.1", "2026-03"),
        RegisterMonth.id_for(CHANNEL, "total", "2026-04"),
        RegisterMonth.id_for(uuid.uuid4(), "total", "2026-03"),
    }
    assert len(ids) == 4
    with pytest.raises(InvalidRegisterRead, match="names its register"):
        RegisterMonth.open(CHANNEL, " ", "2026-03")
