"""Pushes of a simulated meter: its load profile on a schedule, alarms at once; plain, or
general-glo-ciphered (0xDB) with the meter's own keys and invocation counter as real
meters send them; WRAPPER frames over TCP or UDP to one destination.

    settings = PushSettings(PushDestination("127.0.0.1", 4059, "udp"), every=timedelta(minutes=15))
    fleet = SimulatedFleet(configs, pushes=settings)

What the load profile push carries is the push object list the HES wrote into the push
setup 0.0.25.9.0.255 (else `LOAD_PROFILE_PUSH_OBJECTS`), each value read as a GET would
read it; the buffer holds the last `entries` entries (default one day's). It is sent at
the times the HES wrote into the push schedule 0.0.15.0.4.255 (meter clock) and every
`every` (wall clock). Alarms (`ALARM_PUSH_OBJECTS`) go out when a scripted power failure
or tamper happens on the meter's clock, or when `push_alarm` is called.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from adapters.dlms import obis
from adapters.dlms.axdr import decode_data, encode_length
from adapters.dlms.event_logs import FRAUD, STANDARD, EventCode
from adapters.dlms.get_service import AttributeRequest
from adapters.dlms.meter_server import SimulatedMeterServer
from adapters.dlms.push.encoding import cipher_push, encode_data_notification, wrap_push
from adapters.dlms.push.push_objects import (
    ALARM_PUSH_OBJECTS,
    FRAUD_EVENT_CODE,
    LOAD_PROFILE_PUSH_OBJECTS,
    STANDARD_EVENT_CODE,
    PushObject,
    logical_name_octets,
    logical_name_text,
)
from adapters.dlms.simulated_meter import SimulatedMeter
from adapters.dlms.typed_data import OctetString, Unsigned

log = logging.getLogger(__name__)

SELECTOR_ENTRY = 2
SEND_TIMEOUT = 5.0
ALARM_KINDS: dict[str, tuple[str, int]] = {  # kind: (event code object, event code)
    "power_down": (STANDARD_EVENT_CODE, EventCode.POWER_DOWN),
    "power_up": (STANDARD_EVENT_CODE, EventCode.POWER_UP),
    "terminal_cover_removed": (FRAUD_EVENT_CODE, EventCode.TERMINAL_COVER_REMOVED),
    "meter_cover_removed": (FRAUD_EVENT_CODE, EventCode.METER_COVER_REMOVED),
    "strong_dc_field_detected": (FRAUD_EVENT_CODE, EventCode.STRONG_DC_FIELD_DETECTED),
}
_CODE_OBJECTS = {STANDARD.name: STANDARD_EVENT_CODE, FRAUD.name: FRAUD_EVENT_CODE}


@dataclass(frozen=True)
class PushDestination:
    """Where pushes go: the push listener of the HES."""

    host: str
    port: int
    transport: Literal["tcp", "udp"] = "udp"

    def __post_init__(self) -> None:
        if self.transport not in ("tcp", "udp"):
            raise ValueError("a push goes over tcp or udp")
        if not 0 < self.port < 65536:
            raise ValueError("push port must be 1..65535")


@dataclass(frozen=True)
class PushSettings:
    """`every`: load profile pushes at this wall-clock interval (None: only at the times
    of the meter's push schedule); `entries`: load-profile entries per push (None: one
    day's); `alarms`: push scripted faults as they happen; `tick`: how often (s) the
    schedule and the faults are looked at."""

    destination: PushDestination
    every: dt.timedelta | None = None
    entries: int | None = None
    alarms: bool = True
    tick: float = 1.0


class MeterPusher:
    def __init__(self, meter: SimulatedMeter, settings: PushSettings) -> None:
        self.meter = meter
        self.settings = settings
        self.pushed = 0  # notifications sent
        self._invoke_id = 0
        self._last_codes = {STANDARD_EVENT_CODE: 0, FRAUD_EVENT_CODE: 0}
        self._checked_at = meter.now()  # meter time up to which schedule and faults are done

    # --- what is pushed ------------------------------------------------------------------

    def load_profile_frame(self) -> bytes:
        return self._frame(self._body(self._push_objects(), self._profile_entries()), False)

    def alarm_frame(self, kind: str) -> bytes:
        try:
            code_object, code = ALARM_KINDS[kind]
        except KeyError:
            raise ValueError(f"alarm kind must be one of {', '.join(ALARM_KINDS)}") from None
        self._last_codes[code_object] = int(code)
        return self._frame(self._body(ALARM_PUSH_OBJECTS, 0), True)

    def _push_objects(self) -> Sequence[PushObject]:
        written = self.meter.settings.written.get((obis.PUSH_SETUP, 2))
        if written is None:
            return LOAD_PROFILE_PUSH_OBJECTS
        items, _end = decode_data(written)
        return [PushObject(int(c), logical_name_text(bytes(n)), int(a)) for c, n, a, *_ in items]

    def _profile_entries(self) -> int:
        if self.settings.entries is not None:
            return self.settings.entries
        return max(1, dt.timedelta(days=1) // self.meter.capture_period)

    def _body(self, objects: Sequence[PushObject], entries: int) -> bytes:
        server = SimulatedMeterServer(self.meter)
        values = [self._value(server, item, entries) for item in objects]
        return bytes((2,)) + encode_length(len(values)) + b"".join(values)

    def _value(self, server: SimulatedMeterServer, item: PushObject, entries: int) -> bytes:
        if item.attribute == 1:  # every object's attribute 1 is its logical name
            return OctetString(logical_name_octets(item.logical_name)).encode()
        if item.logical_name in self._last_codes and item.attribute == 2:
            return Unsigned(self._last_codes[item.logical_name]).encode()
        request = AttributeRequest(item.class_id, item.logical_name, item.attribute)
        if (item.logical_name, item.attribute) == (obis.LOAD_PROFILE, 2):
            newest = self.meter.entries_in_use()
            if newest == 0:
                return bytes((1, 0))  # an empty array
            first = max(1, newest - entries + 1)
            request = AttributeRequest(
                item.class_id, item.logical_name, 2, SELECTOR_ENTRY, [first, newest, 1, 0]
            )
        try:
            return server.read_attribute(request)
        except Exception:  # an object this meter does not have: pushed as null-data
            return bytes((0,))

    def _frame(self, body: bytes, high_priority: bool) -> bytes:
        self._invoke_id = (self._invoke_id + 1) % 0x1000000
        apdu = encode_data_notification(
            body, invoke_id=self._invoke_id, high_priority=high_priority, sent_at=self.meter.now()
        )
        security = self.meter.security
        if security is not None:  # a meter with keys never pushes in clear
            keys = security.keys
            apdu = cipher_push(
                apdu,
                system_title=keys.system_title,
                invocation_counter=security.next_counter(),
                keys=keys.keys,
            )
        return wrap_push(apdu)

    # --- sending -------------------------------------------------------------------------

    async def push_load_profile(self) -> bytes:
        """Push the load profile now; returns the frame sent."""
        return await self._send(self.load_profile_frame())

    async def push_alarm(self, kind: str) -> bytes:
        """Push an alarm now (`ALARM_KINDS`); returns the frame sent."""
        return await self._send(self.alarm_frame(kind))

    async def _send(self, frame: bytes) -> bytes:
        await send_push(frame, self.settings.destination)
        self.pushed += 1
        return frame

    async def run(self) -> None:
        """Push what is due, every `tick` seconds, until cancelled."""
        every = self.settings.every
        next_interval = asyncio.get_running_loop().time() + every.total_seconds() if every else None
        while True:
            await asyncio.sleep(self.settings.tick)
            try:
                for kind in self._due_alarms():
                    await self.push_alarm(kind)
                due = (
                    next_interval is not None and asyncio.get_running_loop().time() >= next_interval
                )
                if due or self._schedule_due():
                    await self.push_load_profile()
                if due and every is not None:
                    next_interval = asyncio.get_running_loop().time() + every.total_seconds()
            except OSError as error:  # the HES is away: the meter tries at the next time
                log.info("meter %s: push not delivered: %s", self.meter.config.serial, error)
            except Exception:  # a bug costs one round of pushes, never the meter
                log.exception("meter %s: push failed", self.meter.config.serial)
            finally:
                self._checked_at = max(self._checked_at, self.meter.now())

    def _schedule_due(self) -> bool:
        raw = self.meter.settings.written.get((obis.PUSH_SCHEDULE, 4))
        if raw is None:
            return False
        now, since = self.meter.now(), self._checked_at
        for entry in decode_data(raw)[0]:
            time = _time_of_day(entry)
            if time is None:
                continue
            for day in {since.date(), now.date()}:
                moment = dt.datetime.combine(day, time, dt.UTC)
                if since < moment <= now:
                    return True
        return False

    def _due_alarms(self) -> list[str]:
        faults = getattr(self.meter, "faults", None)
        if not self.settings.alarms or faults is None:
            return []
        now, since = self.meter.now(), self._checked_at
        kinds = {int(code): kind for kind, (_obj, code) in ALARM_KINDS.items()}
        due = sorted(
            (event.at, kinds[int(event.code)])
            for event in faults.events()
            if since < event.at <= now
            and getattr(event.log, "name", None) in _CODE_OBJECTS
            and int(event.code) in kinds
        )
        return [kind for _at, kind in due]


def _time_of_day(entry: Any) -> dt.time | None:
    """The time of one execution_time entry (time octet-string: hour, minute, second)."""
    try:
        raw = bytes(entry[0])
        hour, minute = raw[0], raw[1]
        second = 0 if raw[2] == 0xFF else raw[2]
        return dt.time(hour, minute, second)
    except (TypeError, IndexError, ValueError):
        return None


async def send_push(frame: bytes, destination: PushDestination) -> None:
    """One frame to the destination: a datagram, or a TCP connection of its own."""
    loop = asyncio.get_running_loop()
    if destination.transport == "udp":
        transport, _protocol = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=(destination.host, destination.port)
        )
        try:
            transport.sendto(frame)
        finally:
            transport.close()
        return
    _reader, writer = await asyncio.wait_for(
        asyncio.open_connection(destination.host, destination.port), SEND_TIMEOUT
    )
    try:
        writer.write(frame)
        await asyncio.wait_for(writer.drain(), SEND_TIMEOUT)
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), SEND_TIMEOUT)


class FleetPushes:
    """The pushers of a fleet's meters, each a task on the fleet's event loop."""

    def __init__(self, settings: PushSettings, meters: dict[str, SimulatedMeter]) -> None:
        self.settings = settings
        self.pushers = {serial: MeterPusher(meter, settings) for serial, meter in meters.items()}
        self._tasks: list[asyncio.Task[None]] = []

    def pusher(self, serial: str) -> MeterPusher:
        return self.pushers[serial]

    def start(self) -> None:
        for serial, pusher in self.pushers.items():
            self._tasks.append(asyncio.create_task(pusher.run(), name=f"pushes of {serial}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
