"""Register reads end to end, on SQLite and PostgreSQL: recorded over the API (a field
visit), corrected, read back as of any time; the workflow chain's estimate step fills a
gap between deliveries from the stored register reads."""

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
from domain.channel import Channel
from domain.provenance import Provenance
from interfaces.installation import Installation
from tests.e2e.api_clients import api_client
from tests.meters import register_profile_channel

SETUP = Provenance("test", "set-up", "system")
DEVICE = Provenance("hes-collector", "load profile read", "device")
DAY = datetime(2026, 3, 4, tzinfo=UTC)
CHANNEL = "SP-M-1:A+"  # tests.meters.register_profile_channel
URL = f"/api/v1/channels/{CHANNEL}/registers"


@dataclass
class Site:
    installation: Installation
    operator: TestClient
    billing: TestClient


@pytest.fixture
def site(store: StoreLocation) -> Iterator[Site]:
    installation = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    installation.security.enrol("olga", "operator-password", ["operator"], SETUP)
    installation.security.enrol("bill", "billing-password", ["billing"], SETUP)
    installation.registry.create_meter(
        {"serial": "M-1", "meter_type": "single-phase"}, date(2026, 1, 1), SETUP
    )
    register_profile_channel(installation, "M-1", date(2026, 1, 1), SETUP)
    yield Site(installation, api_client(installation, "olga"), api_client(installation, "bill"))
    installation.close()


def reads(*pairs: tuple[datetime, str]) -> dict[str, object]:
    return {
        "reason": "field visit",
        "reason_code": "FIELD_READ",
        "reads": [{"read_at": at.isoformat(), "value": value} for at, value in pairs],
    }


def test_reads_are_recorded_corrected_and_read_as_of_any_time(site: Site) -> None:
    first = site.operator.post(URL, json=reads((DAY, "10234.567"), (DAY + timedelta(1), "10245.1")))
    again = site.operator.post(URL, json=reads((DAY, "10234.5670")))
    between = datetime.now(UTC)
    corrected = site.operator.post(URL, json=reads((DAY, "10234.6")))
    window = {"start": DAY.isoformat(), "end": (DAY + timedelta(days=2)).isoformat()}

    now = site.billing.get(URL, params=window).json()
    before = site.billing.get(URL, params={**window, "as_of": between.isoformat()}).json()

    assert (first.json()["recorded"], again.json()["recorded"]) == (2, 0)
    assert corrected.json() == {
        "channel_id": str(Channel.id_for(CHANNEL)), "recorded": 1, "received": 1,
    }  # fmt: skip
    assert [(r["read_at"], r["value"]) for r in now["reads"]] == [
        ("2026-03-04T00:00:00+00:00", "10234.6"),
        ("2026-03-05T00:00:00+00:00", "10245.1"),
    ]
    assert [r["value"] for r in before["reads"]] == ["10234.567", "10245.1"]
    rate = {"read_at": DAY.isoformat(), "value": 4000.25, "register": "1.8.1"}
    site.operator.post(URL, json={"reason": "field visit", "reads": [rate]})
    both = site.billing.get(URL, params={**window, "register": ["total", "1.8.1"]}).json()
    assert [(r["register"], r["value"]) for r in both["reads"]][:2] == [
        ("1.8.1", "4000.25"),
        ("total", "10234.6"),
    ]
    read = now["reads"][0]
    assert (read["actor"], read["reason"], read["reason_code"], read["source"]) == (
        "olga", "field visit", "FIELD_READ", "api",
    )  # fmt: skip


def test_bad_reads_unknown_channels_and_readers_are_refused(site: Site) -> None:
    not_a_value = site.operator.post(
        URL, json=reads((DAY, "1")) | {"reads": [{"read_at": "2026-03-04T00:00", "value": "x"}]}
    )
    naive = site.operator.post(  # a time without a zone is UTC, as everywhere in the API
        URL, json=reads((DAY, "1")) | {"reads": [{"read_at": "2026-03-05T00:00", "value": "2"}]}
    )
    unknown = site.operator.post("/api/v1/channels/SP-9:A+/registers", json=reads((DAY, "1")))
    by_billing = site.billing.post(URL, json=reads((DAY, "1")))
    backwards = site.billing.get(URL, params={"start": DAY.isoformat(), "end": DAY.isoformat()})

    odd_code = site.operator.post(URL, json=reads((DAY, "1")) | {"reason_code": "GUESS"})
    not_a_number = site.operator.post(URL, json=reads((DAY, "NaN")))
    assert not_a_value.status_code == 422
    assert naive.status_code == 200, naive.text
    assert odd_code.status_code == 422 and "unknown reason code" in odd_code.json()["error"]
    assert not_a_number.status_code == 422
    assert unknown.status_code == 404 and "SP-9:A+" in unknown.json()["error"]
    assert by_billing.status_code == 403
    assert backwards.status_code == 422
    the_day = {"start": DAY.isoformat(), "end": (DAY + timedelta(1)).isoformat()}
    assert site.billing.get(URL, params=the_day).json()["reads"] == []  # refusals recorded none
    day_after = {"start": (DAY + timedelta(1)).isoformat(), "end": (DAY + timedelta(2)).isoformat()}
    [read] = site.billing.get(URL, params=day_after).json()["reads"]
    assert (read["read_at"], read["value"]) == ("2026-03-05T00:00:00+00:00", "2")


def test_the_estimate_step_fills_a_gap_between_deliveries_from_stored_registers(
    site: Site,
) -> None:
    """Two deliveries leave 5 h of the day unread; the meter's midnight registers came
    with another read. With no like days yet, the chain's estimate step distributes what
    the register advanced beyond the delivered intervals over the gap."""
    installation = site.installation
    values = load_shape("h25").quarter_hours(DAY.date()) * 3.5
    workflow = VeeWorkflow(installation.registry, installation.readings)
    for first, stop in ((0, 32), (52, 96)):
        workflow.process(
            Delivery(CHANNEL, DAY + timedelta(minutes=15 * first), values[first:stop],
                     np.zeros(stop - first)),
            DEVICE,
        )  # fmt: skip
    advance = float(values.sum())
    site.operator.post(URL, json=reads((DAY, "5000"), (DAY + timedelta(1), str(5000 + advance))))

    result = workflow_steps(installation).estimate("M-1", Period(DAY, DAY + timedelta(days=1)))

    assert result["estimated"] == 20
    assert result["channels"][0]["methods"] == {"register_distribution": 20}
    rows = installation.readings.intervals(Channel.id_for(CHANNEL), DAY, DAY + timedelta(1))
    assert len(rows) == 96
    assert sum(row["value"] for row in rows) == pytest.approx(advance, abs=1e-6)
