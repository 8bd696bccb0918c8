"""Raw frames for operators and auditors: `GET /api/v1/meters/{serial}/frames`, and
`hes frames show` / `hes frames purge` on the command line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from datetime import date

import pytest
from typer.testing import CliRunner

from adapters.dlms.frame_capture import CapturedFrame
from adapters.persistence.store import StoreLocation
from adapters.raw_frames import RawFrameStore
from adapters.security.passwords import Argon2PasswordHasher
from domain.provenance import Provenance
from interfaces.cli.main import app as cli
from interfaces.installation import Installation
from tests.e2e.api_clients import api_client

SETUP = Provenance("test", "set-up", "system")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def installation(sqlite_store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        sqlite_store.data_dir, sqlite_store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    found.security.enrol("audrey", "auditor-password", ["auditor"], SETUP)
    found.security.enrol("bill", "billing-password", ["billing"], SETUP)
    found.registry.create_meter(
        {"serial": "FR-1", "meter_type": "single-phase"}, date(2026, 1, 1), SETUP
    )
    assert found.frame_recorder is not None
    found.frame_recorder.store.append(
        [
            captured(NOW - dt.timedelta(days=4), "sent", bytes.fromhex("00010010000100016000")),
            captured(NOW - dt.timedelta(minutes=2), "sent", bytes.fromhex("0001001000010001c0")),
            captured(
                NOW - dt.timedelta(minutes=1), "received", bytes.fromhex("0001000100100001c4")
            ),
        ]
    )
    yield found
    found.close()


def captured(at: dt.datetime, direction: str, data: bytes) -> CapturedFrame:
    return CapturedFrame(
        at,
        "FR-1",
        "127.0.0.1:41000",
        "s1",
        direction,
        "wrapper",
        "session",
        data,  # type: ignore[arg-type]
    )


def test_an_auditor_reads_a_meters_frames_as_hex_oldest_first(installation: Installation) -> None:
    client = api_client(installation, "audrey")

    newest = client.get("/api/v1/meters/FR-1/frames", params={"limit": 2}).json()
    since = client.get(
        "/api/v1/meters/FR-1/frames",
        params={"since": (NOW - dt.timedelta(minutes=90)).isoformat(), "limit": 1},
    ).json()

    assert newest["retention_days"] == 3 and newest["count"] == 2
    assert [(f["direction"], f["hex"]) for f in newest["frames"]] == [
        ("sent", "0001001000010001c0"),
        ("received", "0001000100100001c4"),
    ]
    assert dt.datetime.fromisoformat(newest["frames"][0]["at"]) == NOW - dt.timedelta(minutes=2)
    assert [f["hex"] for f in since["frames"]] == ["0001001000010001c0"]


def test_billing_may_not_read_frames_and_unknown_meters_are_not_found(
    installation: Installation,
) -> None:
    assert api_client(installation, "bill").get("/api/v1/meters/FR-1/frames").status_code == 403
    auditor = api_client(installation, "audrey")
    assert auditor.get("/api/v1/meters/NOPE/frames").status_code == 404
    assert auditor.get("/api/v1/meters/FR-1/frames", params={"limit": 0}).status_code == 422


def test_the_cli_shows_a_meters_frames_and_purges_old_ones(
    installation: Installation, sqlite_store: StoreLocation
) -> None:
    runner, where = CliRunner(), ["--data-dir", str(sqlite_store.data_dir)]

    shown = runner.invoke(cli, ["frames", "show", "FR-1", *where])
    purged = runner.invoke(cli, ["frames", "purge", *where])
    again = runner.invoke(cli, ["frames", "show", "FR-1", "--limit", "10", *where])

    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert len(lines) == 3 and ">>" in lines[0] and "<<" in lines[2]
    assert lines[2].endswith("0001000100100001c4")
    assert purged.exit_code == 0 and "1 raw frames older than 3 days purged" in purged.output
    assert len(again.output.splitlines()) == 2
    store: RawFrameStore = installation.frame_recorder.store  # type: ignore[union-attr]
    assert store.count() == 2
