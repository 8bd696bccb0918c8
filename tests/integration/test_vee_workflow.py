"""The VEE workflow on real load shapes: validate, estimate, store, all by itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from adapters.loadshapes import load_shape
from adapters.persistence.store import StoreLocation
from application.readings import Readings
from application.registry import Registry
from application.vee_workflow import Delivery, VeeWorkflow
from domain.channel import Channel
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality as Q
from domain.vee.rule_set import DEFAULT_RULE_SET

DEVICE = Provenance("hes-collector", "load profile read", "device")
SETUP = Provenance("test", "set-up", "system")
DAY = date(2026, 3, 4)  # a Wednesday
KEY = "SP-1:A+"


@pytest.fixture
def apps(store: StoreLocation) -> Iterator[tuple[Registry, Readings]]:
    registry, readings = (
        Registry(env=store.application_env()),
        Readings(env=store.application_env()),
    )
    registry.register(
        "channel",
        {
            "channel_key": KEY,
            "service_point_id": "SP-1",
            "kind": "metered",
            "unit": "kWh",
            "interval_minutes": 15,
            "meter_channel": "1.0.1.29.0.255",
        },
        date(2026, 1, 1),
        SETUP,
    )
    yield registry, readings
    registry.close()
    readings.close()


def household_day(day: date) -> np.ndarray:
    return load_shape("h25").quarter_hours(day) * 3.5  # 3,500 kWh a year


def start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def test_a_clean_day_is_stored_validated(apps: tuple[Registry, Readings]) -> None:
    registry, readings = apps
    workflow = VeeWorkflow(registry, readings)
    values = household_day(DAY)
    outcome = workflow.process(Delivery(KEY, start_of(DAY), values, np.zeros(96)), DEVICE)
    assert (outcome.validated, outcome.failed, outcome.estimated) == (96, 0, 0)
    stored = readings.series(Channel.id_for(KEY), 15, start_of(DAY), start_of(DAY + timedelta(1)))
    assert np.all(stored.qualities == Q.VALIDATED)
    assert np.allclose(stored.values, values)


def test_a_short_gap_and_a_spike_are_estimated_and_the_raw_values_stay_retrievable(
    apps: tuple[Registry, Readings],
) -> None:
    registry, readings = apps
    # The default rule set only warns of spikes; this utility fails them.
    rules = [spec.as_dict() for spec in DEFAULT_RULE_SET.rules if spec.rule != "spike"]
    rules.append({"rule": "spike", "params": {}, "severity": "fail"})
    registry.register("validation_rule_set", {"name": "strict", "rules": rules}, DAY, SETUP)
    registry.change("channel", KEY, {"rule_set": "strict"}, DAY, SETUP)
    workflow = VeeWorkflow(registry, readings)
    truth = household_day(DAY)
    delivered = truth.copy()
    delivered[40:43] = np.nan  # 10:00-10:45 lost
    delivered[80] = truth[80] * 40  # a spike at 20:00
    outcome = workflow.process(Delivery(KEY, start_of(DAY), delivered, np.zeros(96)), DEVICE)

    assert outcome.failed >= 1 and outcome.estimated == 4 and outcome.for_a_person == 0
    stored = readings.series(Channel.id_for(KEY), 15, start_of(DAY), start_of(DAY + timedelta(1)))
    assert list(stored.qualities[40:43]) == [Q.ESTIMATED] * 3
    assert stored.qualities[80] == Q.ESTIMATED
    # Linear interpolation over 45 minutes of a household morning: within 20 % in total.
    assert abs(stored.values[40:43].sum() - truth[40:43].sum()) < 0.2 * truth[40:43].sum()
    assert stored.values[80] < truth[80] * 3
    versions = readings.interval_versions(Channel.id_for(KEY), start_of(DAY) + timedelta(hours=20))
    assert [(v["event"], v["quality"]) for v in versions] == [
        ("IntervalsRecorded", "failed"),
        ("IntervalsEstimated", "estimated"),
    ]
    assert versions[0]["value"] == pytest.approx(truth[80] * 40)
    assert any(f["rule"] == "spike" for f in versions[0]["findings"])


def test_what_cannot_be_estimated_is_left_for_a_person(apps: tuple[Registry, Readings]) -> None:
    registry, readings = apps
    workflow = VeeWorkflow(registry, readings)
    delivered = household_day(DAY)
    delivered[24:48] = np.nan  # six hours, no history of like days to borrow from
    outcome = workflow.process(Delivery(KEY, start_of(DAY), delivered, np.zeros(96)), DEVICE)
    assert outcome.estimated == 0
    assert outcome.for_a_person == 24
    assert any(f["rule"] == "gap" for f in outcome.findings)


def test_with_history_a_missing_day_is_estimated_from_like_days(
    apps: tuple[Registry, Readings],
) -> None:
    registry, readings = apps
    workflow = VeeWorkflow(registry, readings)
    for back in range(21, 0, -1):
        day = DAY - timedelta(days=back)
        workflow.process(Delivery(KEY, start_of(day), household_day(day), np.zeros(96)), DEVICE)
    delivered = household_day(DAY)
    delivered[24:48] = np.nan
    outcome = workflow.process(Delivery(KEY, start_of(DAY), delivered, np.zeros(96)), DEVICE)
    assert outcome.estimated == 24 and outcome.for_a_person == 0
    stored = readings.series(Channel.id_for(KEY), 15, start_of(DAY), start_of(DAY + timedelta(1)))
    truth = household_day(DAY)
    assert abs(stored.values[24:48].sum() - truth[24:48].sum()) < 0.1 * truth[24:48].sum()


def test_a_repeated_delivery_records_nothing(apps: tuple[Registry, Readings]) -> None:
    registry, readings = apps
    workflow = VeeWorkflow(registry, readings)
    delivery = Delivery(KEY, start_of(DAY), household_day(DAY), np.zeros(96))
    workflow.process(delivery, DEVICE)
    last = readings.recorder.max_notification_id()
    assert workflow.process(delivery, DEVICE).stored.intervals == 0
    assert readings.recorder.max_notification_id() == last


def test_the_exception_queue_holds_what_a_person_must_decide_until_it_is_decided(
    store: StoreLocation,
) -> None:
    from adapters.security.passwords import Argon2PasswordHasher
    from interfaces.installation import Installation

    installation = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    try:
        installation.registry.register(
            "channel",
            {"channel_key": KEY, "service_point_id": "SP-1", "kind": "metered", "unit": "kWh",
             "interval_minutes": 15, "meter_channel": "1.0.1.29.0.255"},
            date(2026, 1, 1),
            SETUP,
        )  # fmt: skip
        workflow = VeeWorkflow(installation.registry, installation.readings)
        delivered = household_day(DAY)
        delivered[24:48] = np.nan  # six hours nobody can estimate without history
        workflow.process(Delivery(KEY, start_of(DAY), delivered, np.zeros(96)), DEVICE)
        installation.read_models.catch_up()
        queue = installation.read_models.vee_exceptions
        assert queue.count(channel_id=Channel.id_for(KEY)) == 24
        first = queue.exceptions(channel_id=Channel.id_for(KEY), limit=1000)[-1]
        assert first["rule"] == "gap"
        assert first["start"] == start_of(DAY) + timedelta(hours=6)
        assert "re-read" in first["suggestion"] or first["suggestion"]

        fixes = {start_of(DAY) + timedelta(minutes=15 * slot): 0.1 for slot in range(24, 36)}
        installation.readings.edit_intervals(
            Channel.id_for(KEY), fixes, Provenance("olga", "site visit", "ui", "FIELD_READ")
        )
        installation.read_models.catch_up()
        assert queue.count(channel_id=Channel.id_for(KEY)) == 12

        installation.read_models.reset_all()
        installation.read_models.catch_up()
        assert queue.count(channel_id=Channel.id_for(KEY)) == 12  # rebuilt identically
    finally:
        installation.close()


def test_an_outage_credited_by_billing_is_estimated_as_no_consumption(
    store: StoreLocation,
) -> None:
    from adapters.security.passwords import Argon2PasswordHasher
    from application.bulk_import import BulkImport
    from interfaces.installation import Installation

    installation = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    try:
        registry = installation.registry
        registry.register(
            "service_point", {"service_point_id": "SP-1", "name": "Bakery"}, date(2026, 1, 1), SETUP
        )
        registry.register(
            "channel",
            {"channel_key": KEY, "service_point_id": "SP-1", "kind": "metered", "unit": "kWh",
             "interval_minutes": 15, "meter_channel": "1.0.1.29.0.255"},
            date(2026, 1, 1),
            SETUP,
        )  # fmt: skip
        credits = (
            "period_key,service_point_id,kind,starts_at,ends_at,programme\n"
            "OC-77,SP-1,outage_credit,2026-03-04T06:00:00+00:00,2026-03-04T14:00:00+00:00,\n"
        )
        report = BulkImport(registry).run({"external_period": credits}, SETUP)
        assert report.accepted, report.problems
        installation.read_models.catch_up()

        delivered = household_day(DAY)
        delivered[24:56] = np.nan  # the meter had no supply from 06:00 to 14:00
        outcome = installation.collection.workflow.process(  # type: ignore[union-attr]
            Delivery(KEY, start_of(DAY), delivered, np.zeros(96)), DEVICE
        )
        assert outcome.estimated == 32 and outcome.for_a_person == 0
        stored = installation.readings.series(
            Channel.id_for(KEY), 15, start_of(DAY), start_of(DAY + timedelta(1))
        )
        assert np.all(stored.values[24:56] == 0.0)
        versions = installation.readings.interval_versions(
            Channel.id_for(KEY), start_of(DAY) + timedelta(hours=8)
        )
        assert versions[-1]["method"] == "power_gap_fill"
    finally:
        installation.close()
