"""Cycles through the HTTP API and the command line, on a real SQLite installation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters.persistence.store import StoreLocation
from adapters.scheduler import RecordOnlySink
from adapters.scheduling_sources import scheduling_of
from adapters.security.passwords import Argon2PasswordHasher
from application.registry import KINDS
from domain.cycle import Cycle
from domain.holiday_calendar import HolidayCalendar
from domain.provenance import Provenance
from interfaces.api.app import create_app
from interfaces.api.cycle_routes import cycle_router
from interfaces.cli.scheduling import scheduling_app
from interfaces.installation import Installation

SETUP = Provenance("test", "set-up", "system")
CYCLE = {
    "cycle_key": "NIGHTLY",
    "name": "nightly read",
    "timezone": "Europe/Berlin",
    "schedule": {"kind": "weekly", "days": "daily", "at": "04:00"},
    "task_chain": ["read_meter", "validate", "estimate", "export"],
    "meters": ["M1", "M2"],
}


@pytest.fixture(autouse=True)
def registry_knows_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, "cycle", Cycle)  # until application/registry.py lists them
    monkeypatch.setitem(KINDS, "holiday_calendar", HolidayCalendar)


@pytest.fixture
def installation(sqlite_store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        sqlite_store.data_dir, sqlite_store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    found.security.enrol("olga", "operator-password", ["operator"], SETUP)
    found.security.enrol("aude", "auditor-password", ["auditor"], SETUP)
    yield found
    found.close()


def client_for(installation: Installation, user: str) -> TestClient:
    app = create_app(installation, with_pages=False)
    app.include_router(cycle_router())
    token = installation.security.issue_token(user, "tests", SETUP)
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def test_an_operator_creates_a_cycle_and_sees_when_it_comes_due(
    installation: Installation,
) -> None:
    olga, aude = client_for(installation, "olga"), client_for(installation, "aude")

    created = olga.post("/api/v1/cycles", json={"attributes": CYCLE, "reason": "new cycle"})
    repeated = olga.post("/api/v1/cycles", json={"attributes": CYCLE, "reason": "new cycle"})
    refused = aude.post("/api/v1/cycles", json={"attributes": CYCLE, "reason": "x"})
    listed = aude.get("/api/v1/cycles").json()["cycles"]
    shown = aude.get("/api/v1/cycles/NIGHTLY", params={"count": 3}).json()

    assert (created.status_code, repeated.status_code, refused.status_code) == (201, 200, 403)
    assert created.json()["attributes"]["schedule"]["days"] == ["mon", "tue", "wed", "thu",
                                                                "fri", "sat", "sun"]  # fmt: skip
    assert [row["cycle_key"] for row in listed] == ["NIGHTLY"]
    assert listed[0]["next_due"]["local"][11:16] == "04:00"
    assert len(shown["next_due"]) == 3
    assert {due["local"][11:19] for due in shown["next_due"]} == {"04:00:00"}


def test_an_invalid_schedule_is_refused_with_the_field_named(installation: Installation) -> None:
    olga = client_for(installation, "olga")
    broken = {**CYCLE, "schedule": {"kind": "every", "minutes": 7}}

    answer = olga.post("/api/v1/cycles", json={"attributes": broken, "reason": "x"})

    assert answer.status_code == 422
    assert "divide a day" in answer.json()["problems"]["schedule"]


def test_an_edit_and_the_firings_of_a_cycle_are_shown(installation: Installation) -> None:
    olga = client_for(installation, "olga")
    olga.post("/api/v1/cycles", json={"attributes": CYCLE, "reason": "new cycle"})
    edited = olga.patch(
        "/api/v1/cycles/NIGHTLY",
        json={"changes": {"meters": ["M3"]}, "reason": "M1, M2 moved to another cycle"},
    )
    scheduling, _ = scheduling_of(installation)
    tomorrow = datetime.combine(date.today() + timedelta(days=1), datetime.min.time(), UTC)
    scheduling.fire_due(tomorrow + timedelta(hours=8), RecordOnlySink())  # 04:00 fired at 09:00

    firings = olga.get(
        "/api/v1/cycles/NIGHTLY/firings",
        params={"until": (tomorrow + timedelta(days=1)).isoformat()},
    ).json()["firings"]

    assert edited.status_code == 200 and edited.json()["attributes"]["meters"] == ["M3"]
    assert [(firing["targets"], firing["task_type"]) for firing in firings] == [(1, "read_meter")]
    assert firings[0]["late"] is (tomorrow.weekday() < 5)  # the window is on weekdays
    assert olga.get("/api/v1/cycles/NOPE").status_code == 404


def test_the_command_line_creates_lists_and_shows_next_due_times(
    sqlite_store: StoreLocation, installation: Installation
) -> None:
    runner, where = CliRunner(), ["--data-dir", str(sqlite_store.data_dir)]

    created = runner.invoke(
        scheduling_app,
        [
            *("cycles", "create", "EOM", "--name", "month end"),
            *("--schedule", "monthly:last@23:30", "--timezone", "America/New_York"),
            *("--chain", "read_meter,export", *where),
        ],
    )
    listed = runner.invoke(scheduling_app, ["cycles", "list", *where])
    upcoming = runner.invoke(scheduling_app, ["cycles", "next", "EOM", "--count", "2", *where])
    shown = runner.invoke(scheduling_app, ["cycles", "show", "EOM", *where])
    unknown = runner.invoke(scheduling_app, ["cycles", "show", "NOPE", *where])

    assert created.exit_code == 0, created.output
    assert "EOM" in listed.output and "month end" in listed.output
    lines = upcoming.output.split()
    assert len(lines) == 2 and all("T23:30:00-0" in line for line in lines)
    assert json.loads(shown.output)["task_chain"] == ["read_meter", "export"]
    assert unknown.exit_code == 2
