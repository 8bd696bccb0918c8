"""Energy totals and instantaneous values of a simulated meter, consistent with its load
profile.

Each energy total is its base plus the sum of the intervals closed so far, so the active
import total 1.0.1.8.0.255 read at an interval boundary equals its base plus exactly the
load-profile intervals before it (what a VEE sum check compares), and the daily billing
snapshot at midnight holds the totals after the interval ending at midnight. The other
totals follow each interval: reactive import and export as fixed shares of the active
import, active export from a simple PV curve when the meter has `yearly_export_kwh`.
Registers advance when an interval closes, not within it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from collections.abc import Callable
from typing import NamedTuple

from adapters.dlms.consumption import RAW_UNITS_PER_WH
from adapters.dlms.simulated_faults import FaultScript

DAY = dt.timedelta(days=1)
# A phase's share of the load in percent (L1, L2, L3), and the power factor.
PHASE_SHARES = (45, 33, 22)
POWER_FACTOR = 0.97
NOMINAL_VOLTAGE_RAW = 2300  # 230.0 V in 0.1 V
DISTURBED_VOLTAGE_RAW = {"under": 1950, "over": 2550, "missing": 0}


class EnergyTotals(NamedTuple):
    """Active import/export in 0.1 Wh, reactive import/export in 0.1 varh."""

    active_import: int = 0
    active_export: int = 0
    reactive_import: int = 0
    reactive_export: int = 0

    def plus(self, other: EnergyTotals) -> EnergyTotals:
        return EnergyTotals(*(mine + theirs for mine, theirs in zip(self, other, strict=True)))


def base_totals(serial: str) -> EnergyTotals:
    """Per-meter starting readings, so that meters do not all read alike."""
    digest = hashlib.blake2b(serial.encode(), digest_size=4).digest()
    active = 10_000_000 + int.from_bytes(digest, "big") % 100_000_000
    return EnergyTotals(active, active // 20, active // 4, active // 50)


def interval_totals(
    captured_at: dt.datetime,
    period: dt.timedelta,
    active_import: int,
    *,
    yearly_export_kwh: float,
    supplied: bool,
) -> EnergyTotals:
    """What one interval adds to each total."""
    export = _pv_export(captured_at - period / 2, period, yearly_export_kwh) if supplied else 0
    return EnergyTotals(
        active_import, export, active_import // 4, active_import // 50 + export // 10
    )


def _pv_export(middle: dt.datetime, period: dt.timedelta, yearly_kwh: float) -> int:
    """A sine from 06:00 to 18:00 UTC whose daily integral is yearly_kwh / 365."""
    if yearly_kwh <= 0:
        return 0
    hour = middle.hour + middle.minute / 60 + middle.second / 3600
    sun = max(0.0, math.sin(math.pi * (hour - 6) / 12))
    daily_wh = yearly_kwh * 1000 / 365
    hours = period.total_seconds() / 3600
    return round(daily_wh * sun * hours / (24 / math.pi) * RAW_UNITS_PER_WH)


class EnergyRegisters:
    """Running totals over the meter's entries, with the snapshot of every midnight."""

    def __init__(
        self,
        base: EnergyTotals,
        installed_at: dt.datetime,
        interval: Callable[[int], tuple[dt.datetime, EnergyTotals]],
    ) -> None:
        self._interval = interval  # entry number -> (capture time, what it adds)
        self._totals = base
        self._entries = 0
        self._last_capture = installed_at
        self._installed_at = installed_at
        self._midnights: dict[dt.datetime, EnergyTotals] = {}
        self._lock = threading.Lock()  # tests read registers from other threads

    def after(self, entries: int) -> EnergyTotals:
        """The totals once entries 1..`entries` have closed."""
        with self._lock:
            self._advance(entries)
            return self._totals

    def at_midnight(self, midnight: dt.datetime, entries: int) -> EnergyTotals | None:
        """The totals at `midnight` (UTC), given `entries` closed; None before installation
        or after the newest closed entry."""
        with self._lock:
            self._advance(entries)
            if midnight < self._installed_at:
                return None
            if midnight >= self._last_capture:
                return self._totals
            return self._midnights.get(midnight)

    def _advance(self, entries: int) -> None:
        while self._entries < entries:
            captured_at, added = self._interval(self._entries + 1)
            # Every midnight from the last capture up to this one sees the totals so far.
            midnight = _ceil_to_midnight(self._last_capture)
            while midnight < captured_at:
                self._midnights[midnight] = self._totals
                midnight += DAY
            self._totals = self._totals.plus(added)
            self._entries += 1
            self._last_capture = captured_at


def _ceil_to_midnight(moment: dt.datetime) -> dt.datetime:
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == moment else midnight + DAY


class PhaseValues(NamedTuple):
    """Instantaneous values: voltage in 0.1 V, current in mA, active power import in W."""

    voltages: tuple[int, int, int]
    currents: tuple[int, int, int]
    powers: tuple[int, int, int]

    @property
    def total_power(self) -> int:
        return sum(self.powers)


def phase_values(
    serial: str,
    now: dt.datetime,
    average_power_w: int,
    *,
    load_connected: bool,
    faults: FaultScript,
) -> PhaseValues:
    """The load of the current interval spread over the phases; voltages near 230 V with
    a small per-minute wobble, as disturbed by the fault script."""
    if faults.power_off(now):
        return PhaseValues((0, 0, 0), (0, 0, 0), (0, 0, 0))
    v1, v2, v3 = (_voltage(serial, now, phase, faults) for phase in (1, 2, 3))
    total = average_power_w if load_connected else 0
    first, second = total * PHASE_SHARES[0] // 100, total * PHASE_SHARES[1] // 100
    # A phase without voltage carries no load.
    p1, p2, p3 = (
        power if volts else 0
        for power, volts in zip((first, second, total - first - second), (v1, v2, v3), strict=True)
    )
    return PhaseValues(
        (v1, v2, v3), (_current(p1, v1), _current(p2, v2), _current(p3, v3)), (p1, p2, p3)
    )


def _current(watts: int, decivolts: int) -> int:
    """mA drawn by `watts` at `decivolts` (0.1 V) and the power factor."""
    return round(watts / (decivolts / 10 * POWER_FACTOR) * 1000) if decivolts else 0


def _voltage(serial: str, now: dt.datetime, phase: int, faults: FaultScript) -> int:
    disturbed = faults.disturbance(phase, now)
    if disturbed is not None:
        return DISTURBED_VOLTAGE_RAW[disturbed]
    minute = now.replace(second=0, microsecond=0).isoformat()
    digest = hashlib.blake2b(f"{serial}|{phase}|{minute}".encode(), digest_size=2).digest()
    return NOMINAL_VOLTAGE_RAW + int.from_bytes(digest, "big") % 41 - 20  # +/- 2.0 V
