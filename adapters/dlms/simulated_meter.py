"""The metering state of one simulated meter: configuration, clock, profile buffer,
energy registers, instantaneous values, event logs and scripted faults. Pure Python, no
sockets; `meter_server` exposes it over DLMS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from adapters.dlms.consumption import RAW_UNITS_PER_WH, SimulatedConsumption
from adapters.dlms.event_logs import STANDARD, EventCode
from adapters.dlms.hdlc_params import DEFAULT_MAX_INFO_LENGTH
from adapters.dlms.hls import HlsKeys
from adapters.dlms.simulated_controls import MeterSettings, Relay
from adapters.dlms.simulated_events import MeterEventLogs
from adapters.dlms.simulated_faults import Fault, FaultScript
from adapters.dlms.simulated_firmware import ImageTransfer
from adapters.dlms.simulated_monitors import SupervisionMonitors
from adapters.dlms.simulated_registers import (
    EnergyRegisters,
    EnergyTotals,
    PhaseValues,
    base_totals,
    interval_totals,
    phase_values,
)
from adapters.dlms.simulated_security import MeterSecurity
from adapters.loadshapes import load_shape


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class SimulatedMeterConfig:
    """One simulated meter. `port=0` lets the OS pick a free port.

    `password` enables the management client (SAP 1) with low-level security; without it
    only the public client (SAP 16) can associate. `compact_profile` sends null timestamps
    for rows that follow their predecessor by one capture period, as many meters do.
    `range_access=False` makes the meter refuse selective access by range, like older
    meters that only know access by entry. `clock` is the meter's clock (UTC); tests and
    demos may pass a fixed or shifted one.

    `hls_keys` (the meter's system title and global keys) makes the management client
    (SAP 1) associate with HLS-GMAC and glo-ciphering instead; the meter then serves its
    invocation counter 0.0.43.1.0.255 to the public client. Its system title must be the
    meter's own: the HES keeps replay counters per title. `framing` is WRAPPER or HDLC
    on the TCP connection; `hdlc_max_info_length` is the largest information field the
    meter sends or receives per HDLC frame (longer APDUs are segmented).

    `clock_offset` makes the meter's clock run ahead (or behind, negative) of `clock`, as
    a drifted meter's does. `firmware_version` is the active firmware identifier
    (1.0.0.2.0.255); `image_block_size` and `verify_seconds` shape its image transfer.

    `master_key` is the key encrypting key (KEK) under which the HES wraps new global keys
    (security setup key_transfer, HLS meters only). `faults` are scripted power failures,
    voltage disturbances and tampering (`simulated_faults`). `yearly_export_kwh` gives the
    meter a PV export (active energy export, 2.8.0); without it only import is measured.
    """

    serial: str
    port: int = 0
    password: str | None = field(default=None, repr=False)
    load_shape: str = "h25"
    yearly_kwh: float = 3500.0
    capture_period_minutes: int = 15
    history_days: int = 7
    compact_profile: bool = False
    range_access: bool = True
    max_pdu_size: int = 1024
    clock: Callable[[], dt.datetime] = field(default=utc_now, repr=False, compare=False)
    hls_keys: HlsKeys | None = None
    framing: Literal["wrapper", "hdlc"] = "wrapper"
    hdlc_max_info_length: int = DEFAULT_MAX_INFO_LENGTH
    clock_offset: dt.timedelta = dt.timedelta(0)
    firmware_version: str = "SIM-1.0.0"
    image_block_size: int = 192
    verify_seconds: float = 0.2
    master_key: bytes | None = field(default=None, repr=False)
    faults: tuple[Fault, ...] = ()
    yearly_export_kwh: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.capture_period_minutes <= 60 or 60 % self.capture_period_minutes:
            # Periods that do not divide an hour would put interval ends off the hour grid.
            raise ValueError("capture_period_minutes must divide 60 (1, 2, 3, 5, ... 30, 60)")
        if self.history_days < 0:
            raise ValueError("history_days must not be negative")
        if not self.serial or not self.serial.isascii():
            raise ValueError("serial must be a non-empty ASCII string")
        if self.password == "":
            raise ValueError("password must be None (no management client) or non-empty")
        if not 64 <= self.max_pdu_size <= 0xFFFF:
            raise ValueError("max_pdu_size must be between 64 and 65535")
        if self.framing not in ("wrapper", "hdlc"):
            raise ValueError("framing must be 'wrapper' or 'hdlc'")
        if not 32 <= self.hdlc_max_info_length <= 2030:
            raise ValueError("hdlc_max_info_length must be between 32 and 2030")
        if self.image_block_size < 16:
            raise ValueError("image_block_size must be at least 16 octets")
        if self.master_key is not None and len(self.master_key) != 16:
            raise ValueError("master_key must be 16 octets (AES-128 key encrypting key)")
        if self.yearly_export_kwh < 0:
            raise ValueError("yearly_export_kwh must not be negative")


class ProfileRow(NamedTuple):
    """One captured load-profile entry as the meter stores it."""

    captured_at: dt.datetime  # end of the interval (capture time), UTC
    status: int  # AMR profile status, 0 = no event, POWER_DOWN: a power failure inside
    energy_raw: int  # interval active energy import in 0.1 Wh


# AMR profile status bit 7 (PDN): a power failure during the interval.
POWER_DOWN = 0x80


class SimulatedMeter:
    """A meter installed `history_days` before midnight of the day it was created.

    The meter clock is UTC. Entry 1 of the load profile is the first interval after
    installation; an interval joins the buffer when it closes, so entries keep their numbers
    while the buffer grows. When the capture period is changed, the entries captured so far
    keep theirs and later entries follow the new period (a new segment).
    """

    def __init__(self, config: SimulatedMeterConfig) -> None:
        self.config = config
        self._clock_adjustment = dt.timedelta(0)  # what a clock SET changed
        # The management client's LLS secret; the HES may change it (association attr 7).
        self.lls_password = config.password.encode() if config.password is not None else None
        self.capture_period = dt.timedelta(minutes=config.capture_period_minutes)
        self.consumption = self._consumption(self.capture_period)
        self.relay = Relay()
        self.settings = MeterSettings()
        self.firmware = ImageTransfer(
            config.firmware_version.encode("ascii"),
            # A block travels in one ACTION request (no pblock transfer): it must fit one
            # APDU with the request header and ciphering around it.
            block_size=max(16, min(config.image_block_size, config.max_pdu_size - 64)),
            verify_seconds=config.verify_seconds,
        )
        today = self.now().replace(hour=0, minute=0, second=0, microsecond=0)
        self.installed_at = today - dt.timedelta(days=config.history_days)
        self.security = (
            MeterSecurity(config.hls_keys, master_key=config.master_key)
            if config.hls_keys
            else None
        )
        self.faults = FaultScript(config.faults)
        self.events = MeterEventLogs(self.faults, lambda: self.relay)
        self.monitors = SupervisionMonitors()
        # Totals start from per-meter readings so that meters do not all read alike.
        self.registers = EnergyRegisters(
            base_totals(config.serial), self.installed_at, self._interval_totals
        )
        # (entries before the segment, time of its entry 0, period, consumption model)
        self._segments = [(0, self.installed_at, self.capture_period, self.consumption)]
        self._entries_seen = 0  # entries never go back, even when the clock is set back

    def _consumption(self, period: dt.timedelta) -> SimulatedConsumption:
        config = self.config
        return SimulatedConsumption(
            config.serial, load_shape(config.load_shape), config.yearly_kwh, period
        )

    def now(self) -> dt.datetime:
        moment = self.config.clock()
        if moment.tzinfo is None:
            raise ValueError("the meter clock must return aware datetimes")
        return moment.astimezone(dt.UTC) + self.config.clock_offset + self._clock_adjustment

    def set_clock(self, moment: dt.datetime) -> None:
        """The clock is set (a SET of 0.0.1.0.0.255 attribute 2, or a local adjustment);
        the standard event log keeps the time before and after."""
        before = self.now()
        self._clock_adjustment += moment.astimezone(dt.UTC) - before
        self.events.record(STANDARD, EventCode.CLOCK_ADJUSTED_OLD_TIME, before)
        self.events.record(STANDARD, EventCode.CLOCK_ADJUSTED_NEW_TIME, self.now())

    def set_capture_period(self, period: dt.timedelta) -> None:
        """Entries captured so far stay; the next entries close on the new period's grid
        (counted from midnight of the installation day), as a meter does."""
        seconds = int(period.total_seconds())
        if seconds <= 0 or 3600 % seconds or seconds % 60:
            raise ValueError("capture period must be whole minutes dividing an hour")
        in_use = self.entries_in_use()
        last = self.captured_at(in_use) if in_use else self.installed_at
        # The next interval starts at the last capture if that lies on the new grid (no
        # energy falls between two entries), else at the new grid point before now.
        on_grid = (last - self.installed_at) % period == dt.timedelta(0)
        now = self.now()
        grid_start = (
            last if on_grid else self.installed_at + ((now - self.installed_at) // period) * period
        )
        self.capture_period = period
        self.consumption = self._consumption(period)
        self._segments.append((in_use, grid_start, period, self.consumption))

    def _segment_of(self, entry: int) -> tuple[int, dt.datetime, dt.timedelta, Any]:
        found = self._segments[0]
        for segment in self._segments:
            if segment[0] < entry:
                found = segment
        return found

    def entries_in_use(self) -> int:
        first, start, period, _model = self._segments[-1]
        in_use = max(0, first + (self.now() - start) // period)
        self._entries_seen = max(self._entries_seen, in_use)
        return self._entries_seen

    def captured_at(self, entry: int) -> dt.datetime:
        first, start, period, _model = self._segment_of(entry)
        return start + (entry - first) * period

    def row(self, entry: int) -> ProfileRow:
        first, start, period, model = self._segment_of(entry)
        end = start + (entry - first) * period
        power_failed = self.faults.power_off_during(end - period, end)
        supplied = self.relay.supplied_throughout(end - period, end) and not power_failed
        status = POWER_DOWN if power_failed else 0
        return ProfileRow(end, status, model.interval_raw(end) if supplied else 0)

    def rows_by_entry(self, first: int, last: int) -> list[ProfileRow]:
        """Entries `first`..`last` (1-based, inclusive); `last` 0 means the newest."""
        in_use = self.entries_in_use()
        last = in_use if last == 0 else min(last, in_use)
        rows = [self.row(entry) for entry in range(max(first, 1), last + 1)]
        # Entries not captured (power off) or lost are not served; the registers (self.row
        # via _interval_totals) count their intervals as they were (nothing, or the energy).
        return [row for row in rows if not self.faults.entry_missing(row.captured_at)]

    def rows_in_range(self, start: dt.datetime, end: dt.datetime) -> list[ProfileRow]:
        """Entries captured from `start` to `end`, both inclusive (Blue Book range_descriptor)."""
        in_use = self.entries_in_use()
        return (
            [
                self.row(entry)
                for entry in range(1, in_use + 1)
                if start <= self.captured_at(entry) <= end
                and not self.faults.entry_missing(self.captured_at(entry))
            ]
            if len(self._segments) > 1
            else self._rows_in_range_one_period(start, end)
        )

    def _rows_in_range_one_period(self, start: dt.datetime, end: dt.datetime) -> list[ProfileRow]:
        first = -((self.installed_at - start) // self.capture_period)  # ceiling division
        last = (end - self.installed_at) // self.capture_period
        return self.rows_by_entry(max(first, 1), last) if last >= max(first, 1) else []

    def _interval_totals(self, entry: int) -> tuple[dt.datetime, EnergyTotals]:
        row = self.row(entry)
        _first, _start, period, _model = self._segment_of(entry)
        added = interval_totals(
            row.captured_at,
            period,
            row.energy_raw,
            yearly_export_kwh=self.config.yearly_export_kwh,
            supplied=row.status != POWER_DOWN
            and self.relay.supplied_throughout(row.captured_at - period, row.captured_at),
        )
        return row.captured_at, added

    def energy_totals(self) -> EnergyTotals:
        """The four energy totals now: base plus every closed interval."""
        return self.registers.after(self.entries_in_use())

    def energy_register_raw(self) -> int:
        """Active energy import total in 0.1 Wh: consistent with every closed interval."""
        return self.energy_totals().active_import

    def daily_snapshots(self) -> list[tuple[dt.datetime, EnergyTotals]]:
        """The totals at every midnight from installation to now (daily billing profile)."""
        in_use, now = self.entries_in_use(), self.now()
        snapshots = []
        midnight = self.installed_at
        while midnight <= now:
            totals = self.registers.at_midnight(midnight, in_use)
            if totals is not None:
                snapshots.append((midnight, totals))
            midnight += dt.timedelta(days=1)
        return snapshots

    def instantaneous(self) -> PhaseValues:
        """Voltages, currents and active powers per phase at this moment of the clock."""
        now = self.now()
        end = self._next_capture(now)
        average_w = (
            self.consumption.interval_raw(end)
            * 3600
            // (RAW_UNITS_PER_WH * int(self.capture_period.total_seconds()))
        )
        return phase_values(
            self.config.serial,
            now,
            average_w,
            load_connected=self.relay.supplied_at(now),
            faults=self.faults,
        )

    def _next_capture(self, moment: dt.datetime) -> dt.datetime:
        _first, start, period, _model = self._segments[-1]
        return start + ((moment - start) // period + 1) * period

    def last_interval_raw(self) -> int:
        in_use = self.entries_in_use()
        return self.row(in_use).energy_raw if in_use else 0
