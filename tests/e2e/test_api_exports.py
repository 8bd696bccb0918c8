"""``GET /api/v1/exports`` end to end: billing pulls what the chain made ready, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from adapters.loadshapes import load_shape
from adapters.persistence.store import StoreLocation
from adapters.queue.chain_handlers import workflow_steps
from adapters.security.passwords import Argon2PasswordHasher
from application.vee_workflow import Delivery, VeeWorkflow
from application.workflow.period import Period
from application.workflow.steps import WorkflowSteps
from domain.channel import Channel
from domain.provenance import Provenance
from interfaces.api.app import create_app
from interfaces.installation import Installation

SETUP = Provenance("test", "set-up", "system")
DEVICE = Provenance("hes-collector", "load profile read", "device")
DAY = date(2026, 3, 4)
KEYS = ("SP-1:A+", "SP-2:A+")


def start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def night_after(day: date) -> Period:
    return Period(start_of(day) + timedelta(hours=4), start_of(day) + timedelta(hours=28))


@dataclass
class Billing:
    installation: Installation
    steps: WorkflowSteps
    client: TestClient  # as the billing system (role billing)
    operator: TestClient

    def deliver(self, key: str, day: date) -> None:
        values = load_shape("h25").quarter_hours(day) * 3.5
        workflow = VeeWorkflow(self.installation.registry, self.installation.readings)
        workflow.process(Delivery(key, start_of(day), values, np.zeros(96)), DEVICE)


@pytest.fixture
def billing(store: StoreLocation) -> Iterator[Billing]:
    installation = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    security = installation.security
    security.enrol("bill", "billing-password", ["billing"], SETUP)
    security.enrol("olga", "operator-password", ["operator"], SETUP)
    for number, key in enumerate(KEYS, 1):
        serial = f"M-{number}"
        installation.registry.create_meter(
            {"serial": serial, "meter_type": "single-phase"}, date(2026, 1, 1), SETUP
        )
        installation.registry.register(
            "channel",
            {"channel_key": key, "service_point_id": f"SP-{number}", "kind": "metered",
             "unit": "kWh", "interval_minutes": 15, "meter_serial": serial,
             "meter_channel": "1.0.1.29.0.255"},
            date(2026, 1, 1),
            SETUP,
        )  # fmt: skip
    app = create_app(installation, with_pages=False)

    def client_of(user: str) -> TestClient:
        token = security.issue_token(user, "tests", SETUP)
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    yield Billing(installation, workflow_steps(installation), client_of("bill"), client_of("olga"))
    installation.close()


def test_billing_pulls_exported_days_with_a_cursor_and_gets_changed_days_again(
    billing: Billing,
) -> None:
    for key in KEYS:
        billing.deliver(key, DAY)
    billing.steps.export("M-1", night_after(DAY), cycle_key="NIGHTLY")
    billing.steps.export("M-2", night_after(DAY), cycle_key="NIGHTLY")

    first = billing.client.get("/api/v1/exports").json()
    one_channel = billing.client.get("/api/v1/exports", params={"channel": "SP-2:A+"}).json()
    nothing_new = billing.client.get(
        "/api/v1/exports", params={"after": first["next_after"]}
    ).json()
    edit = billing.operator.post(
        "/api/v1/channels/SP-1:A+/edits",
        json={
            "intervals": [{"start": start_of(DAY).isoformat(), "value": 9.0}],
            "reason": "meter photo",
            "reason_code": "CUSTOMER_READ",
        },
    )
    billing.steps.export("M-1", night_after(DAY + timedelta(days=1)), cycle_key="NIGHTLY")
    changed = billing.client.get("/api/v1/exports", params={"after": first["next_after"]}).json()

    assert [(row["channel"], row["day"]) for row in first["exports"]] == [
        ("SP-1:A+", "2026-03-04"),
        ("SP-2:A+", "2026-03-04"),
    ]
    row = first["exports"][0]
    assert (row["intervals"], row["unit"], row["qualities"]) == (96, "kWh", {"validated": 96})
    assert row["cycle_key"] == "NIGHTLY"
    assert [row["channel"] for row in one_channel["exports"]] == ["SP-2:A+"]
    assert nothing_new == {"count": 0, "next_after": first["next_after"], "exports": []}
    assert edit.status_code == 200, edit.text
    (again,) = changed["exports"]
    assert (again["channel"], again["day"]) == ("SP-1:A+", "2026-03-04")
    assert again["version"] > row["version"]
    assert again["qualities"] == {"validated": 95, "edited": 1}
    # The values of each exported version, exactly as exported.
    for exported in (row, again):
        values = billing.client.get(exported["intervals_url"]).json()["intervals"]
        assert len(values) == 96
        assert sum(v["value"] for v in values) == pytest.approx(exported["total"])
    assert billing.client.get(row["registers_url"]).json()["reads"] == []  # none recorded


def test_an_export_links_the_registers_known_when_it_was_made(billing: Billing) -> None:
    from decimal import Decimal

    from domain.vee.series import RegisterRead

    day_start = start_of(DAY)
    midnights = [
        RegisterRead(day_start, Decimal("100.5")),
        RegisterRead(day_start + timedelta(days=1), Decimal("110.25")),
    ]
    readings = billing.installation.readings
    readings.record_register_reads(Channel.id_for("SP-1:A+"), midnights, DEVICE)
    billing.deliver("SP-1:A+", DAY)
    billing.steps.export("M-1", night_after(DAY))
    later = RegisterRead(day_start + timedelta(days=1), Decimal("110.75"))  # a correction after
    readings.record_register_reads(Channel.id_for("SP-1:A+"), [later], DEVICE)

    [row] = billing.client.get("/api/v1/exports").json()["exports"]
    reads = billing.client.get(row["registers_url"]).json()["reads"]

    assert [(r["read_at"], r["value"]) for r in reads] == [
        ("2026-03-04T00:00:00+00:00", "100.5"),
        ("2026-03-05T00:00:00+00:00", "110.25"),
    ]


def test_exports_since_a_time_and_only_for_those_allowed_to_read(billing: Billing) -> None:
    billing.deliver("SP-1:A+", DAY)
    before = datetime.now(UTC)
    billing.steps.export("M-1", night_after(DAY))

    later = billing.client.get(
        "/api/v1/exports", params={"since": (before + timedelta(hours=1)).isoformat()}
    ).json()
    since = billing.client.get("/api/v1/exports", params={"since": before.isoformat()}).json()
    anonymous = TestClient(create_app(billing.installation, with_pages=False))

    assert later["exports"] == []
    assert [row["day"] for row in since["exports"]] == ["2026-03-04"]
    assert anonymous.get("/api/v1/exports").status_code == 401
    assert billing.client.get("/api/v1/exports", params={"limit": 0}).status_code == 422
