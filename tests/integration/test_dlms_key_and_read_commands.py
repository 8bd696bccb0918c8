"""change_keys, set_thresholds, read_registers and read_events end to end: requested in
the HeadEnd, carried out on a simulated meter over DLMS/TCP, recorded as the command's
outcome; and the read_meter task for registers and events."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from gurux_dlms.objects import GXDLMSData

from adapters.dlms import obis
from adapters.dlms.errors import SecurityEventKind, SecurityViolation
from adapters.dlms.hls import HlsKeys
from adapters.dlms.session import CosemSession, MeterEndpoint
from adapters.dlms.simulated_faults import PowerFailure
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.persistence.store import StoreLocation
from adapters.queue.handlers import MeterReads
from adapters.security.passwords import Argon2PasswordHasher
from application.task_runs import TaskRun
from domain.provenance import Provenance
from interfaces.installation import Installation

OPERATOR = Provenance("olga", "key rotation 2026-Q1", "api")
SETUP = Provenance("test", "set-up", "system")
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTH = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")
KEK = bytes.fromhex("101112131415161718191a1b1c1d1e1f")
NEW_KEY = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
NEW_AUTH = bytes.fromhex("b0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
HES_TITLE = bytes.fromhex("4845530000000001")  # the command port's own system title


def open_installation(store: StoreLocation) -> Installation:
    return Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = open_installation(store)
    yield found
    found.close()


@pytest.fixture
def sqlite_installation(sqlite_store: StoreLocation) -> Iterator[Installation]:
    found = open_installation(sqlite_store)
    yield found
    found.close()


def hls_meter(serial: str, title: int, **options: Any) -> SimulatedMeterConfig:
    keys = HlsKeys(b"SIM\x00\x00\x00\x03" + bytes((title,)), KEY, AUTH)
    return SimulatedMeterConfig(serial, hls_keys=keys, history_days=1, **options)


def register(
    installation: Installation, config: SimulatedMeterConfig, port: int, *, master: bool = True
) -> None:
    secrets = {"block_cipher_key": KEY.hex(), "authentication_key": AUTH.hex()}
    if master:
        secrets["master_key"] = KEK.hex()
    installation.registry.create_meter(
        {
            "serial": config.serial,
            "meter_type": "three-phase",
            "security_profile": "hls-gmac",
            "comm_address": "127.0.0.1",
            "comm_port": port,
        },
        dt.date.today() - dt.timedelta(days=30),
        SETUP,
        secrets=secrets,
    )


def command(
    installation: Installation, serial: str, command_type: str, parameters: dict[str, Any]
) -> Any:
    command_id = installation.head_end.request_command(serial, command_type, parameters, OPERATOR)
    return asyncio.run(
        installation.head_end.execute(command_id, installation.command_port, timeout=20)
    )


def new_key_references(installation: Installation, serial: str) -> dict[str, str]:
    vault = installation.registry.vault
    assert vault is not None
    return {
        "block_cipher_key_ref": vault.seal(f"meter:{serial}", "block_cipher_key", NEW_KEY.hex()),
        "authentication_key_ref": vault.seal(
            f"meter:{serial}", "authentication_key", NEW_AUTH.hex()
        ),
    }


async def serial_with(port: int, keys: HlsKeys) -> Any:
    async with CosemSession(MeterEndpoint("127.0.0.1", port), security=keys) as session:
        return await session.get(GXDLMSData(obis.SERIAL_NUMBER), 2)


def test_changed_keys_lock_out_the_old_ones_and_the_hes_uses_the_new_ones(
    installation: Installation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = hls_meter("KEY-1", 1, master_key=KEK)
    with FleetThread([config]) as fleet:
        port = fleet.ports[config.serial]
        register(installation, config, port)
        references = new_key_references(installation, config.serial)
        changed = command(installation, config.serial, "change_keys", references)
        on_meter = fleet.meter(config.serial).security
        with pytest.raises(SecurityViolation) as old_refused:
            asyncio.run(serial_with(port, HlsKeys(b"OLD\x00\x00\x00\x00\x01", KEY, AUTH)))
        new_accepted = asyncio.run(serial_with(port, HlsKeys(HES_TITLE, NEW_KEY, NEW_AUTH)))
        after = command(installation, config.serial, "read_events", {"logs": ["standard"]})
    assert changed.state == "confirmed", changed.error
    assert changed.result["keys_changed"] is True
    assert on_meter is not None and on_meter.keys.block_cipher_key == NEW_KEY
    assert on_meter.keys.authentication_key == NEW_AUTH
    assert old_refused.value.kind is SecurityEventKind.REFUSED_BY_METER
    assert bytes(new_accepted) == b"KEY-1"
    assert after.state == "confirmed", after.error  # the registry hands out the new keys
    assert [event["code"] for event in after.result["events"]] == [48]  # keys changed
    today = dt.date.today()
    assert installation.registry.meter_secret("KEY-1", "block_cipher_key", today) == NEW_KEY.hex()
    recorded = repr(installation.head_end.history_of(changed.id)) + repr(
        installation.registry.history_of(installation.registry.get("meter", "KEY-1").id)
    )
    logged = caplog.text
    for secret in (KEY, AUTH, KEK, NEW_KEY, NEW_AUTH):
        assert secret.hex() not in recorded and secret.hex() not in logged


def test_keys_refused_by_the_meter_leave_the_registry_and_the_meter_as_they_were(
    sqlite_installation: Installation,
) -> None:
    installation = sqlite_installation
    config = hls_meter("KEY-2", 2, master_key=bytes(16))  # not the registry's master key
    with FleetThread([config]) as fleet:
        register(installation, config, fleet.ports[config.serial])
        before = installation.registry.get("meter", "KEY-2").attributes_on(dt.date.today())
        refused = command(
            installation, config.serial, "change_keys", new_key_references(installation, "KEY-2")
        )
        still_working = command(installation, config.serial, "read_registers", {})
        on_meter = fleet.meter(config.serial).security
    assert refused.state == "failed" and "refused by the meter" in refused.error
    assert NEW_KEY.hex() not in refused.error and KEK.hex() not in refused.error
    assert on_meter is not None and on_meter.keys.block_cipher_key == KEY
    after = installation.registry.get("meter", "KEY-2").attributes_on(dt.date.today())
    assert after["secret_refs"] == before["secret_refs"]
    assert still_working.state == "confirmed", still_working.error


def test_a_meter_without_a_master_key_in_the_vault_cannot_have_its_keys_changed(
    sqlite_installation: Installation,
) -> None:
    config = hls_meter("KEY-3", 3, master_key=KEK)
    with FleetThread([config]) as fleet:
        register(sqlite_installation, config, fleet.ports[config.serial], master=False)
        failed = command(
            sqlite_installation,
            config.serial,
            "change_keys",
            new_key_references(sqlite_installation, "KEY-3"),
        )
        on_meter = fleet.meter(config.serial).security
    assert failed.state == "failed" and "no master key" in failed.error
    assert on_meter is not None and on_meter.keys.block_cipher_key == KEY


def test_thresholds_are_set_on_the_monitor_and_confirmed_by_reading_back(
    sqlite_installation: Installation,
) -> None:
    config = hls_meter("THR-1", 4)
    with FleetThread([config]) as fleet:
        register(sqlite_installation, config, fleet.ports[config.serial])
        done = command(
            sqlite_installation,
            config.serial,
            "set_thresholds",
            {"thresholds": [{"monitor": "0.0.16.1.2.255", "values": [25, "31.25"]}]},
        )
        too_fine = command(
            sqlite_installation,
            config.serial,
            "set_thresholds",
            {"thresholds": [{"monitor": "0.0.16.1.2.255", "values": ["25.0005"]}]},
        )
        held = fleet.meter(config.serial).monitors.thresholds("0.0.16.1.2.255")
    assert done.state == "confirmed", done.error
    assert done.result["monitors"] == [
        {
            "monitor": "0.0.16.1.2.255",
            "monitored": "1.0.71.7.0.255",
            "unit": "A",
            "thresholds": ["25.000", "31.250"],
        }
    ]
    assert too_fine.state == "failed" and "finer than the meter's step 0.001" in too_fine.error
    assert held == [25_000, 31_250]


def test_a_read_meter_task_reads_registers_and_events_into_its_result(
    sqlite_installation: Installation,
) -> None:
    now = dt.datetime.now(dt.UTC)
    config = hls_meter(
        "READ-1",
        5,
        faults=(PowerFailure(now - dt.timedelta(hours=3), now - dt.timedelta(hours=2)),),
    )
    reads = MeterReads(sqlite_installation.command_port, timeout=30)

    def task(what: str) -> TaskRun:
        parameters = {"what": what, "days": 1}
        return TaskRun(uuid.uuid4(), 1, 1, "read_meter", "READ-1", parameters, "srv", "w-1")

    with FleetThread([config]) as fleet:
        register(sqlite_installation, config, fleet.ports[config.serial])
        registers = reads(task("registers"))
        events = reads(task("events"))
        meter = fleet.meter(config.serial)
    totals = {item["logical_name"]: item for item in registers["registers"]}
    assert set(totals) == {"1.0.1.8.0.255", "1.0.2.8.0.255", "1.0.3.8.0.255", "1.0.4.8.0.255"}
    assert totals["1.0.1.8.0.255"]["unit"] == "Wh"
    assert int(totals["1.0.1.8.0.255"]["value"].replace(".", "")) == meter.energy_register_raw()
    assert len(registers["instantaneous"]) == 10
    midnights = [item["captured_at"] for item in registers["daily_billing"]]
    assert (
        midnights
        == [
            (meter.installed_at + dt.timedelta(days=day)).isoformat()
            for day in range(len(midnights))
        ]
        and len(midnights) == 2
    )
    assert [(event["log"], event["name"]) for event in events["events"]] == [
        ("standard", "power down"),
        ("standard", "power up"),
    ]
