"""Commands through the HTTP API against a simulated meter over real DLMS/TCP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from domain.provenance import Provenance
from interfaces.api.app import create_app
from interfaces.installation import Installation
from tests.integration.test_device_commands import register

SETUP = Provenance("test", "set-up", "system")


@pytest.fixture
def installation(sqlite_store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        sqlite_store.data_dir, sqlite_store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    found.security.enrol("olga", "operator-password", ["operator"], SETUP)
    yield found
    found.close()


def test_an_operator_reads_a_meter_now_and_follows_the_command(installation: Installation) -> None:
    token = installation.security.issue_token("olga", "tests", SETUP)
    client = TestClient(
        create_app(installation, with_pages=False), headers={"Authorization": f"Bearer {token}"}
    )
    config = SimulatedMeterConfig(serial="API-1", password="pw-API-1", history_days=2)
    with FleetThread([config]) as fleet:
        register(installation, "API-1", fleet.ports["API-1"])
        answer = client.post(
            "/api/v1/meters/API-1/commands",
            json={"command_type": "read_now", "reason": "customer query", "wait": True},
        )
    assert answer.status_code == 200, answer.text
    command = answer.json()
    assert command["state"] == "confirmed"
    assert command["result"]["new_intervals"] > 0
    followed = client.get(f"/api/v1/commands/{command['id']}").json()
    assert [step["event"] for step in followed["history"]] == ["Requested", "Sent", "Confirmed"]
    assert followed["history"][0]["actor"] == "olga"

    refused = client.post(
        "/api/v1/meters/API-1/commands",
        json={"command_type": "set_capture_period", "parameters": {"minutes": 7}, "reason": "x"},
    )
    assert refused.status_code == 422
    assert "must be one of" in refused.json()["error"]
    assert client.get("/api/v1/commands/00000000-0000-0000-0000-000000000000").status_code == 404
