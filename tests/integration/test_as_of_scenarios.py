"""What the registry knew when, about which day: as-of reads on SQLite and PostgreSQL.

The issue's scenario: an account and a metered channel are registered; the channel's
multiplier changes with effect from the first day of last month; then a wrong account
number is corrected. Every recorded step is read back as of just before and just after
it was recorded, for effective dates on both sides of the multiplier change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from adapters.persistence.store import StoreLocation
from application.errors import DuplicateKey, UnknownAggregate
from application.registry import Registry
from domain.attributes import InvalidAttributes
from domain.provenance import Provenance
from domain.registered import RegistryRuleViolation

TODAY = date.today()
CHANGE_FROM = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)  # first of last month
TWO_MONTHS_AGO = (CHANGE_FROM - timedelta(days=1)).replace(day=1)
OPENED = date(TODAY.year - 2, 1, 1)
JUST_BEFORE = timedelta(microseconds=1)

SETUP = Provenance("alice", "new connection", "ui", reason_code="CONNECT")
CT_REPLACED = Provenance("bob", "current transformers replaced", "ui", reason_code="CT")
TYPO = Provenance("carol", "account number mistyped at intake", "api", reason_code="FIX")

ACCOUNT = {"account_key": "ACC-1", "account_number": "4711-0001", "customer_id": "C-1"}
METER = {"serial": "MTR-1", "meter_type": "E350", "ct_ratio": "200"}
CHANNEL = {
    "channel_key": "MTR-1:A+",
    "service_point_id": "SP-1",
    "kind": "metered",
    "unit": "kWh",
    "interval_minutes": 15,
    "meter_serial": "MTR-1",
    "meter_channel": "1.0.1.8.0.255",
    "multiplier": "40",
}


@pytest.fixture
def registry(store: StoreLocation) -> Iterator[Registry]:
    registry = Registry(env=store.application_env())
    yield registry
    registry.close()


@dataclass(frozen=True)
class Recorded:
    """When each step of the scenario was recorded (the events' own timestamps)."""

    registered: datetime
    changed: datetime
    corrected: datetime


def _last_recorded(registry: Registry, kind: str, key: str) -> datetime:
    timestamp: datetime = registry.history(kind, key)[-1].timestamp
    return timestamp


def _scenario(registry: Registry) -> Recorded:
    registry.register("account", ACCOUNT, OPENED, SETUP)
    registry.register("meter", METER, OPENED, SETUP)
    registry.register("channel", CHANNEL, OPENED, SETUP)
    registered = _last_recorded(registry, "channel", "MTR-1:A+")
    registry.change("channel", "MTR-1:A+", {"multiplier": "80"}, CHANGE_FROM, CT_REPLACED)
    changed = _last_recorded(registry, "channel", "MTR-1:A+")
    registry.correct("account", "ACC-1", {"account_number": "4711-0007"}, TODAY, TYPO)
    corrected = _last_recorded(registry, "account", "ACC-1")
    return Recorded(registered, changed, corrected)


def _multiplier(registry: Registry, as_of: datetime | None, day: date) -> str:
    value: str = registry.get("channel", "MTR-1:A+", as_of=as_of).attributes_on(day)["multiplier"]
    return value


def _account_number(registry: Registry, as_of: datetime | None, day: date) -> str:
    value: str = registry.get("account", "ACC-1", as_of=as_of).attributes_on(day)["account_number"]
    return value


def test_before_the_change_was_recorded_the_old_multiplier_holds_today(
    registry: Registry,
) -> None:
    recorded = _scenario(registry)

    assert _multiplier(registry, recorded.registered, TODAY) == "40"
    assert _multiplier(registry, recorded.changed - JUST_BEFORE, TODAY) == "40"
    assert _multiplier(registry, recorded.changed - JUST_BEFORE, CHANGE_FROM) == "40"


def test_once_recorded_the_new_multiplier_holds_from_its_effective_date_only(
    registry: Registry,
) -> None:
    recorded = _scenario(registry)

    assert _multiplier(registry, recorded.changed, TODAY) == "80"
    assert _multiplier(registry, recorded.changed, CHANGE_FROM) == "80"
    assert _multiplier(registry, recorded.changed, CHANGE_FROM - timedelta(days=1)) == "40"
    assert _multiplier(registry, recorded.changed, TWO_MONTHS_AGO) == "40"
    assert _multiplier(registry, recorded.corrected, TWO_MONTHS_AGO) == "40"
    assert _multiplier(registry, None, TODAY) == "80"


def test_before_the_correction_was_recorded_the_wrong_account_number_holds(
    registry: Registry,
) -> None:
    recorded = _scenario(registry)

    assert _account_number(registry, recorded.changed, TODAY) == "4711-0001"
    assert _account_number(registry, recorded.corrected - JUST_BEFORE, TODAY) == "4711-0001"


def test_a_correction_applies_to_the_whole_period_unlike_a_change(registry: Registry) -> None:
    recorded = _scenario(registry)

    assert _account_number(registry, recorded.corrected, TODAY) == "4711-0007"
    assert _account_number(registry, recorded.corrected, OPENED) == "4711-0007"
    assert _account_number(registry, None, TWO_MONTHS_AGO) == "4711-0007"
    # The change of the multiplier did not rewrite the days before it took effect.
    assert _multiplier(registry, None, OPENED) == "40"


def test_as_of_a_time_before_registration_the_aggregate_is_unknown(registry: Registry) -> None:
    recorded = _scenario(registry)
    first = registry.history("account", "ACC-1")[0].timestamp

    with pytest.raises(UnknownAggregate):
        registry.get("account", "ACC-1", as_of=first - JUST_BEFORE)
    assert registry.get("account", "ACC-1", as_of=first).version == 1
    assert registry.get("account", "ACC-1", as_of=recorded.corrected).version == 2


def test_as_of_a_time_without_a_timezone_is_refused_rather_than_guessed(
    registry: Registry,
) -> None:
    _scenario(registry)

    with pytest.raises(ValueError, match="timezone"):
        registry.get("account", "ACC-1", as_of=datetime.now())


def test_an_unknown_key_is_unknown_as_of_any_time(registry: Registry) -> None:
    with pytest.raises(UnknownAggregate):
        registry.get("meter", "NO-SUCH-METER")
    with pytest.raises(UnknownAggregate):
        registry.history("meter", "NO-SUCH-METER")


def test_history_lists_every_event_with_actor_reason_and_source_in_order(
    registry: Registry,
) -> None:
    _scenario(registry)
    registry.change("account", "ACC-1", {"tou_schedule": "TOU-2"}, TODAY, CT_REPLACED)

    history = registry.history("account", "ACC-1")

    assert [type(event).__name__ for event in history] == ["Registered", "Corrected", "Changed"]
    assert [event.originator_version for event in history] == [1, 2, 3]
    assert [(e.actor, e.reason, e.reason_code, e.source) for e in history] == [
        ("alice", "new connection", "CONNECT", "ui"),
        ("carol", "account number mistyped at intake", "FIX", "api"),
        ("bob", "current transformers replaced", "CT", "ui"),
    ]
    assert history[1].before == {"account_number": "4711-0001"}
    assert [e.timestamp for e in history] == sorted(e.timestamp for e in history)


def test_registering_the_same_attributes_again_records_nothing(registry: Registry) -> None:
    first = registry.register("meter", METER, OPENED, SETUP)
    last_id = registry.recorder.max_notification_id()

    again = registry.register("meter", dict(METER), OPENED, SETUP)

    assert first.created is True
    assert again.created is False
    assert again.id == first.id
    assert registry.recorder.max_notification_id() == last_id
    assert len(registry.history("meter", "MTR-1")) == 1


def test_registering_a_key_again_with_other_attributes_is_a_duplicate(
    registry: Registry,
) -> None:
    registry.register("meter", METER, OPENED, SETUP)
    last_id = registry.recorder.max_notification_id()

    with pytest.raises(DuplicateKey):
        registry.register("meter", {**METER, "ct_ratio": "400"}, OPENED, SETUP)

    assert registry.recorder.max_notification_id() == last_id
    assert registry.get("meter", "MTR-1").attributes_on(TODAY)["ct_ratio"] == "200"


def test_registering_again_after_a_later_change_still_records_nothing(
    registry: Registry,
) -> None:
    registry.register("meter", METER, OPENED, SETUP)
    registry.change("meter", "MTR-1", {"phone": "+49 30 1234"}, TODAY, SETUP)
    last_id = registry.recorder.max_notification_id()

    again = registry.register("meter", METER, OPENED, SETUP)

    assert again.created is False
    assert registry.recorder.max_notification_id() == last_id


def test_an_invalid_registration_stores_nothing(registry: Registry) -> None:
    with pytest.raises(InvalidAttributes):
        registry.register("channel", {**CHANNEL, "multiplier": "-40"}, OPENED, SETUP)

    assert registry.recorder.max_notification_id() is None
    assert not registry.exists("channel", "MTR-1:A+")


def test_an_invalid_change_stores_nothing(registry: Registry) -> None:
    registry.register("channel", CHANNEL, OPENED, SETUP)
    last_id = registry.recorder.max_notification_id()

    with pytest.raises(InvalidAttributes):
        registry.change("channel", "MTR-1:A+", {"multiplier": "0"}, CHANGE_FROM, CT_REPLACED)

    assert registry.recorder.max_notification_id() == last_id
    assert len(registry.history("channel", "MTR-1:A+")) == 1


def test_historical_versions_read_from_snapshots_have_the_values_of_their_time(
    registry: Registry,
) -> None:
    registry.register("meter", METER, OPENED, SETUP)
    for number in range(1, 121):
        day = OPENED + timedelta(days=number)
        registry.change("meter", "MTR-1", {"ct_ratio": str(200 + number)}, day, CT_REPLACED)
    history = registry.history("meter", "MTR-1")
    assert registry.snapshots is not None
    snapshots = registry.snapshots.get(history[0].originator_id)
    assert [snapshot.originator_version for snapshot in snapshots] == [50, 100]

    for version in (10, 60, 110):
        meter = registry.get("meter", "MTR-1", as_of=history[version - 1].timestamp)

        assert meter.version == version
        last_change = OPENED + timedelta(days=version - 1)
        assert meter.attributes_on(TODAY)["ct_ratio"] == str(200 + version - 1)
        assert meter.attributes_on(last_change)["ct_ratio"] == str(200 + version - 1)
        assert meter.attributes_on(last_change - timedelta(days=1))["ct_ratio"] == str(
            200 + version - 2
        )
        assert meter.attributes_on(OPENED)["ct_ratio"] == "200"
        assert len(meter.timelines["ct_ratio"]) == version


def test_a_meter_cannot_be_created_from_a_template_before_the_template_is_in_force(
    registry: Registry,
) -> None:
    registry.register(
        "template",
        {"name": "T1", "meter_defaults": {"meter_type": "single-phase"}},
        TODAY,
        SETUP,
    )
    with pytest.raises(RegistryRuleViolation, match="in force only from"):
        registry.create_meter({"serial": "MTR-9"}, TODAY - timedelta(days=1), SETUP, template="T1")
    assert not registry.exists("meter", "MTR-9")


def test_registering_the_same_attributes_on_a_later_day_records_nothing(
    registry: Registry,
) -> None:
    first = registry.register("meter", METER, OPENED, SETUP)
    again = registry.register("meter", METER, TODAY, SETUP)
    assert first.created and not again.created
    assert len(registry.history("meter", "MTR-1")) == 1
