"""The task monitor and processing servers over HTTP (TestClient, SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from domain.provenance import Provenance
from interfaces.installation import Installation
from tests.e2e.api_clients import api_client

SETUP = Provenance("test", "set-up", "system")
LATER = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)


@pytest.fixture
def installation(sqlite_store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        sqlite_store.data_dir, sqlite_store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    for name, role in (("olga", "operator"), ("audrey", "auditor"), ("ada", "administrator")):
        found.security.enrol(name, f"{role}-password-1", [role], SETUP)
    found.operations.server_started("srv-a", "srv-a:1", "host-a", 10)
    yield found
    found.close()


@pytest.fixture
def olga(installation: Installation) -> TestClient:
    return api_client(installation, "olga")


def ad_hoc(client: TestClient, **fields: object) -> dict:
    body = {"task_type": "read_meter", "target": "M-1", "reason": "customer query", **fields}
    answer = client.post("/api/v1/tasks", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_an_operator_creates_an_ad_hoc_task_with_every_parameter_time_and_server(
    olga: TestClient,
) -> None:
    task = ad_hoc(
        olga,
        parameters={"what": "profile", "days": 3},
        due_at=LATER.isoformat(),
        server="srv-a",
        request_key="ticket-17",
    )
    assert (task["state"], task["server"], task["parameters"]["days"]) == ("scheduled", "srv-a", 3)
    assert task["due_at"] == LATER.isoformat()
    again = ad_hoc(olga, due_at=LATER.isoformat(), server="srv-a", request_key="ticket-17")
    assert again["id"] == task["id"]
    now = ad_hoc(olga, target="M-2")
    assert (now["state"], now["queue"]) == ("queued", "normal.read_meter")
    refused = olga.post(
        "/api/v1/tasks",
        json={"task_type": "read_meter", "target": "M", "reason": "x", "parameters": {"days": 0}},
    )
    assert refused.status_code == 422 and "days must be a whole number" in refused.json()["error"]
    unknown = olga.post(
        "/api/v1/tasks", json={"task_type": "noop", "target": "M", "reason": "x", "server": "zz"}
    )
    assert unknown.status_code == 404


def test_hold_release_reschedule_and_cancel_over_http_show_in_the_history(
    olga: TestClient,
) -> None:
    task = ad_hoc(olga, due_at=LATER.isoformat())
    path = f"/api/v1/tasks/{task['id']}"
    assert olga.post(f"{path}/hold", json={"reason": "meter site flooded"}).json()["state"] == (
        "on_hold"
    )
    moved = olga.post(
        f"{path}/reschedule",
        json={"due_at": (LATER + timedelta(days=1)).isoformat(), "reason": "access next day"},
    ).json()
    assert moved["state"] == "on_hold"
    assert olga.post(f"{path}/release", json={"reason": "site dry"}).json()["state"] == "scheduled"
    assert olga.post(f"{path}/cancel", json={"reason": "meter removed"}).json()["state"] == (
        "cancelled"
    )
    refused = olga.post(f"{path}/hold", json={"reason": "again"})
    assert refused.status_code == 422 and "cancelled" in refused.json()["error"]
    shown = olga.get(path).json()
    steps = [(step["event"], step["actor"], step["reason"]) for step in shown["history"]]
    assert steps == [
        ("Scheduled", "olga", "customer query"),
        ("Held", "olga", "meter site flooded"),
        ("Rescheduled", "olga", "access next day"),
        ("Released", "olga", "site dry"),
        ("Cancelled", "olga", "meter removed"),
    ]
    as_of = olga.get(path, params={"as_of": shown["history"][1]["recorded_at"]}).json()
    assert as_of["state"] == "on_hold" and len(as_of["history"]) == 2


def test_an_edit_on_an_old_version_conflicts(olga: TestClient) -> None:
    task = ad_hoc(olga, due_at=LATER.isoformat(), parameters={"days": 1})
    path = f"/api/v1/tasks/{task['id']}"
    edited = olga.patch(
        path, json={"parameters": {"days": 2}, "reason": "two days"}, headers={"If-Match": "1"}
    )
    assert edited.status_code == 200 and edited.json()["parameters"] == {"days": 2}
    stale = olga.patch(
        path, json={"parameters": {"days": 5}, "reason": "five"}, headers={"If-Match": "1"}
    )
    assert stale.status_code == 409


def test_the_list_filters_and_the_statistics_count(
    installation: Installation, olga: TestClient
) -> None:
    for index in range(3):
        ad_hoc(olga, target=f"M-{index}")
    ad_hoc(olga, task_type="noop", target="system", due_at=LATER.isoformat())
    auditor = api_client(installation, "audrey")
    listed = auditor.get("/api/v1/tasks", params={"status": "queued", "task_type": "read_meter"})
    assert listed.status_code == 200 and listed.json()["total"] == 3
    assert auditor.get("/api/v1/tasks", params={"submitted_by": "nobody"}).json()["total"] == 0
    due_later = auditor.get("/api/v1/tasks", params={"due_from": LATER.isoformat()}).json()
    assert [row["task_type"] for row in due_later["tasks"]] == ["noop"]
    stats = auditor.get("/api/v1/tasks/statistics").json()
    assert stats["by_status"]["queued"] == 3 and stats["by_status"]["scheduled"] == 1
    assert stats["running_now"] == 0 and stats["cumulative"]["performed"] == 0
    assert auditor.post("/api/v1/tasks", json={}).status_code in (403, 422)
    forbidden = auditor.post(
        "/api/v1/tasks", json={"task_type": "noop", "target": "x", "reason": "x"}
    )
    assert forbidden.status_code == 403


def test_administrators_stop_restart_and_configure_processing_servers(
    installation: Installation, olga: TestClient
) -> None:
    assert olga.post("/api/v1/processing-servers/srv-a/stop", json={"reason": "x"}).status_code == (
        403
    )
    ada = api_client(installation, "ada")
    stopped = ada.post("/api/v1/processing-servers/srv-a/stop", json={"reason": "patching"})
    assert stopped.status_code == 200 and stopped.json()["enabled"] is False
    again = ada.post("/api/v1/processing-servers/srv-a/stop", json={"reason": "patching"})
    assert again.status_code == 422
    assert ada.post("/api/v1/processing-servers/srv-a/restart", json={"reason": "patched"}).json()[
        "enabled"
    ]
    configured = ada.patch(
        "/api/v1/processing-servers/srv-a",
        json={"threads_per_task_type": {"read_meter": 6, "export": 1}, "reason": "night shift"},
    )
    assert configured.status_code == 200, configured.text
    assert configured.json()["thread_groups"] == [
        {"threads": 6, "task_types": ["read_meter"]},
        {"threads": 1, "task_types": ["export"]},
    ]
    bad = ada.patch(
        "/api/v1/processing-servers/srv-a",
        json={"thread_groups": [{"threads": 2, "task_types": ["juggling"]}], "reason": "x"},
    )
    assert bad.status_code == 422 and "unknown task types juggling" in bad.json()["error"]
    (server,) = olga.get("/api/v1/processing-servers").json()["servers"]
    assert (server["name"], server["status"], server["enabled"]) == ("srv-a", "processing", True)
