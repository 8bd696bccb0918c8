"""Imported channels (temperature, prices) take interval values from CSV, all or none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.persistence.store import StoreLocation
from application.interval_import import IntervalImport
from application.readings import Readings
from application.registry import Registry
from domain.channel import Channel
from domain.provenance import Provenance

SETUP = Provenance("test", "set-up", "system")
WEATHER = Provenance("import", "weather service feed", "import")


@pytest.fixture
def importer(store: StoreLocation) -> Iterator[IntervalImport]:
    registry, readings = (
        Registry(env=store.application_env()),
        Readings(env=store.application_env()),
    )
    for key, kind, unit in (("WX-1:temp", "imported", "degC"), ("SP-1:A+", "metered", "kWh")):
        registry.register(
            "channel",
            {"channel_key": key, "service_point_id": key.split(":")[0], "kind": kind,
             "unit": unit, "interval_minutes": 60, "meter_channel": "1.0.1.29.0.255"},
            date(2026, 1, 1),
            SETUP,
        )  # fmt: skip
    yield IntervalImport(registry, readings)
    registry.close()
    readings.close()


def test_hourly_temperatures_are_stored_across_midnight(importer: IntervalImport) -> None:
    text = (
        "start,value\n"
        "2026-03-01T22:00:00+00:00,4.5\n"
        "2026-03-01T23:00:00+00:00,3.9\n"
        "2026-03-02T01:00:00+01:00,3.1\n"  # the same instant as 00:00 UTC
        "2026-03-02T03:00:00+00:00,2.0\n"
    )
    report = importer.run("WX-1:temp", text, WEATHER)
    assert report.accepted and report.rows == 4 and report.new_intervals == 4
    start = datetime(2026, 3, 1, 22, tzinfo=UTC)
    rows = importer.readings.intervals(
        Channel.id_for("WX-1:temp"), start, start + timedelta(hours=6)
    )
    assert [(r["start"].hour, r["value"]) for r in rows] == [
        (22, 4.5),
        (23, 3.9),
        (0, 3.1),
        (3, 2.0),
    ]
    assert importer.run("WX-1:temp", text, WEATHER).new_intervals == 0


def test_every_bad_row_is_reported_and_nothing_is_stored(importer: IntervalImport) -> None:
    text = (
        "start,value\n"
        "2026-03-01T10:00:00+00:00,4.5\n"
        "2026-03-01T10:30:00+00:00,4.6\n"
        "2026-03-01T11:00:00,4.7\n"
        "2026-03-01T12:00:00+00:00,warm\n"
        "2026-03-01T13:00:00+00:00,nan\n"
        "2026-03-01T10:00:00+00:00,4.4\n"
    )
    report = importer.run("WX-1:temp", text, WEATHER)
    assert [(p.line, p.reason.split(" ")[0]) for p in report.problems] == [
        (3, "2026-03-01T10:30:00+00:00"),
        (4, "start"),
        (5, "value"),
        (6, "value"),
        (7, "the"),
    ]
    assert importer.readings.recorder.max_notification_id() is None


def test_metered_channels_take_no_values_from_files(importer: IntervalImport) -> None:
    report = importer.run("SP-1:A+", "start,value\n2026-03-01T10:00:00+00:00,1\n", WEATHER)
    assert not report.accepted
    assert "only imported channels" in report.problems[0].reason
