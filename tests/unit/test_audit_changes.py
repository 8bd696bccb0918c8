"""What the audit log says an event changed, without a database."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.channel import Channel
from domain.meter import Meter
from domain.provenance import Provenance
from domain.user import User
from projections.audit_log import registered_changes, registry_kind, revised_changes, user_changes

CLERK = Provenance("carol", "data entry", "ui")
FROM = date(2026, 1, 1)


def events_of(aggregate: Any) -> list[Any]:
    return list(aggregate.collect_events())


def test_a_registration_lists_every_given_attribute_with_no_before() -> None:
    meter = Meter.register({"serial": "M1", "meter_type": "E350", "model": None}, FROM, CLERK)
    (registered,) = events_of(meter)

    changes, critical = registered_changes(registered, Meter)

    assert changes == [
        {"field": "serial", "before": None, "after": "M1"},
        {"field": "meter_type", "before": None, "after": "E350"},
    ]
    assert not critical


def test_correcting_a_channel_multiplier_is_flagged_critical() -> None:
    channel = Channel.register(
        {
            "channel_key": "SP1-kWh",
            "service_point_id": "SP1",
            "kind": "imported",
            "unit": "kWh",
            "interval_minutes": 15,
            "multiplier": "40",
        },
        FROM,
        CLERK,
    )
    channel.correct({"multiplier": "80", "name": "Main"}, FROM, CLERK)
    corrected = events_of(channel)[-1]

    kind, cls = registry_kind(corrected)
    changes, critical = revised_changes(corrected, cls)

    assert kind == "channel" and cls is Channel
    assert {"field": "multiplier", "before": "40", "after": "80"} in changes
    assert {"field": "name", "before": None, "after": "Main"} in changes
    assert critical


def test_changing_a_meters_model_is_not_critical() -> None:
    meter = Meter.register({"serial": "M1", "meter_type": "E350"}, FROM, CLERK)
    meter.change({"model": "ZMD"}, date(2026, 2, 1), CLERK)

    changes, critical = revised_changes(events_of(meter)[-1], Meter)

    assert changes == [{"field": "model", "before": None, "after": "ZMD"}]
    assert not critical


def test_user_events_never_reveal_a_password_hash_or_token_digest() -> None:
    user = User.enrol("dave", ["operator"], "$argon2id$first-hash", CLERK)
    user.change_password("$argon2id$second-hash", CLERK)
    user.issue_token("a1b2c3", "digest-of-the-secret", "billing", CLERK)
    user.revoke_token("a1b2c3", CLERK)

    described = [user_changes(event) for event in events_of(user)]

    assert described[1] == [{"field": "password", "before": None, "after": "changed"}]
    assert described[3] == [{"field": "token", "before": "a1b2c3", "after": None}]
    secrets = ("$argon2id$first-hash", "$argon2id$second-hash", "digest-of-the-secret")
    assert not [secret for secret in secrets if secret in repr(described)]
