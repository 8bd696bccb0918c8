"""When a simulated meter pushes on its own: at the times the HES wrote into its push
schedule (with the push object list the HES wrote), and at once when a scripted fault
happens on its clock. Pushes are caught by a plain UDP socket and decoded as the HES does."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from gurux_dlms.objects import GXDLMSActionSchedule, GXDLMSPushSetup

from adapters.dlms import obis, schedule_values
from adapters.dlms.client import MeterEndpoint
from adapters.dlms.invocation_counters import InMemoryInvocationCounters
from adapters.dlms.push import DataNotification, decode_push_apdu, unwrap
from adapters.dlms.push.push_objects import (
    LOAD_PROFILE_PUSH_OBJECTS,
    decode_profile_push,
    push_setup_of,
)
from adapters.dlms.session import CosemSession
from adapters.dlms.simulated_faults import PowerFailure, Tamper
from adapters.dlms.simulated_pushes import PushDestination, PushSettings
from adapters.dlms.simulator import SimulatedFleet, SimulatedMeterConfig

START = dt.datetime(2026, 3, 4, 6, 29, 50, tzinfo=dt.UTC)


class MeterClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


class Catcher(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.notifications: list[DataNotification] = []

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        counters = InMemoryInvocationCounters()
        self.notifications.append(decode_push_apdu(unwrap(data), keyring={}, counters=counters))

    async def wait_for(self, count: int) -> list[DataNotification]:
        async with asyncio.timeout(5):
            while len(self.notifications) < count:
                await asyncio.sleep(0.02)
        return self.notifications


Scenario = Callable[[SimulatedFleet, MeterClock, Catcher], Awaitable[None]]


def run(scenario: Scenario, **config: Any) -> Catcher:
    clock = MeterClock()

    async def main() -> Catcher:
        loop = asyncio.get_running_loop()
        transport, catcher = await loop.create_datagram_endpoint(
            Catcher, local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        meter = SimulatedMeterConfig("TRIG-1", password="pw-TRIG-1", clock=clock, **config)
        fleet = SimulatedFleet(
            [meter], PushSettings(PushDestination("127.0.0.1", port, "udp"), tick=0.02)
        )
        await fleet.start()
        try:
            await scenario(fleet, clock, catcher)
        finally:
            await fleet.stop()
            transport.close()
        return catcher

    return asyncio.run(main())


async def set_push_setup(fleet: SimulatedFleet, objects: list[dict[str, Any]]) -> None:
    """What the HES's set_push_schedule command writes, over a real LLS association."""
    endpoint = MeterEndpoint("127.0.0.1", fleet.ports["TRIG-1"])
    async with CosemSession(endpoint, password="pw-TRIG-1") as session:
        await session.set(
            GXDLMSPushSetup(obis.PUSH_SETUP), 2, schedule_values.push_object_list(objects)
        )
        await session.set(
            GXDLMSActionSchedule(obis.PUSH_SCHEDULE),
            4,
            schedule_values.daily_execution(["06:30", "18:00"]),
        )


def test_a_meter_pushes_its_load_profile_at_the_time_the_hes_scheduled() -> None:
    async def scenario(fleet: SimulatedFleet, clock: MeterClock, catcher: Catcher) -> None:
        await set_push_setup(fleet, [item.as_parameter() for item in LOAD_PROFILE_PUSH_OBJECTS])
        await asyncio.sleep(0.1)
        assert catcher.notifications == []  # 06:29:50: not yet
        clock.now = START + dt.timedelta(seconds=15)
        await catcher.wait_for(1)
        await asyncio.sleep(0.1)  # and only once for 06:30

    [push] = run(scenario).notifications
    profile = decode_profile_push(push.body)
    assert profile is not None and profile.device_id == "TRIG-1"
    assert len(profile.rows) == 96  # one day of 15-minute entries
    assert profile.rows[-1].captured_at == dt.datetime(2026, 3, 4, 6, 30, tzinfo=dt.UTC)
    assert push.sent_at == START + dt.timedelta(seconds=15)


def test_the_push_carries_the_objects_the_hes_listed() -> None:
    objects = [
        {"class_id": 40, "logical_name": obis.PUSH_SETUP, "attribute": 1},
        {"class_id": 1, "logical_name": obis.SERIAL_NUMBER, "attribute": 2},
        {"class_id": 3, "logical_name": obis.ACTIVE_ENERGY_IMPORT_TOTAL, "attribute": 2},
    ]

    async def scenario(fleet: SimulatedFleet, clock: MeterClock, catcher: Catcher) -> None:
        await set_push_setup(fleet, objects)
        clock.now = START + dt.timedelta(seconds=15)
        await catcher.wait_for(1)

    [push] = run(scenario).notifications
    _setup, serial, energy = push.body
    assert push_setup_of(push.body) == obis.PUSH_SETUP and serial == b"TRIG-1"
    assert isinstance(energy, int) and energy > 0
    assert decode_profile_push(push.body) is None  # no load profile in this list


def test_scripted_faults_are_pushed_as_alarms_when_they_happen() -> None:
    cover = Tamper(START + dt.timedelta(seconds=20), "meter_cover_removed")
    outage = PowerFailure(START + dt.timedelta(seconds=30), START + dt.timedelta(seconds=40))

    async def scenario(fleet: SimulatedFleet, clock: MeterClock, catcher: Catcher) -> None:
        await asyncio.sleep(0.1)
        assert catcher.notifications == []
        clock.now = START + dt.timedelta(seconds=35)  # the cover opened, then the power went
        await catcher.wait_for(2)
        clock.now = START + dt.timedelta(seconds=45)  # and came back
        await catcher.wait_for(3)

    pushes = run(scenario, faults=(cover, outage)).notifications
    assert [push_setup_of(p.body) for p in pushes] == ["0.4.25.9.0.255"] * 3
    assert [(p.body[2], p.body[3]) for p in pushes] == [(0, 44), (1, 44), (2, 44)]
    assert all(p.long_invoke_id & 0x80000000 for p in pushes)  # high priority
