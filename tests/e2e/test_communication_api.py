"""A meter's communication status and history, and the connectivity report, over HTTP
and the command line, after real DLMS sessions with a simulated meter."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from adapters.dlms.communication_log import Communication
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from domain.provenance import Provenance
from interfaces.cli.main import app as cli
from interfaces.installation import Installation
from tests.e2e.api_clients import api_client

SETUP = Provenance("test", "set-up", "system")
PASSWORD = "api-comm-secret-1"
SINCE = (datetime.now(UTC) - timedelta(days=30)).date()


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    found.security.enrol("olga", "operator-password", ["operator"], SETUP)
    found.security.enrol("audrey", "auditor-password", ["auditor"], SETUP)
    found.security.enrol("bill", "billing-password", ["billing"], SETUP)
    yield found
    found.close()


@pytest.fixture
def read_once(installation: Installation) -> Iterator[None]:
    """API-1 (single-phase) read once over DLMS/TCP; API-2 (three-phase) never reached."""
    config = SimulatedMeterConfig("API-1", password=PASSWORD, history_days=1)
    with FleetThread([config]) as fleet:
        for serial, meter_type, port in (
            ("API-1", "single-phase", fleet.ports["API-1"]),
            ("API-2", "three-phase", 1),
        ):
            installation.registry.create_meter(
                {
                    "serial": serial,
                    "meter_type": meter_type,
                    "security_profile": "lls",
                    "comm_address": "127.0.0.1",
                    "comm_port": port,
                },
                SINCE,
                SETUP,
                secrets={"lls_password": PASSWORD},
            )
        installation.registry.register(
            "channel",
            {
                "channel_key": "SP-API-1:A+",
                "service_point_id": "SP-API-1",
                "kind": "metered",
                "unit": "kWh",
                "interval_minutes": 15,
                "meter_serial": "API-1",
                "meter_channel": "1.0.1.29.0.255",
            },
            SINCE,
            SETUP,
        )
        end = datetime.now(UTC)
        asyncio.run(
            installation.collection.collect_load_profile(
                "API-1", "SP-API-1:A+", end - timedelta(hours=1), end
            )
        )
    assert installation.communications is not None
    started = datetime.now(UTC) - timedelta(minutes=5)
    installation.communications.record(
        Communication("API-2", "read_profile", started, started, "unreachable", "refused")
    )
    yield


@pytest.mark.usefixtures("read_once")
def test_a_meter_communications_show_its_status_and_sessions(installation: Installation) -> None:
    olga = api_client(installation, "olga")

    found = olga.get("/api/v1/meters/API-1/communications", params={"limit": 5})
    failing = olga.get("/api/v1/meters/API-2/communications").json()

    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["serial"], body["status"], body["consecutive_failures"]) == (
        "API-1",
        "communicating",
        0,
    )
    assert body["last_success_at"] == body["last_attempt_at"]
    assert body["retention_days"] == 31
    [session] = body["communications"]
    assert (session["purpose"], session["outcome"]) == ("read_profile", "ok")
    assert session["octets_received"] > 0
    assert (failing["status"], failing["last_outcome"]) == ("never", "unreachable")
    assert olga.get("/api/v1/meters/NOPE/communications").status_code == 404
    assert olga.get("/api/v1/meters/API-1/communications?limit=0").status_code == 422


@pytest.mark.usefixtures("read_once")
def test_the_connectivity_report_is_by_meter_type(installation: Installation) -> None:
    audrey = api_client(installation, "audrey")

    report = audrey.get("/api/v1/reports/connectivity")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    assert report.status_code == 200, report.text
    body = report.json()
    by_type = {row["meter_type"]: row for row in body["meter_types"]}
    assert by_type["single-phase"]["communicating"] == 1
    assert by_type["single-phase"]["success_rate"] == 1.0
    assert by_type["three-phase"]["never_communicated"] == 1
    assert by_type["three-phase"]["outcomes"] == {"unreachable": 1}
    assert (body["total"]["meters"], body["total"]["sessions"]) == (2, 2)
    assert body["total"]["success_rate"] == 0.5
    later = audrey.get("/api/v1/reports/connectivity", params={"since": future[:19]})
    assert later.status_code == 422


def test_billing_users_may_not_read_communications(installation: Installation) -> None:
    bill = api_client(installation, "bill")
    assert bill.get("/api/v1/reports/connectivity").status_code == 403
    assert bill.get("/api/v1/meters/API-1/communications").status_code == 403


@pytest.mark.usefixtures("read_once")
def test_the_command_line_prints_the_report_and_a_meters_history(
    installation: Installation, store: StoreLocation
) -> None:
    where = ["--data-dir", str(store.data_dir), "--database-url", store.url]
    runner = CliRunner()

    report = runner.invoke(cli, ["connectivity", *where])
    meter = runner.invoke(cli, ["connectivity", "--meter", "API-1", *where])
    unknown = runner.invoke(cli, ["connectivity", "--meter", "NOPE", *where])

    assert report.exit_code == 0, report.output
    lines = report.output.splitlines()
    assert any(line.split()[:3] == ["single-phase", "1", "1"] for line in lines)
    assert any(line.startswith("all types") and "50.0%" in line for line in lines)
    assert meter.exit_code == 0, meter.output
    assert "API-1: communicating" in meter.output and "read_profile" in meter.output
    assert unknown.exit_code == 1
