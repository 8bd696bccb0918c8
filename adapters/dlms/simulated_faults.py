"""Faults scripted into a simulated meter: power failures, voltage disturbances on a
phase, tampering, lost load-profile entries. Times are meter time (UTC); a fault shows
once the meter's clock has passed it, in its event logs, its load profile (an interval
touched by a power failure measures nothing and carries the power-down status bit) and
its instantaneous values.

    SimulatedMeterConfig("SIM1", faults=(PowerFailure(down, up), Tamper(at, "meter_cover_removed")))
    meter.faults.add(VoltageDisturbance(start, end, phase=2, kind="under"))
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from adapters.dlms.event_logs import FRAUD, POWER_QUALITY, STANDARD, EventCode, EventLog

Disturbance = Literal["under", "over", "missing"]
TamperKind = Literal[
    "terminal_cover_removed",
    "terminal_cover_closed",
    "strong_dc_field_detected",
    "no_strong_dc_field_anymore",
    "meter_cover_removed",
    "meter_cover_closed",
]
_TAMPER_CODES: dict[str, EventCode] = {
    "terminal_cover_removed": EventCode.TERMINAL_COVER_REMOVED,
    "terminal_cover_closed": EventCode.TERMINAL_COVER_CLOSED,
    "strong_dc_field_detected": EventCode.STRONG_DC_FIELD_DETECTED,
    "no_strong_dc_field_anymore": EventCode.NO_STRONG_DC_FIELD_ANYMORE,
    "meter_cover_removed": EventCode.METER_COVER_REMOVED,
    "meter_cover_closed": EventCode.METER_COVER_CLOSED,
}
_DISTURBANCE_CODES: dict[str, EventCode] = {
    "under": EventCode.UNDERVOLTAGE_L1,
    "over": EventCode.OVERVOLTAGE_L1,
    "missing": EventCode.MISSING_VOLTAGE_L1,
}


def _aware(*moments: dt.datetime) -> None:
    if any(moment.tzinfo is None for moment in moments):
        raise ValueError("fault times must be aware datetimes (meter time, UTC)")


def _span(start: dt.datetime, end: dt.datetime, what: str) -> None:
    _aware(start, end)
    if end <= start:
        raise ValueError(f"{what}: the end must come after the start")


@dataclass(frozen=True)
class PowerFailure:
    """All phases lost from `start` to `end`: no entries are captured while the meter is
    off (a gap in the load profile), the first one after it carries the power-down bit
    and measures nothing, and the standard log has power down and power up."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        _span(self.start, self.end, "a power failure")


@dataclass(frozen=True)
class VoltageDisturbance:
    """One phase (1-3) under, over or without voltage from `start` to `end`."""

    start: dt.datetime
    end: dt.datetime
    phase: int
    kind: Disturbance

    def __post_init__(self) -> None:
        _span(self.start, self.end, "a voltage disturbance")
        if self.phase not in (1, 2, 3):
            raise ValueError("phase must be 1, 2 or 3")
        if self.kind not in _DISTURBANCE_CODES:
            raise ValueError("kind must be 'under', 'over' or 'missing'")


@dataclass(frozen=True)
class Tamper:
    """A tamper detection (cover opened, magnetic field ...) at one moment."""

    at: dt.datetime
    kind: TamperKind

    def __post_init__(self) -> None:
        _aware(self.at)
        if self.kind not in _TAMPER_CODES:
            raise ValueError(f"kind must be one of {', '.join(_TAMPER_CODES)}")


@dataclass(frozen=True)
class ProfileEntriesLost:
    """The load profile lost the entries captured in (`start`, `end`] (a buffer corrupted
    at a reset, a firmware fault) while the energy registers went on counting: gaps that
    only the registers can account for. Logs no event, as such meters do not."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        _span(self.start, self.end, "lost entries")


Fault = PowerFailure | VoltageDisturbance | Tamper | ProfileEntriesLost


class LoggedEvent(NamedTuple):
    at: dt.datetime
    log: EventLog
    code: int


class FaultScript:
    """What is scripted to happen to one meter; shared by all its connections."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        for fault in faults:
            self.add(fault)

    def add(self, fault: Fault) -> None:
        if not isinstance(fault, Fault):
            raise TypeError(f"a fault is one of {', '.join(t.__name__ for t in Fault.__args__)}")
        with self._lock:
            self._faults.append(fault)

    def _all(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def power_off(self, moment: dt.datetime) -> bool:
        return any(isinstance(f, PowerFailure) and f.start <= moment < f.end for f in self._all())

    def power_off_during(self, start: dt.datetime, end: dt.datetime) -> bool:
        """A power failure overlapping [start, end)."""
        return any(
            isinstance(f, PowerFailure) and f.start < end and start < f.end for f in self._all()
        )

    def entry_missing(self, captured_at: dt.datetime) -> bool:
        """Whether the profile has no entry captured at `captured_at`: the meter was off
        at that moment (a power failure around it: a gap), or the entry was lost."""
        return any(
            (isinstance(f, PowerFailure) and f.start < captured_at < f.end)
            or (isinstance(f, ProfileEntriesLost) and f.start < captured_at <= f.end)
            for f in self._all()
        )

    def disturbance(self, phase: int, moment: dt.datetime) -> Disturbance | None:
        for fault in self._all():
            if (
                isinstance(fault, VoltageDisturbance)
                and fault.phase == phase
                and fault.start <= moment < fault.end
            ):
                return fault.kind
        return None

    def events(self) -> list[LoggedEvent]:
        """Every event the script implies, in no particular order."""
        logged: list[LoggedEvent] = []
        for fault in self._all():
            if isinstance(fault, PowerFailure):
                logged.append(LoggedEvent(fault.start, STANDARD, EventCode.POWER_DOWN))
                logged.append(LoggedEvent(fault.end, STANDARD, EventCode.POWER_UP))
            elif isinstance(fault, VoltageDisturbance):
                offset = fault.phase - 1
                began = _DISTURBANCE_CODES[fault.kind] + offset
                ended = EventCode.VOLTAGE_NORMAL_L1 + offset
                logged.append(LoggedEvent(fault.start, POWER_QUALITY, began))
                logged.append(LoggedEvent(fault.end, POWER_QUALITY, ended))
            elif isinstance(fault, Tamper):
                logged.append(LoggedEvent(fault.at, FRAUD, _TAMPER_CODES[fault.kind]))
        return logged
