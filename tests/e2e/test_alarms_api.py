"""Alarms over HTTP: accepted pushes (critical or not) and refused frames, newest first,
from the meter_alarms read model fed by the HeadEnd's events."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from application.push_ingestion import PushIngestion, ReceivedPush
from domain.provenance import Provenance
from interfaces.installation import Installation
from tests.e2e.api_clients import api_client

SETUP = Provenance("test", "set-up", "system")
TITLE = "53494d0000000001"
# An alarm as IDIS meters push it: from the push setup "on alarm", with the alarm register.
ALARM_BODY = [["0004190900ff", ["0000616200ff", 128]]]  # 0.4.25.9.0.255, 0.0.97.98.0.255
PROFILE_BODY = [["0100630100ff", [[1, 2, 3]]]]  # 1.0.99.1.0.255, the load profile


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    found.security.enrol("olga", "operator-password", ["operator"], SETUP)
    found.security.enrol("bill", "billing-password", ["billing"], SETUP)
    yield found
    found.close()


def pushed(body: object, counter: int) -> ReceivedPush:
    return ReceivedPush(
        notification_id=uuid4(),
        system_title=TITLE,
        invocation_counter=counter,
        sent_at=None,
        body=body,
        peer="127.0.0.1:4059",
    )


def test_pushes_and_refused_frames_are_listed_newest_first_with_filters(
    installation: Installation,
) -> None:
    ingestion = PushIngestion(
        installation.head_end, lambda title: "SIM00001" if title == TITLE else None
    )
    assert ingestion.receive(pushed(PROFILE_BODY, 1)) == "recorded"
    assert ingestion.receive(pushed(ALARM_BODY, 2)) == "recorded"
    ingestion.reject("replayed-counter", TITLE, "127.0.0.1:4059", "counter 2 again")
    ingestion.reject("replayed-counter", TITLE, "127.0.0.1:4059", "counter 2 again")  # once
    olga = api_client(installation, "olga")

    everything = olga.get("/api/v1/alarms").json()
    critical_pushes = olga.get("/api/v1/alarms", params={"kind": "push", "critical": True})
    refused = olga.get("/api/v1/alarms", params={"kind": "security"}).json()

    assert everything["total"] == 3
    assert [row["kind"] for row in everything["alarms"]] == ["security", "push", "push"]
    (alarm,) = critical_pushes.json()["alarms"]
    assert (alarm["meter_serial"], alarm["critical"]) == ("SIM00001", True)
    assert alarm["what"] == "0.4.25.9.0.255, 0.0.97.98.0.255"
    (refusal,) = refused["alarms"]
    assert (refusal["what"], refusal["meter_serial"]) == ("replayed-counter", "SIM00001")
    assert olga.get("/api/v1/alarms", params={"meter": "OTHER"}).json()["total"] == 0


def test_alarms_need_the_operator_or_auditor_role_and_valid_filters(
    installation: Installation,
) -> None:
    assert api_client(installation, "bill").get("/api/v1/alarms").status_code == 403
    olga = api_client(installation, "olga")
    assert olga.get("/api/v1/alarms", params={"kind": "gossip"}).status_code == 422
    assert olga.get("/api/v1/alarms", params={"limit": 0}).status_code == 422
