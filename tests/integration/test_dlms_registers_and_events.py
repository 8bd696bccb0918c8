"""Registers, instantaneous values, the daily billing profile, event logs, register
monitors and key transfer, read and written over real TCP against simulated meters
(WRAPPER, HDLC and HLS-GMAC glo-ciphering)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from gurux_dlms.objects import (
    GXDLMSAssociationLogicalName,
    GXDLMSDisconnectControl,
    GXDLMSRegisterMonitor,
    GXDLMSSecuritySetup,
)

from adapters.dlms import obis
from adapters.dlms.client import read_load_profile
from adapters.dlms.errors import AccessRefused, SecurityEventKind
from adapters.dlms.event_log_reads import read_event_log
from adapters.dlms.event_logs import DISCONNECTOR, FRAUD, POWER_QUALITY, STANDARD
from adapters.dlms.hls import HlsKeys
from adapters.dlms.key_transfer import KEY_TRANSFER, key_transfer_parameter, transfer_keys
from adapters.dlms.register_reads import (
    ENERGY_TOTALS,
    INSTANTANEOUS,
    read_daily_billing,
    read_registers,
)
from adapters.dlms.session import CosemSession, MeterEndpoint
from adapters.dlms.simulated_faults import PowerFailure, Tamper, VoltageDisturbance
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.dlms.threshold_settings import ThresholdNotRepresentable, set_thresholds
from adapters.dlms.typed_data import Array, Integer, LongUnsigned
from domain.reading_quality import ReadingQuality
from domain.vee.rules.sum_check import SumCheck
from domain.vee.series import IntervalSeries, RegisterRead, ValidationContext

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 14, 7, 30, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTH = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")
KEK = bytes.fromhex("101112131415161718191a1b1c1d1e1f")
HES = HlsKeys(b"HES\x00\x00\x00\x00\x21", KEY, AUTH)
TYPE_UNMATCHED, OBJECT_UNDEFINED, OTHER_REASON = 12, 4, 250
FAULTS = (
    PowerFailure(NOW - 5 * HOUR, NOW - 4 * HOUR),
    VoltageDisturbance(NOW - 3 * HOUR, NOW - 2 * HOUR, phase=1, kind="over"),
    Tamper(NOW - HOUR, "meter_cover_removed"),
    Tamper(NOW - 26 * HOUR, "strong_dc_field_detected"),  # outside a one-day window
)


def fixed(moment: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: moment


CONFIGS = {
    "wrapper": SimulatedMeterConfig(
        "REG-W", password="pw", history_days=3, clock=fixed(NOW), faults=FAULTS
    ),
    "hdlc": SimulatedMeterConfig(
        "REG-H", password="pw", history_days=3, clock=fixed(NOW), framing="hdlc"
    ),
    "hls": SimulatedMeterConfig(
        "REG-C",
        hls_keys=HlsKeys(b"SIM\x00\x00\x00\x02\x01", KEY, AUTH),
        master_key=KEK,
        history_days=3,
        clock=fixed(NOW),
    ),
    "entry-only": SimulatedMeterConfig(
        "REG-E", password="pw", history_days=3, clock=fixed(NOW), faults=FAULTS, range_access=False
    ),
}


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetThread]:
    with FleetThread(CONFIGS.values()) as running:
        yield running


def endpoint(fleet: FleetThread, kind: str) -> MeterEndpoint:
    config = CONFIGS[kind]
    return MeterEndpoint("127.0.0.1", fleet.ports[config.serial], framing=config.framing)


def management(fleet: FleetThread, kind: str) -> CosemSession:
    if kind == "hls":
        return CosemSession(endpoint(fleet, kind), security=HES)
    return CosemSession(endpoint(fleet, kind), password="pw")


def run(work: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(work())  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["wrapper", "hdlc", "hls"])
def test_energy_totals_and_instantaneous_values_are_read_exactly(
    fleet: FleetThread, kind: str
) -> None:
    async def work() -> tuple[Any, Any]:
        async with management(fleet, kind) as session:
            return (
                await read_registers(session, ENERGY_TOTALS),
                await read_registers(session, INSTANTANEOUS),
            )

    totals, instantaneous = run(work)
    meter = fleet.meter(CONFIGS[kind].serial)
    raw = meter.energy_totals()
    assert [(value.logical_name, value.value, value.unit) for value in totals] == [
        ("1.0.1.8.0.255", Decimal(raw.active_import).scaleb(-1), "Wh"),
        ("1.0.2.8.0.255", Decimal(raw.active_export).scaleb(-1), "Wh"),
        ("1.0.3.8.0.255", Decimal(raw.reactive_import).scaleb(-1), "varh"),
        ("1.0.4.8.0.255", Decimal(raw.reactive_export).scaleb(-1), "varh"),
    ]
    phases = meter.instantaneous()
    by_name = {value.logical_name: value for value in instantaneous}
    assert by_name["1.0.32.7.0.255"].value == Decimal(phases.voltages[0]).scaleb(-1)
    assert by_name["1.0.32.7.0.255"].unit == "V"
    assert by_name["1.0.71.7.0.255"].value == Decimal(phases.currents[2]).scaleb(-3)
    assert by_name["1.0.71.7.0.255"].unit == "A"
    assert by_name["1.0.1.7.0.255"].value == sum(
        by_name[name].value for name in obis.ACTIVE_POWERS_IMPORT
    )
    assert all(isinstance(value.value, Decimal) for value in totals + instantaneous)


def test_the_billing_advance_equals_the_profile_between_midnights_so_the_sum_check_holds(
    fleet: FleetThread,
) -> None:
    first, second = dt.datetime(2026, 3, 8, tzinfo=UTC), dt.datetime(2026, 3, 9, tzinfo=UTC)

    async def work() -> tuple[Any, Any]:
        async with management(fleet, "hdlc") as session:
            snapshots, units = await read_daily_billing(session, first, second)
        profile = await read_load_profile(
            endpoint(fleet, "hdlc"), start=first, end=second, password="pw"
        )
        return (snapshots, units), profile

    (snapshots, units), profile = run(work)
    assert [snapshot.captured_at for snapshot in snapshots] == [first, second]
    assert units[obis.ACTIVE_ENERGY_IMPORT_TOTAL] == "Wh"
    advance = (
        snapshots[1].values[obis.ACTIVE_ENERGY_IMPORT_TOTAL]
        - snapshots[0].values[obis.ACTIVE_ENERGY_IMPORT_TOTAL]
    )
    assert len(profile.rows) == 96
    assert advance == sum(row.energy_wh for row in profile.rows)  # exactly, in Decimal

    reads = tuple(
        RegisterRead(snapshot.captured_at, snapshot.values[obis.ACTIVE_ENERGY_IMPORT_TOTAL] / 1000)
        for snapshot in snapshots
    )
    kwh = np.array([float(row.energy_wh / 1000) for row in profile.rows])

    def sum_check(values: np.ndarray) -> list[Any]:
        series = IntervalSeries(
            first,
            15,
            values,
            np.zeros(len(values), dtype=np.uint8),
            np.full(len(values), ReadingQuality.RAW, dtype=np.uint8),
        )
        return SumCheck().check(ValidationContext(series=series, registers=reads))

    assert sum_check(kwh) == []
    inflated = kwh.copy()
    inflated[40] += 2.5  # a spike the register never saw
    assert [finding.rule for finding in sum_check(inflated)] == ["sum_check"]


@pytest.mark.parametrize("kind", ["wrapper", "entry-only"])
def test_event_logs_are_read_by_range_with_the_meaning_of_each_code(
    fleet: FleetThread, kind: str
) -> None:
    async def work() -> dict[str, list[Any]]:
        async with management(fleet, kind) as session:
            return {
                log.name: await read_event_log(session, log, NOW - 24 * HOUR, NOW)
                for log in (STANDARD, FRAUD, POWER_QUALITY)
            }

    logs = run(work)
    assert [(event.at, event.code, event.name) for event in logs["standard"]] == [
        (NOW - 5 * HOUR, 1, "power down"),
        (NOW - 4 * HOUR, 2, "power up"),
    ]
    assert [(event.at, event.name) for event in logs["fraud"]] == [
        (NOW - HOUR, "meter cover removed")  # the DC field 26 hours ago is outside the range
    ]
    assert [event.name for event in logs["power_quality"]] == [
        "overvoltage L1",
        "voltage L1 normal",
    ]


def test_relay_operations_are_read_from_the_disconnector_log(fleet: FleetThread) -> None:
    relay = GXDLMSDisconnectControl(obis.DISCONNECT_CONTROL)

    async def work() -> list[Any]:
        async with management(fleet, "hls") as session:
            await session.act(relay, 1, Integer(0))  # remote disconnect
            await session.act(relay, 2, Integer(0))  # remote reconnect
            return await read_event_log(session, DISCONNECTOR, NOW - HOUR, NOW)

    events = run(work)
    assert [(event.at, event.code, event.name) for event in events] == [
        (NOW, 62, "remote disconnection"),
        (NOW, 63, "remote connection"),
    ]


def test_the_object_list_names_the_new_objects_with_their_classes(fleet: FleetThread) -> None:
    association = GXDLMSAssociationLogicalName(obis.CURRENT_ASSOCIATION)

    async def listed(kind: str) -> set[tuple[int, str]]:
        async with CosemSession(endpoint(fleet, kind)) as session:  # the public client
            entries = await session.get(association, 2)
        return {(int(entry[0]), ".".join(str(o) for o in bytes(entry[2]))) for entry in entries}

    plain, ciphered = run(lambda: listed("wrapper")), run(lambda: listed("hls"))
    expected = {
        (3, "1.0.2.8.0.255"),
        (3, "1.0.4.8.0.255"),
        (3, "1.0.52.7.0.255"),
        (3, "1.0.61.7.0.255"),
        (7, "0.0.98.2.0.255"),
        (7, "0.0.99.98.0.255"),
        (7, "0.0.99.98.1.255"),
        (7, "0.0.99.98.2.255"),
        (7, "0.0.99.98.4.255"),
        (1, "0.0.96.11.4.255"),
        (21, "0.0.16.1.2.255"),
    }
    assert expected <= plain and expected <= ciphered
    assert (64, obis.SECURITY_SETUP) in ciphered  # keys to change
    assert (64, obis.SECURITY_SETUP) not in plain  # an LLS meter has none


def test_monitor_thresholds_are_set_in_the_monitored_unit_and_read_back(
    fleet: FleetThread,
) -> None:
    monitor = GXDLMSRegisterMonitor(obis.SUPERVISION_MONITORS[1])

    async def work() -> tuple[Any, int, Any]:
        async with management(fleet, "wrapper") as session:
            outcome = await set_thresholds(
                session, obis.SUPERVISION_MONITORS[1], [Decimal("32.5"), Decimal("40")]
            )
            try:  # thresholds of another type than the monitored current (uint32)
                await session.set(monitor, 2, Array([LongUnsigned(100)]))
                refused = 0
            except AccessRefused as refusal:
                refused = refusal.result
            with pytest.raises(ThresholdNotRepresentable, match="finer"):
                await set_thresholds(session, obis.SUPERVISION_MONITORS[1], [Decimal("0.0001")])
            return outcome, refused, await session.get(monitor, 2)

    outcome, refused, held = run(work)
    assert (outcome.monitored, outcome.unit) == ("1.0.51.7.0.255", "A")
    assert outcome.thresholds == (Decimal("32.500"), Decimal("40.000"))
    assert refused == TYPE_UNMATCHED
    assert held == [32500, 40000]  # untouched by the refused and the unrepresentable SETs
    assert fleet.meter("REG-W").monitors.thresholds(obis.SUPERVISION_MONITORS[1]) == [32500, 40000]


def test_keys_wrapped_under_another_master_key_are_refused_and_logged(
    fleet: FleetThread,
) -> None:
    meter = fleet.meter("REG-C")
    assert meter.security is not None
    before = meter.security.keys

    async def work() -> int:
        async with management(fleet, "hls") as session:
            with pytest.raises(AccessRefused) as refusal:
                await transfer_keys(
                    session, bytes(16), block_cipher_key=bytes(16), authentication_key=bytes(16)
                )
            return refusal.value.result

    assert run(work) == OTHER_REASON
    assert meter.security.keys == before
    assert meter.security.events[-1].kind is SecurityEventKind.BAD_TAG
    logged = meter.events.entries(FRAUD, meter.now())
    assert [event.code for event in logged] == [49]  # decryption or authentication failure


def test_an_lls_meter_has_no_security_setup_to_transfer_keys_to(fleet: FleetThread) -> None:
    async def work() -> int:
        async with management(fleet, "wrapper") as session:
            with pytest.raises(AccessRefused) as refusal:
                await session.act(
                    GXDLMSSecuritySetup(obis.SECURITY_SETUP),
                    KEY_TRANSFER,
                    key_transfer_parameter(KEK, {0: bytes(16)}),
                )
            return refusal.value.result

    assert run(work) == OBJECT_UNDEFINED
