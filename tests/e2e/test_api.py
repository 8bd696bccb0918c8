"""The JSON API end to end over HTTP (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from domain.channel import Channel
from domain.provenance import Provenance
from interfaces.api.app import create_app
from interfaces.installation import Installation

SETUP = Provenance("test", "set-up", "system")
TODAY = datetime.now(UTC).date()
LAST_MONTH = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    found.security.enrol("olga", "operator-password", ["operator"], SETUP)
    found.security.enrol("audrey", "auditor-password", ["auditor"], SETUP)
    yield found
    found.close()


@pytest.fixture
def client(installation: Installation) -> TestClient:
    token = installation.security.issue_token("olga", "tests", SETUP)
    return TestClient(
        create_app(installation, with_pages=False),
        headers={"Authorization": f"Bearer {token}"},
    )


def create_meter(client: TestClient, serial: str = "M-1", **attributes: object) -> dict:
    body = {
        "serial": serial,
        "attributes": {"meter_type": "three-phase", "ct_ratio": "100", **attributes},
        "effective_from": (TODAY - timedelta(days=90)).isoformat(),
        "reason": "new installation",
    }
    response = client.post("/api/v1/meters", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_health_answers_without_a_token(installation: Installation) -> None:
    response = TestClient(create_app(installation, with_pages=False)).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_requests_without_or_with_a_wrong_token_are_refused(installation: Installation) -> None:
    anonymous = TestClient(create_app(installation, with_pages=False))
    assert anonymous.get("/api/v1/meters").status_code == 401
    forged = anonymous.get("/api/v1/meters", headers={"Authorization": "Bearer hes_00_11_22"})
    assert forged.status_code == 401
    assert "error" in forged.json()


def test_creating_the_same_meter_twice_is_idempotent_and_a_different_one_conflicts(
    client: TestClient,
) -> None:
    first = create_meter(client)
    assert first["created"] is True
    again = client.post(
        "/api/v1/meters",
        json={
            "serial": "M-1",
            "attributes": {"meter_type": "three-phase", "ct_ratio": "100"},
            "effective_from": (TODAY - timedelta(days=90)).isoformat(),
        },
    )
    assert again.status_code == 200
    assert again.json()["created"] is False
    other = client.post(
        "/api/v1/meters", json={"serial": "M-1", "attributes": {"meter_type": "single-phase"}}
    )
    assert other.status_code == 409
    assert "already registered" in other.json()["error"]
    assert len(client.get("/api/v1/meters/M-1/history").json()["changes"]) == 1


def test_a_multiplier_change_and_an_account_correction_read_back_as_of_each_step(
    client: TestClient,
) -> None:
    create_meter(client)
    before_change = datetime.now(UTC)
    time.sleep(0.01)
    changed = client.patch(
        "/api/v1/meters/M-1",
        json={
            "changes": {"ct_ratio": "200"},
            "effective_from": LAST_MONTH.isoformat(),
            "reason": "CT replaced",
        },
    )
    assert changed.status_code == 200, changed.text
    now_view = client.get("/api/v1/meters/M-1").json()
    assert now_view["attributes"]["ct_ratio"] == "200"
    as_known_before = client.get(
        "/api/v1/meters/M-1", params={"as_of": before_change.isoformat()}
    ).json()
    assert as_known_before["attributes"]["ct_ratio"] == "100"
    effective_earlier = client.get(
        "/api/v1/meters/M-1", params={"effective": (LAST_MONTH - timedelta(days=1)).isoformat()}
    ).json()
    assert effective_earlier["attributes"]["ct_ratio"] == "100"

    client.post(
        "/api/v1/accounts",
        json={
            "attributes": {"account_key": "A-1", "account_number": "1234", "customer_id": "C-1"},
            "effective_from": (TODAY - timedelta(days=90)).isoformat(),
        },
    )
    before_correction = datetime.now(UTC)
    time.sleep(0.01)
    corrected = client.patch(
        "/api/v1/accounts/A-1",
        json={"changes": {"account_number": "1243"}, "correction": True, "reason": "typo"},
    )
    assert corrected.status_code == 200, corrected.text
    long_ago = (TODAY - timedelta(days=80)).isoformat()
    fixed = client.get("/api/v1/accounts/A-1", params={"effective": long_ago}).json()
    assert fixed["attributes"]["account_number"] == "1243"
    old = client.get(
        "/api/v1/accounts/A-1",
        params={"effective": long_ago, "as_of": before_correction.isoformat()},
    ).json()
    assert old["attributes"]["account_number"] == "1234"

    history = client.get("/api/v1/meters/M-1/history").json()["changes"]
    assert [entry["event"] for entry in history] == ["Registered", "Changed"]
    assert history[1]["actor"] == "olga"
    assert history[1]["source"] == "api"
    assert history[1]["reason"] == "CT replaced"
    assert history[1]["fields"] == [{"field": "ct_ratio", "before": "100", "after": "200"}]


def test_unknown_meters_and_times_before_registration_are_not_found(client: TestClient) -> None:
    assert client.get("/api/v1/meters/NOPE").status_code == 404
    long_ago = datetime(2000, 1, 1, tzinfo=UTC).isoformat()
    create_meter(client)
    response = client.get("/api/v1/meters/M-1", params={"as_of": long_ago})
    assert response.status_code == 404
    assert "as of" in response.json()["error"]


def test_invalid_edits_are_refused_with_a_message_and_store_nothing(client: TestClient) -> None:
    create_meter(client)
    for body, fragment in [
        ({"changes": {"ct_ratio": "-5"}, "reason": "oops"}, "must be positive"),
        ({"changes": {"colour": "red"}, "reason": "oops"}, "not a known attribute"),
        ({"changes": {"serial": "OTHER"}, "reason": "oops"}, "cannot change"),
        ({"changes": {"ct_ratio": "5"}}, "reason"),
        ({"changes": {"ct_ratio": "5"}, "reason": "x", "effective_from": "31/12"}, "date"),
    ]:
        response = client.patch("/api/v1/meters/M-1", json=body)
        assert response.status_code == 422, response.text
        assert fragment in response.json()["error"]
    assert len(client.get("/api/v1/meters/M-1/history").json()["changes"]) == 1


def test_an_edit_based_on_a_stale_version_conflicts(client: TestClient) -> None:
    created = create_meter(client)
    edit = {"changes": {"manufacturer": "ACME"}, "reason": "data entry"}
    stale = created["version"]
    assert client.patch(
        "/api/v1/meters/M-1", json=edit, headers={"If-Match": str(stale)}
    ).is_success
    late = client.patch(
        "/api/v1/meters/M-1",
        json={**edit, "changes": {"manufacturer": "Other"}},
        headers={"If-Match": str(stale)},
    )
    assert late.status_code == 409
    assert "changed by someone else" in late.json()["error"]


def test_meter_secrets_never_appear_in_answers_or_history(
    client: TestClient, installation: Installation
) -> None:
    response = client.post(
        "/api/v1/meters",
        json={
            "serial": "M-S",
            "attributes": {"meter_type": "single-phase", "security_profile": "lls"},
            "secrets": {"lls_password": "Sup3rS3cretLLS"},
        },
    )
    assert response.status_code == 201, response.text
    assert "Sup3rS3cretLLS" not in response.text
    assert "Sup3rS3cretLLS" not in client.get("/api/v1/meters/M-S/history").text
    assert installation.registry.meter_secret("M-S", "lls_password", TODAY) == "Sup3rS3cretLLS"


def test_an_auditor_reads_but_cannot_edit(client: TestClient, installation: Installation) -> None:
    create_meter(client)
    token = installation.security.issue_token("audrey", "audit", SETUP)
    auditor = TestClient(
        create_app(installation, with_pages=False), headers={"Authorization": f"Bearer {token}"}
    )
    assert auditor.get("/api/v1/meters/M-1").status_code == 200
    refused = auditor.patch("/api/v1/meters/M-1", json={"changes": {"model": "X"}, "reason": "r"})
    assert refused.status_code == 403


def test_the_meter_list_comes_from_the_read_model(client: TestClient) -> None:
    create_meter(client, "M-1")
    create_meter(client, "M-2")
    listing = client.get("/api/v1/meters").json()
    assert listing["total"] == 2
    assert sorted(meter["serial"] for meter in listing["meters"]) == ["M-1", "M-2"]


def test_channel_intervals_are_served_with_status_and_as_of(
    client: TestClient, installation: Installation
) -> None:
    channel_key = "SP-1:A+"
    start = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    installation.readings.record_block(
        Channel.id_for(channel_key), 15, start, np.arange(8.0), np.zeros(8, np.uint8), SETUP
    )
    before_edit = datetime.now(UTC)
    time.sleep(0.01)
    installation.readings.record_block(
        Channel.id_for(channel_key), 15, start, np.full(2, 9.5), np.array([0, 0x80]), SETUP
    )
    params = {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()}
    latest = client.get(f"/api/v1/channels/{channel_key}/intervals", params=params).json()
    assert latest["count"] == 8
    assert [row["value"] for row in latest["intervals"][:3]] == [9.5, 9.5, 2.0]
    assert latest["intervals"][1]["meter_status"] == 0x80
    assert latest["intervals"][0]["quality"] == "raw"
    earlier = client.get(
        f"/api/v1/channels/{Channel.id_for(channel_key)}/intervals",
        params={**params, "as_of": before_edit.isoformat()},
    ).json()
    assert [row["value"] for row in earlier["intervals"][:3]] == [0.0, 1.0, 2.0]
    backwards = client.get(
        f"/api/v1/channels/{channel_key}/intervals",
        params={"start": params["end"], "end": params["start"]},
    )
    assert backwards.status_code == 422


def test_the_latest_intervals_are_answered_from_the_caught_up_read_model_as_recorded(
    client: TestClient, installation: Installation
) -> None:
    channel_id, start = Channel.id_for("SP-1:A+"), datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    values = np.array([1.5, np.nan, -0.0, 0.1 + 0.2, 7.0, 1e-05, 2.0, 3.0])
    statuses = np.array([0, 0x80, 0, 0, 0, 0, 0, 0], dtype=np.uint8)
    readings, views = installation.readings, installation.read_models
    readings.record_block(channel_id, 15, start, values, statuses, SETUP)
    gap = start + timedelta(minutes=15)
    readings.estimate_intervals(channel_id, {gap: 1.25}, "linear_interpolation", SETUP)
    readings.mark_billed(channel_id, [gap], SETUP)
    assert views.intervals.lags(readings.name, "readings_events")
    end = start + timedelta(hours=2)
    params = {"start": start.isoformat(), "end": end.isoformat()}

    latest = client.get(f"/api/v1/channels/{channel_id}/intervals", params=params).json()

    assert not views.intervals.lags(readings.name, "readings_events")  # caught up first
    recorded = [
        {**row, "start": row["start"].isoformat()}
        for row in readings.intervals(channel_id, start, end)
    ]
    assert latest["intervals"] == recorded and latest["count"] == len(recorded) == 8
    assert latest["intervals"][1]["billed"] is True
    as_of = client.get(
        f"/api/v1/channels/{channel_id}/intervals",
        params={**params, "as_of": datetime.now(UTC).isoformat()},
    ).json()
    assert as_of["intervals"] == recorded


def test_effective_dates_before_registration_say_not_in_service(client: TestClient) -> None:
    create_meter(client)
    view = client.get(
        "/api/v1/meters/M-1", params={"effective": (TODAY - timedelta(days=400)).isoformat()}
    ).json()
    assert view["in_service"] is False
    assert date.fromisoformat(view["registered_from"]) == TODAY - timedelta(days=90)


def test_an_operator_edits_intervals_with_a_reason_and_every_version_is_listed(
    client: TestClient, installation: Installation
) -> None:
    channel_key = "SP-1:A+"
    start = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    installation.readings.record_block(
        Channel.id_for(channel_key), 15, start, np.array([1.0, 2.0]), np.zeros(2, np.uint8), SETUP
    )
    slot = (start + timedelta(minutes=15)).isoformat()
    edited = client.post(
        f"/api/v1/channels/{channel_key}/edits",
        json={
            "intervals": [{"start": slot, "value": 2.5}],
            "reason": "customer photo of the display",
            "reason_code": "CUSTOMER_READ",
        },
    )
    assert edited.status_code == 200, edited.text
    refused = client.post(
        f"/api/v1/channels/{channel_key}/edits",
        json={"intervals": [{"start": slot, "value": 3}], "reason": "x", "reason_code": "WHIM"},
    )
    assert refused.status_code == 422
    assert "unknown reason code" in refused.json()["error"]
    versions = client.get(f"/api/v1/channels/{channel_key}/intervals/{slot}/versions").json()
    assert [(v["value"], v["quality"], v["actor"]) for v in versions["versions"]] == [
        (2.0, "raw", "test"),
        (2.5, "edited", "olga"),
    ]
    params = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    rows = client.get(f"/api/v1/channels/{channel_key}/intervals", params=params).json()
    assert [(r["value"], r["raw_value"], r["quality"]) for r in rows["intervals"]] == [
        (1.0, 1.0, "raw"),
        (2.5, 2.0, "edited"),
    ]


def test_an_imported_channel_takes_a_csv_of_prices(client: TestClient) -> None:
    client.post(
        "/api/v1/channels",
        json={
            "attributes": {
                "channel_key": "MKT:price",
                "service_point_id": "MKT",
                "kind": "imported",
                "unit": "EUR/MWh",
                "interval_minutes": 60,
            },
            "effective_from": "2026-01-01",
        },
    )
    csv_body = "start,value\n2026-03-01T10:00:00Z,81.5\n2026-03-01T11:00:00Z,79.0\n"
    done = client.post(
        "/api/v1/channels/MKT:price/imports",
        content=csv_body,
        params={"reason": "day-ahead auction"},
        headers={"Content-Type": "text/csv"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["new_intervals"] == 2
    refused = client.post(
        "/api/v1/channels/MKT:price/imports",
        content="start,value\n2026-03-01T12:00:00Z,cheap\n",
        headers={"Content-Type": "text/csv"},
    )
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["line"] == 2
