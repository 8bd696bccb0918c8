"""Meter pushes into the HeadEnd: recorded once each, refusals recorded as security events.

Which pushes are critical (tamper, power failure, last gasp, relay state change) is told
by the COSEM objects they carry: an alarm register or descriptor, the disconnect control,
the event logs that hold power-quality and tamper events, or the push setup that pushes
on alarm.

A pushed load profile (`ReceivedPush.intervals`) is recorded as interval data of the
meter's channels (`PushedLoadProfiles`), idempotently: a push received again records the
push once and no interval twice. A push names its meter by its system title (ciphered),
or, in clear, by the serial number in its body, which only a meter registered without
HLS keys may do: a meter that has keys always ciphers, so a plain push in its name is
refused as a security event.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.persistence import IntegrityError

from application.collection import ProfileInterval
from application.head_end import HeadEnd
from application.pushed_profiles import PushedLoadProfiles
from domain.meter_push import MeterPush, SecurityEvent
from domain.provenance import Provenance

LISTENER = Provenance(actor="hes-push-listener", reason="meter push", source="device")
SECURITY_NAMESPACE = UUID("9d3b1f0c-7a42-5e6b-8c1d-2f4e6a8b0c3d")

# Logical names (as OBIS text) whose presence in a push makes it critical.
CRITICAL_OBJECTS = frozenset(
    {
        "0.0.97.98.0.255",  # alarm register 1
        "0.0.97.98.1.255",  # alarm register 2
        "0.0.97.98.10.255",  # alarm descriptor 1
        "0.0.97.98.11.255",  # alarm descriptor 2
        "0.0.96.3.10.255",  # disconnect control (relay state change)
        "0.0.99.98.1.255",  # fraud detection (tamper) event log
        "0.0.99.98.2.255",  # disconnector control event log
        "0.0.99.98.4.255",  # power quality event log
        "0.4.25.9.0.255",  # push setup "on alarm" (IDIS): whatever it pushes is an alarm
    }
)


@dataclass(frozen=True)
class ReceivedPush:
    notification_id: UUID
    system_title: str | None  # hex
    invocation_counter: int | None
    sent_at: str | None
    body: Any  # JSON-stable: lists, ints, str (octet strings as hex), None
    peer: str
    device_id: str | None = None  # the serial number the body states, if it states one
    intervals: tuple[ProfileInterval, ...] = ()  # a pushed load profile, decoded


def logical_names_in(body: Any) -> Iterable[str]:
    """Every 6-octet string in the body read as an OBIS code (a.b.c.d.e.f)."""
    if isinstance(body, list):
        for item in body:
            yield from logical_names_in(item)
    elif isinstance(body, str) and len(body) == 12:
        try:
            octets = bytes.fromhex(body)
        except ValueError:
            return
        yield ".".join(str(octet) for octet in octets)


def is_critical(body: Any) -> bool:
    return any(name in CRITICAL_OBJECTS for name in logical_names_in(body))


class PushIngestion:
    def __init__(
        self,
        head_end: HeadEnd,
        meter_of_title: Callable[[str], str | None],
        *,
        meter_of_device: Callable[[str], str | None] | None = None,
        profiles: PushedLoadProfiles | None = None,
    ) -> None:
        self.head_end = head_end
        # A system title names a meter only through the registry (a read model knows).
        self.meter_of_title = meter_of_title
        # The serial a plain push states, if that meter may push in clear (no HLS keys).
        self.meter_of_device = meter_of_device
        self.profiles = profiles
        self.intervals_recorded = 0  # new intervals from pushed load profiles, for reports

    def receive(self, push: ReceivedPush) -> str:
        """Records the push once; says "recorded", "duplicate" or "unknown meter"."""
        serial = self._sender(push)
        if serial is None:
            detail = (
                "no meter has this system title"
                if push.system_title
                else f"no meter {push.device_id or '(unnamed)'} may push without ciphering"
            )
            self.reject(
                "unknown_meter",
                push.system_title,
                push.peer,
                detail,
                frame=push.notification_id.bytes,
            )
            return "unknown meter"
        record = MeterPush.receive(
            push.notification_id,
            serial,
            push.system_title or "",
            push.invocation_counter,
            push.sent_at,
            push.body,
            is_critical(push.body),
            push.peer,
            LISTENER,
        )
        try:
            self.head_end.save(record)
            outcome = "recorded"
        except IntegrityError:
            outcome = "duplicate"  # the same notification again: it is already recorded
        # Intervals after the push: a push recorded before a crash gets its intervals when
        # it comes again, and known intervals record nothing.
        self._record_intervals(serial, push)
        return outcome

    def _sender(self, push: ReceivedPush) -> str | None:
        if push.system_title:
            return self.meter_of_title(push.system_title)
        if push.device_id and self.meter_of_device is not None:
            return self.meter_of_device(push.device_id)
        return None

    def _record_intervals(self, serial: str, push: ReceivedPush) -> None:
        if not push.intervals or self.profiles is None:
            return
        if push.device_id is not None and push.device_id != serial:
            return  # the body speaks of another meter than the one that sent it
        self.intervals_recorded += self.profiles.record(serial, push.intervals)

    def reject(
        self, kind: str, system_title: str | None, peer: str, detail: str, frame: bytes = b""
    ) -> None:
        """A refused frame as a security event (the same frame again is recorded once)."""
        digest = hashlib.sha256(frame or f"{kind}{system_title}{detail}".encode()).hexdigest()
        serial = self.meter_of_title(system_title) if system_title else None
        event = SecurityEvent.record(
            uuid5(SECURITY_NAMESPACE, f"{kind}:{system_title}:{digest}"),
            kind,
            system_title,
            serial,
            peer,
            detail,
            LISTENER,
        )
        with contextlib.suppress(IntegrityError):  # the same refusal again: recorded already
            self.head_end.save(event)
