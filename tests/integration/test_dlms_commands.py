"""Device commands end to end: requested in the HeadEnd, carried out on a simulated meter
over DLMS/TCP (SET and ACTION in a management association), recorded as a DeviceCommand
with the meter's answer, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gurux_dlms.objects import GXDLMSDisconnectControl

from adapters.dlms import obis
from adapters.dlms.client import read_meter_identity
from adapters.dlms.counter_store import SqlInvocationCounters
from adapters.dlms.errors import MeterUnreachable
from adapters.dlms.hls import HlsKeys
from adapters.dlms.session import CosemSession, MeterEndpoint
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from domain.command_types import InvalidCommandParameters
from domain.provenance import Provenance
from interfaces.installation import Installation

OPERATOR = Provenance("olga", "field work order 4711", "api")
SETUP = Provenance("test", "set-up", "system")
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTH = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")


@pytest.fixture
def installation(store: StoreLocation) -> Iterator[Installation]:
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    yield found
    found.close()


def register(installation: Installation, config: SimulatedMeterConfig, port: int) -> None:
    since = dt.date.today() - dt.timedelta(days=30)
    if config.hls_keys is not None:
        profile, secrets = (
            "hls-gmac",
            {"block_cipher_key": KEY.hex(), "authentication_key": AUTH.hex()},
        )
    else:
        profile, secrets = "lls", {"lls_password": config.password or ""}
    installation.registry.create_meter(
        {
            "serial": config.serial,
            "meter_type": "single-phase",
            "security_profile": profile,
            "comm_address": "127.0.0.1",
            "comm_port": port,
        },
        since,
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


def test_an_operator_disconnects_and_reconnects_a_meter(installation: Installation) -> None:
    config = SimulatedMeterConfig("CMD-RELAY", password="pw-relay", history_days=1)
    with FleetThread([config]) as fleet:
        register(installation, config, fleet.ports[config.serial])
        disconnected = command(installation, config.serial, "disconnect", {})
        relay_after_disconnect = fleet.meter(config.serial).relay.output_state
        reconnected = command(installation, config.serial, "connect", {})
    assert disconnected.state == "confirmed"
    assert disconnected.result["output_state"] is False
    assert disconnected.result["control_state"] == "disconnected"
    assert relay_after_disconnect is False
    assert reconnected.state == "confirmed"
    assert reconnected.result["control_state"] == "connected"
    events = installation.head_end.history_of(reconnected.id)
    assert [type(event).__name__ for event in events] == ["Requested", "Sent", "Confirmed"]


def test_in_control_mode_1_a_remote_reconnect_only_arms_the_relay(
    installation: Installation,
) -> None:
    config = SimulatedMeterConfig("CMD-MODE", password="pw-mode")
    with FleetThread([config]) as fleet:
        register(installation, config, fleet.ports[config.serial])
        mode = command(installation, config.serial, "set_control_mode", {"mode": 1})
        command(installation, config.serial, "disconnect", {})
        armed = command(installation, config.serial, "connect", {})
    assert mode.result["control_mode"] == 1
    assert (armed.result["output_state"], armed.result["control_state"]) == (
        False,
        "ready_for_reconnection",
    )


def test_a_drifted_clock_is_set_only_beyond_the_threshold(installation: Installation) -> None:
    config = SimulatedMeterConfig(
        "CMD-CLOCK", password="pw-clock", clock_offset=dt.timedelta(seconds=95)
    )
    with FleetThread([config]) as fleet:
        register(installation, config, fleet.ports[config.serial])
        tolerated = command(installation, config.serial, "sync_clock", {"max_drift_seconds": 120})
        synced = command(installation, config.serial, "sync_clock", {})
        again = command(installation, config.serial, "sync_clock", {})
    assert tolerated.result["adjusted"] is False
    assert 93 <= tolerated.result["drift_seconds"] <= 97
    assert synced.result["adjusted"] is True and synced.result["max_drift_seconds"] == 10
    assert again.result["adjusted"] is False
    assert abs(again.result["drift_seconds"]) < 2


def test_settings_are_written_and_read_back(installation: Installation) -> None:
    config = SimulatedMeterConfig(
        "CMD-SET", hls_keys=HlsKeys(b"SIM\x00\x00\x00\x09\x01", KEY, AUTH)
    )
    with FleetThread([config]) as fleet:
        register(installation, config, fleet.ports[config.serial])
        capture = command(installation, config.serial, "set_capture_period", {"minutes": 30})
        demand = command(installation, config.serial, "set_demand_period", {"minutes": 5})
        limit = command(
            installation,
            config.serial,
            "set_load_limit",
            {"current_threshold_a": 32.5, "power_threshold_w": 7000},
        )
        billing = command(installation, config.serial, "set_billing_date", {"day_of_month": 15})
        calendar = command(
            installation,
            config.serial,
            "set_activity_calendar",
            {
                "calendar": [{"start": "07:00", "tariff": 2}, {"start": "00:00", "tariff": 1}],
                "activate_on": "2027-01-01",
            },
        )
        push = command(
            installation,
            config.serial,
            "set_push_schedule",
            {
                "schedule": [{"time": "02:30"}],
                "objects": [{"class_id": 3, "logical_name": "1.0.1.8.0.255", "attribute": 2}],
            },
        )
        lockout = command(installation, config.serial, "set_lockout_period", {"seconds": 60})
        meter = fleet.meter(config.serial)
    assert capture.result["capture_period_seconds"] == 1800
    assert meter.capture_period == dt.timedelta(minutes=30)
    assert demand.result["demand_period_seconds"] == 300
    assert (limit.result["power_threshold_w"], limit.result["current_threshold_ma"]) == (
        7000,
        32500,
    )
    assert billing.state == "confirmed" and billing.result["day_of_month"] == 15
    assert calendar.result["activates_at"] == "2027-01-01T00:00:00+00:00"
    assert calendar.result["switch_points"] == 2
    assert meter.settings.written[("0.0.13.0.0.255", 6)] == b"\x09\x09HES270101"
    assert (push.result["push_times"], push.result["push_objects"]) == (1, 1)
    assert lockout.state == "failed" and "no such parameter" in lockout.error


def test_a_public_only_meter_refuses_commands_and_the_command_fails(
    installation: Installation,
) -> None:
    config = SimulatedMeterConfig("CMD-PUB", password="right")
    with FleetThread([config]) as fleet:
        wrong = SimulatedMeterConfig("CMD-PUB", password="wrong")
        register(installation, wrong, fleet.ports[config.serial])
        failed = command(installation, config.serial, "disconnect", {})
        relay = fleet.meter(config.serial).relay.output_state
    assert failed.state == "failed" and "association rejected" in failed.error
    assert "wrong" not in failed.error
    assert relay is True


def test_accepted_invocation_counters_survive_a_restart_of_the_hes(store: StoreLocation) -> None:
    engine = shared_datastore(store.url).engine
    title = b"SIM\x00\x00\x00\x09\x02"
    first = SqlInvocationCounters(engine)  # type: ignore[arg-type]
    assert first.last_accepted(title) is None
    assert first.accept(title, 5) and first.accept(title, 9)
    restarted = SqlInvocationCounters(engine)  # type: ignore[arg-type]
    assert restarted.last_accepted(title) == 9
    assert not restarted.accept(title, 9)  # a replay
    assert not restarted.accept(title, 3)
    assert restarted.accept(title, 10)
    assert restarted.last_accepted(b"SIM\x00\x00\x00\x09\x03") is None


def test_a_ciphered_session_records_the_meters_counters_in_the_sql_store(
    store: StoreLocation,
) -> None:
    counters = SqlInvocationCounters(shared_datastore(store.url).engine)  # type: ignore[arg-type]
    keys = HlsKeys(b"SIM\x00\x00\x00\x09\x04", KEY, AUTH)
    config = SimulatedMeterConfig("CMD-CTR", hls_keys=keys)
    hes = HlsKeys(b"HES\x00\x00\x00\x00\x01", KEY, AUTH)

    async def read_relay(port: int) -> Any:
        endpoint = MeterEndpoint("127.0.0.1", port)
        async with CosemSession(endpoint, security=hes, counters=counters) as session:
            return await session.get(GXDLMSDisconnectControl(obis.DISCONNECT_CONTROL), 2)

    with FleetThread([config]) as fleet:
        assert asyncio.run(read_relay(fleet.ports["CMD-CTR"])) is True
        after_first = counters.last_accepted(keys.system_title)
        asyncio.run(read_relay(fleet.ports["CMD-CTR"]))
    assert after_first is not None and after_first > 0
    assert (counters.last_accepted(keys.system_title) or 0) > after_first


def test_hes_simulate_serves_meters_with_scripted_faults_until_interrupted() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base_port = int(probe.getsockname()[1])
    with socket.socket() as probe:  # the second meter's port must be free too
        probe.bind(("127.0.0.1", base_port + 1))
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from interfaces.cli.simulate import simulate_app; simulate_app()",
            "--meters=2",
            f"--base-port={base_port}",
            "--prefix=CLI",
            "--unreachable=1",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HES_SIMULATOR_PASSWORD": "pw-cli"},
        cwd=Path(__file__).resolve().parents[2],  # the project root, where `interfaces` is
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        endpoint = MeterEndpoint("127.0.0.1", base_port)
        identity = asyncio.run(read_meter_identity(endpoint, password="pw-cli"))
        with pytest.raises(MeterUnreachable):  # the last meter is scripted unreachable
            asyncio.run(read_meter_identity(MeterEndpoint("127.0.0.1", base_port + 1)))
        faults = process.stdout.readline()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        farewell = process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
    assert "2 meters CLI000001" in banner and "pw-cli" not in banner
    assert "1 unreachable" in faults
    assert identity.serial == "CLI000001"
    assert "stopped" in farewell


def test_a_changed_password_is_installed_on_the_meter_and_used_next_time(
    installation: Installation,
) -> None:
    config = SimulatedMeterConfig("CMD-PW", password="old-secret")
    with FleetThread([config]) as fleet:
        register(installation, config, fleet.ports[config.serial])
        vault = installation.registry.vault
        assert vault is not None
        reference = vault.seal("meter:CMD-PW", "lls_password", "new-secret-42")
        changed = command(installation, config.serial, "change_password", {"secret_ref": reference})
        on_meter = fleet.meter(config.serial).lls_password
        after = command(installation, config.serial, "disconnect", {})
    assert changed.state == "confirmed", changed.error
    assert on_meter == b"new-secret-42"
    assert after.state == "confirmed"  # the registry now hands out the new password
    recorded = repr(installation.head_end.history_of(changed.id))
    assert "new-secret-42" not in recorded and "old-secret" not in recorded


def test_the_events_that_disconnect_and_reconnect_are_set_on_the_limiter(
    installation: Installation,
) -> None:
    """Over the power limiter's threshold for 30 s the disconnect script runs, back under
    it for 5 min the reconnect script; then the current limiter only disconnects. The
    scripts are the disconnect script table's, which the meter runs on execute."""
    config = SimulatedMeterConfig(
        "CMD-TRG", hls_keys=HlsKeys(b"SIM\x00\x00\x00\x09\x07", KEY, AUTH)
    )
    with FleetThread([config]) as fleet:
        register(installation, config, fleet.ports[config.serial])
        both = command(
            installation,
            config.serial,
            "set_disconnect_triggers",
            {
                "over_threshold": "disconnect",
                "under_threshold": "reconnect",
                "min_over_threshold_seconds": 30,
                "min_under_threshold_seconds": 300,
            },
        )
        only_off = command(
            installation,
            config.serial,
            "set_disconnect_triggers",
            {"limiter": "current", "over_threshold": "disconnect", "under_threshold": "none"},
        )
        meter = fleet.meter(config.serial)
        ran = asyncio.run(run_script(fleet.ports[config.serial], obis.DISCONNECT_SCRIPT))

    assert both.state == "confirmed", both.error
    assert both.result | {"confirmed_at": None} == {
        "confirmed_at": None,
        "limiter": obis.POWER_LIMITER,
        "over_threshold": "disconnect",
        "under_threshold": "reconnect",
        "min_over_threshold_seconds": 30,
        "min_under_threshold_seconds": 300,
    }
    assert only_off.result["limiter"] == obis.CURRENT_LIMITER
    assert only_off.result["min_over_threshold_seconds"] == 0  # never set
    assert (only_off.result["over_threshold"], only_off.result["under_threshold"]) == (
        "disconnect",
        "none",
    )
    table = bytes([0, 0, 10, 0, 106, 255])
    assert meter.settings.written[(obis.POWER_LIMITER, 11)] == (
        b"\x02\x02" + b"\x02\x02\x09\x06" + table + b"\x12\x00\x01"
        + b"\x02\x02\x09\x06" + table + b"\x12\x00\x02"
    )  # fmt: skip
    assert ran is False  # the disconnect script opened the relay
    with pytest.raises(InvalidCommandParameters, match="over_threshold: must be one of"):
        installation.head_end.request_command(
            config.serial, "set_disconnect_triggers", {"over_threshold": "shed"}, OPERATOR
        )


async def run_script(port: int, selector: int) -> bool:
    """Executes a script of the meter's disconnect script table; the relay's state after."""
    from gurux_dlms.objects import GXDLMSScriptTable

    from adapters.dlms.typed_data import LongUnsigned

    keys = HlsKeys(b"HES\x00\x00\x00\x00\x02", KEY, AUTH)
    async with CosemSession(MeterEndpoint("127.0.0.1", port), security=keys) as session:
        await session.act(
            GXDLMSScriptTable(obis.DISCONNECT_SCRIPT_TABLE), 1, LongUnsigned(selector)
        )
        return bool(await session.get(GXDLMSDisconnectControl(obis.DISCONNECT_CONTROL), 2))
