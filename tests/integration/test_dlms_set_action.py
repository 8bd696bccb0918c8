"""SET and ACTION against simulated meters over real TCP: WRAPPER, HDLC and HLS-GMAC
glo-ciphering; access rights per client; what the meter does with what it is told."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from gurux_dlms.objects import (
    GXDLMSAssociationLogicalName,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSDisconnectControl,
    GXDLMSLimiter,
    GXDLMSProfileGeneric,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.dlms import obis, set_action_service
from adapters.dlms.client import read_load_profile
from adapters.dlms.cosem_datetime import decode_cosem_datetime
from adapters.dlms.errors import AccessRefused, FrameError
from adapters.dlms.hls import HlsKeys
from adapters.dlms.session import CosemSession, MeterEndpoint
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.dlms.typed_data import (
    DateTime,
    DoubleLongUnsigned,
    Enum,
    Integer,
    OctetString,
    Structure,
)

UTC = dt.UTC
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTH = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")
HES = HlsKeys(b"HES\x00\x00\x00\x00\x07", KEY, AUTH)
RELAY = GXDLMSDisconnectControl(obis.DISCONNECT_CONTROL)
READ_WRITE_DENIED, OBJECT_UNDEFINED, CLASS_INCONSISTENT, TYPE_UNMATCHED = 3, 4, 9, 12


class MovableClock:
    """A meter clock the test moves forward."""

    def __init__(self, start: dt.datetime) -> None:
        self.moment = start

    def __call__(self) -> dt.datetime:
        return self.moment


CONFIGS = {
    "wrapper": SimulatedMeterConfig("SET-W", password="pw"),
    "hdlc": SimulatedMeterConfig("SET-H", password="pw", framing="hdlc"),
    "hls": SimulatedMeterConfig("SET-C", hls_keys=HlsKeys(b"SIM\x00\x00\x00\x00\x71", KEY, AUTH)),
}


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetThread]:
    with FleetThread(CONFIGS.values()) as running:
        yield running


def management(fleet: FleetThread, kind: str) -> CosemSession:
    config = CONFIGS[kind]
    endpoint = MeterEndpoint("127.0.0.1", fleet.ports[config.serial], framing=config.framing)
    if kind == "hls":
        return CosemSession(endpoint, security=HES)
    return CosemSession(endpoint, password="pw")


def public(fleet: FleetThread, kind: str) -> CosemSession:
    config = CONFIGS[kind]
    return CosemSession(
        MeterEndpoint("127.0.0.1", fleet.ports[config.serial], framing=config.framing)
    )


def run(work: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(work())  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["wrapper", "hdlc", "hls"])
def test_the_management_client_disconnects_and_reconnects_the_relay(
    fleet: FleetThread, kind: str
) -> None:
    async def work() -> list[Any]:
        async with management(fleet, kind) as session:
            await session.act(RELAY, 1, Integer(0))
            after_disconnect = [await session.get(RELAY, 2), await session.get(RELAY, 3)]
            await session.act(RELAY, 2, Integer(0))
            return [*after_disconnect, await session.get(RELAY, 2), await session.get(RELAY, 3)]

    assert run(work) == [False, 0, True, 1]


@pytest.mark.parametrize("kind", ["wrapper", "hdlc"])
def test_the_public_client_may_read_but_neither_set_nor_act(fleet: FleetThread, kind: str) -> None:
    async def work() -> tuple[int, int, Any]:
        async with public(fleet, kind) as session:
            with pytest.raises(AccessRefused) as set_refusal:
                await session.set(RELAY, 4, Enum(1))
            with pytest.raises(AccessRefused) as action_refusal:
                await session.act(RELAY, 1, Integer(0))
            return (
                set_refusal.value.result,
                action_refusal.value.result,
                await session.get(RELAY, 2),
            )

    assert run(work) == (READ_WRITE_DENIED, READ_WRITE_DENIED, True)
    assert fleet.meter(CONFIGS[kind].serial).relay.control_mode == 4  # untouched


def test_refusals_name_the_data_access_result(fleet: FleetThread) -> None:
    async def work() -> list[int]:
        results = []
        async with management(fleet, "wrapper") as session:
            attempts = [
                session.set(GXDLMSData("0.0.96.99.99.255"), 2, Integer(1)),  # no such object
                session.set(GXDLMSLimiter(obis.DISCONNECT_CONTROL), 4, Enum(1)),  # wrong class
                session.set(RELAY, 4, OctetString(b"x")),  # wrong type
                session.set(GXDLMSData(obis.SERIAL_NUMBER), 2, OctetString(b"EVIL")),  # read-only
            ]
            for attempt in attempts:
                try:
                    await attempt
                except AccessRefused as refusal:
                    results.append(refusal.result)
            # The association survives its refusals.
            results.append(int(await session.get(RELAY, 4)))
        return results

    assert run(work) == [OBJECT_UNDEFINED, CLASS_INCONSISTENT, TYPE_UNMATCHED, READ_WRITE_DENIED, 4]


def test_the_object_list_grants_writes_and_methods_to_the_management_client_only(
    fleet: FleetThread,
) -> None:
    association = GXDLMSAssociationLogicalName(obis.CURRENT_ASSOCIATION)

    def relay_rights(object_list: list[Any]) -> tuple[list[int], int]:
        for class_id, _version, logical_name, rights in object_list:
            if class_id == 70 and bytes(logical_name) == bytes((0, 0, 96, 3, 10, 255)):
                attributes, methods = rights
                return [int(mode) for _index, mode, _selectors in attributes], len(methods)
        raise AssertionError("disconnect control not in the object list")

    async def work() -> tuple[Any, Any]:
        async with public(fleet, "wrapper") as session:
            read_only = await session.get(association, 2)
        async with management(fleet, "wrapper") as session:
            writable = await session.get(association, 2)
        return read_only, writable

    read_only, writable = run(work)
    assert relay_rights(read_only) == ([1, 1, 1, 1], 0)
    assert relay_rights(writable) == ([1, 3, 3, 3], 2)
    names = {bytes(entry[2]) for entry in writable}
    for logical_name in (obis.IMAGE_TRANSFER, obis.ACTIVITY_CALENDAR, obis.PUSH_SETUP):
        assert bytes(int(part) for part in logical_name.split(".")) in names


def test_a_disconnected_meter_measures_nothing_until_it_is_reconnected() -> None:
    clock = MovableClock(dt.datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
    config = SimulatedMeterConfig("RELAY-1", password="pw", history_days=1, clock=clock)
    with FleetThread([config]) as fleet:
        endpoint = MeterEndpoint("127.0.0.1", fleet.ports["RELAY-1"])

        async def act(method: int) -> None:
            async with CosemSession(endpoint, password="pw") as session:
                await session.act(RELAY, method, Integer(0))

        run(lambda: act(1))
        clock.moment += dt.timedelta(hours=1)
        run(lambda: act(2))
        clock.moment += dt.timedelta(hours=1)
        reading = run(
            lambda: read_load_profile(
                endpoint, start=clock.moment - dt.timedelta(hours=3), end=clock.moment
            )
        )
    energy = {row.timestamp.hour * 60 + row.timestamp.minute: row.energy_wh for row in reading.rows}
    off = [energy[minute] for minute in range(10 * 60 + 15, 11 * 60 + 1, 15)]
    on = [energy[minute] for minute in range(11 * 60 + 15, 12 * 60 + 1, 15)]
    before = [energy[minute] for minute in range(9 * 60 + 15, 10 * 60 + 1, 15)]
    assert all(value == 0 for value in off)
    assert all(value > 0 for value in on + before)


def test_a_new_capture_period_applies_to_the_next_entries_only() -> None:
    clock = MovableClock(dt.datetime(2026, 3, 10, 10, 7, tzinfo=UTC))
    config = SimulatedMeterConfig("PERIOD-1", password="pw", history_days=1, clock=clock)
    with FleetThread([config]) as fleet:
        endpoint = MeterEndpoint("127.0.0.1", fleet.ports["PERIOD-1"])
        profile = GXDLMSProfileGeneric(obis.LOAD_PROFILE)

        async def set_period() -> Any:
            async with CosemSession(endpoint, password="pw") as session:
                await session.set(profile, 4, DoubleLongUnsigned(300))
                return await session.get(profile, 4)

        assert run(set_period) == 300
        clock.moment += dt.timedelta(minutes=30)  # 10:37
        reading = run(
            lambda: read_load_profile(
                endpoint, start=dt.datetime(2026, 3, 10, 9, 30, tzinfo=UTC), end=clock.moment
            )
        )
    stamps = [f"{row.timestamp:%H:%M}" for row in reading.rows]
    assert stamps == [
        "09:45",
        "10:00",
        "10:05",
        "10:10",
        "10:15",
        "10:20",
        "10:25",
        "10:30",
        "10:35",
    ]
    assert reading.capture_period == dt.timedelta(minutes=5)
    assert all(row.energy_wh > 0 for row in reading.rows)


def test_the_clock_runs_with_its_offset_and_can_be_set() -> None:
    true_time = dt.datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    config = SimulatedMeterConfig(
        "CLOCK-1", password="pw", clock=lambda: true_time, clock_offset=dt.timedelta(minutes=-3)
    )
    clock = GXDLMSClock(obis.CLOCK)
    with FleetThread([config]) as fleet:
        endpoint = MeterEndpoint("127.0.0.1", fleet.ports["CLOCK-1"], framing="wrapper")

        async def work() -> tuple[Any, Any]:
            async with CosemSession(endpoint, password="pw") as session:
                drifted = decode_cosem_datetime(await session.get(clock, 2))
                await session.set(clock, 2, DateTime(true_time + dt.timedelta(seconds=1)))
                return drifted, decode_cosem_datetime(await session.get(clock, 2))

        drifted, corrected = run(work)
    assert drifted == true_time - dt.timedelta(minutes=3)
    assert corrected == true_time + dt.timedelta(seconds=1)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_decode_to_a_request_an_answer_or_a_frame_error(data: bytes) -> None:
    for decode in (
        set_action_service.decode_set_request,
        set_action_service.decode_action_request,
        lambda raw: set_action_service.decode_answer(raw, set_action_service.SET_RESPONSE_TAG),
        lambda raw: set_action_service.decode_answer(raw, set_action_service.ACTION_RESPONSE_TAG),
    ):
        with contextlib.suppress(FrameError):  # the only failure allowed
            decode(data)


def test_requests_encode_and_decode_back() -> None:
    value = Structure([OctetString(b"SIM-2"), DoubleLongUnsigned(5124)])
    encoded = set_action_service.encode_action_request(18, obis.IMAGE_TRANSFER, 1, value.encode())
    decoded = set_action_service.decode_action_request(encoded)
    assert (decoded.class_id, decoded.logical_name, decoded.method) == (18, obis.IMAGE_TRANSFER, 1)
    assert decoded.parameter == [b"SIM-2", 5124]
    secret = set_action_service.decode_set_request(
        set_action_service.encode_set_request(15, obis.CURRENT_ASSOCIATION, 7, b"\x09\x03abc")
    )
    assert secret.value == b"abc" and "abc" not in repr(secret)
