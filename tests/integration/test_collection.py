"""Collection over real DLMS/TCP into the event store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.dlms_collection import DlmsLoadProfileSource
from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from application.collection import Collection
from domain.channel import Channel
from domain.provenance import Provenance
from interfaces.installation import Installation

SETUP = Provenance("test", "set-up", "system")
# A fixed meter clock: the profile and every expected value are reproducible.
METER_NOW = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)
DAY_START = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    yield found
    found.close()


@pytest.fixture
def meter_port() -> Iterator[int]:
    config = SimulatedMeterConfig(
        serial="SIM-1", password="lls-secret-1", history_days=3, clock=lambda: METER_NOW
    )
    with FleetThread([config]) as fleet:
        yield fleet.ports["SIM-1"]


def register_meter(installation: Installation, port: int, password: str) -> None:
    since = date(2026, 1, 1)
    installation.registry.create_meter(
        {
            "serial": "SIM-1",
            "meter_type": "single-phase",
            "security_profile": "lls",
            "comm_address": "127.0.0.1",
            "comm_port": port,
        },
        since,
        SETUP,
        secrets={"lls_password": password},
    )
    installation.registry.register(
        "channel",
        {
            "channel_key": "SP-1:A+",
            "service_point_id": "SP-1",
            "kind": "metered",
            "unit": "kWh",
            "interval_minutes": 15,
            "meter_serial": "SIM-1",
            "meter_channel": "1.0.1.29.0.255",
            "multiplier": "2",
        },
        since,
        SETUP,
    )


def collect(installation: Installation) -> int:
    collection = Collection(installation.registry, installation.readings, DlmsLoadProfileSource(3))
    outcome = asyncio.run(
        collection.collect_load_profile(
            "SIM-1", "SP-1:A+", DAY_START, DAY_START + timedelta(days=1)
        )
    )
    return outcome.intervals


def test_a_day_of_load_profile_is_read_over_tcp_and_recorded_once(
    installation: Installation, meter_port: int
) -> None:
    register_meter(installation, meter_port, "lls-secret-1")

    assert collect(installation) == 96
    assert collect(installation) == 0  # the same read again records nothing

    rows = installation.readings.intervals(
        Channel.id_for("SP-1:A+"), DAY_START, DAY_START + timedelta(days=1)
    )
    assert len(rows) == 96
    assert rows[0]["start"] == DAY_START
    assert rows[-1]["start"] == DAY_START + timedelta(hours=23, minutes=45)
    assert all(row["quality"] == "raw" and row["value"] > 0 for row in rows)
    # Households use more in the evening than at night (BDEW h25), times the multiplier.
    evening = sum(row["value"] for row in rows[72:84])
    night = sum(row["value"] for row in rows[12:24])
    assert evening > night


def test_a_wrong_password_in_the_vault_fails_the_read_and_records_nothing(
    installation: Installation, meter_port: int
) -> None:
    from adapters.dlms.errors import AssociationRejected

    register_meter(installation, meter_port, "not-the-password")
    with pytest.raises(AssociationRejected) as raised:
        collect(installation)
    assert "not-the-password" not in str(raised.value)
    assert installation.readings.recorder.max_notification_id() is None


def test_collected_intervals_go_through_validation_and_estimation(
    installation: Installation, meter_port: int
) -> None:
    register_meter(installation, meter_port, "lls-secret-1")
    outcome = asyncio.run(
        installation.collection.collect_load_profile(
            "SIM-1", "SP-1:A+", DAY_START, DAY_START + timedelta(days=1)
        )
    )
    assert outcome.intervals == 96
    rows = installation.readings.intervals(
        Channel.id_for("SP-1:A+"), DAY_START, DAY_START + timedelta(days=1)
    )
    assert {row["quality"] for row in rows} == {"validated"}


def test_an_hls_gmac_meter_is_read_with_the_keys_sealed_in_the_vault(
    installation: Installation,
) -> None:
    from adapters.dlms.hls import HlsKeys

    title, key, auth = bytes.fromhex("5349480000000007"), bytes(range(16)), bytes(range(16, 32))
    config = SimulatedMeterConfig(
        serial="HLS-1", hls_keys=HlsKeys(title, key, auth), history_days=3, clock=lambda: METER_NOW
    )
    with FleetThread([config]) as fleet:
        installation.registry.create_meter(
            {
                "serial": "HLS-1",
                "meter_type": "single-phase",
                "security_profile": "hls-gmac",
                "system_title": title.hex(),
                "comm_address": "127.0.0.1",
                "comm_port": fleet.ports["HLS-1"],
            },
            date(2026, 1, 1),
            SETUP,
            secrets={"block_cipher_key": key.hex(), "authentication_key": auth.hex()},
        )
        installation.registry.register(
            "channel",
            {"channel_key": "SP-H:A+", "service_point_id": "SP-H", "kind": "metered",
             "unit": "kWh", "interval_minutes": 15, "meter_serial": "HLS-1",
             "meter_channel": "1.0.1.29.0.255"},
            date(2026, 1, 1),
            SETUP,
        )  # fmt: skip
        outcome = asyncio.run(
            installation.collection.collect_load_profile(
                "HLS-1", "SP-H:A+", DAY_START, DAY_START + timedelta(days=1)
            )
        )
    assert outcome.intervals == 96
