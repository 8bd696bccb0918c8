"""Collection: read a meter's load profile and record it as interval blocks.

The meter is reached through a ``LoadProfileSource`` port (the DLMS client adapter);
secrets are revealed only in memory for the session. Values are scaled exactly
(Decimal) by the channel's multiplier in force on each interval's day, then stored.

The same session reads the active import total the meter's daily billing profile
captured at each midnight of the window. With a VEE workflow those snapshots go with
the intervals as register reads, so the sum check compares each day's intervals with
the register's advance, and gaps (a power failure leaves no entries) are estimated
knowing what the register says was used. The intervals and snapshots are then one
block from the first snapshot on, the meter's missing entries as missing slots.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import numpy as np

from application.readings import BlockOutcome, Readings
from application.registry import Registry
from application.vee_workflow import Delivery, DeliveryOutcome, VeeWorkflow
from domain.channel import Channel
from domain.provenance import Provenance
from domain.vee.series import PowerOutage, RegisterRead

COLLECTOR = Provenance(
    actor="hes-collector", reason="load profile read", reason_code="READ", source="device"
)


@dataclass(frozen=True)
class ProfileInterval:
    """One load-profile entry: the interval's end as captured, status bits, energy."""

    captured_at: datetime
    status: int
    energy_wh: Decimal


@dataclass(frozen=True)
class MeterAddress:
    host: str
    port: int
    security_profile: str
    password: str | None
    framing: str = "wrapper"
    block_cipher_key: bytes | None = None
    authentication_key: bytes | None = None
    serial: str | None = None  # the registry's serial: names the meter's raw frames

    def __repr__(self) -> str:  # never show the password or the keys
        return f"MeterAddress({self.host}:{self.port}, {self.framing}, {self.security_profile})"


@dataclass(frozen=True)
class RegisterSnapshot:
    """The active import total (1.0.1.8.0.255) as the daily billing profile captured it:
    the total after the interval ending at ``captured_at`` (a midnight)."""

    captured_at: datetime
    energy_wh: Decimal


@dataclass(frozen=True)
class ProfileRead:
    intervals: Sequence[ProfileInterval]
    snapshots: Sequence[RegisterSnapshot] = ()
    # Power down / power up pairs of the meter's event log in the window.
    outages: Sequence[PowerOutage] = ()


class LoadProfileSource(Protocol):
    async def read_profile(
        self, address: MeterAddress, start: datetime, end: datetime
    ) -> ProfileRead: ...


class DeliveryProcessor(Protocol):
    """What validates, estimates and stores one delivery: ``VeeWorkflow`` or
    ``DeliveryBatches``."""

    def process(self, delivery: Delivery, provenance: Provenance) -> DeliveryOutcome: ...


class Collection:
    def __init__(
        self,
        registry: Registry,
        readings: Readings,
        source: LoadProfileSource,
        workflow: VeeWorkflow | None = None,
        deliveries: DeliveryProcessor | None = None,
    ):
        self.registry = registry
        self.readings = readings
        self.source = source
        # With a workflow every delivery is validated and estimated before it is stored;
        # ``deliveries`` (DeliveryBatches) does it for many threads' deliveries at once.
        self.workflow = workflow
        self.deliveries: DeliveryProcessor | None = deliveries or workflow

    def close(self) -> None:
        close = getattr(self.deliveries, "close", None)
        if close is not None:
            close()

    async def collect_load_profile(
        self, serial: str, channel_key: str, start: datetime, end: datetime
    ) -> BlockOutcome:
        today = datetime.now(UTC).date()
        meter = self.registry.get("meter", serial).attributes_on(today)
        channel = self.registry.get("channel", channel_key)
        settings = channel.attributes_on(today)
        address = self.address_of(serial, meter, today)
        read = await self.source.read_profile(address, start, end)
        return await asyncio.to_thread(
            self.record_intervals,
            channel_key,
            read.intervals,
            COLLECTOR,
            channel,
            settings,
            read.snapshots,
            read.outages,
        )

    def record_intervals(
        self,
        channel_key: str,
        rows: Sequence[ProfileInterval],
        provenance: Provenance = COLLECTOR,
        channel: Channel | None = None,
        settings: dict[str, object] | None = None,
        snapshots: Sequence[RegisterSnapshot] = (),
        outages: Sequence[PowerOutage] = (),
    ) -> BlockOutcome:
        """Load-profile entries of the channel's meter (read, or pushed by the meter)
        recorded as interval blocks, split at gaps; repeating known entries records
        nothing. With register ``snapshots`` and a workflow: one block with the
        registers, from the first snapshot on (see the module's docstring)."""
        if channel is None or settings is None:
            channel = self.registry.get("channel", channel_key)
            settings = channel.attributes_on(datetime.now(UTC).date())
        minutes = int(str(settings["interval_minutes"]))
        step = timedelta(minutes=minutes)
        registers = _register_reads(channel, snapshots, step)
        if registers:
            # Kept whatever becomes of the intervals: billing and VEE read them later.
            self.readings.record_register_reads(Channel.id_for(channel_key), registers, provenance)
        if registers and rows and self.deliveries is not None:
            bracketed = self._bracketed(channel_key, channel, rows, registers, step)
            if bracketed is not None:
                delivery = dataclasses.replace(bracketed, outages=tuple(outages))
                return self.deliveries.process(delivery, provenance).stored
        outcome = BlockOutcome(intervals=0, recorded_days=0)
        for run in _contiguous_runs(rows, step):
            values = np.array([float(_scaled(row, channel, step)) for row in run], dtype=np.float64)
            statuses = np.array([row.status & 0xFF for row in run], dtype=np.uint8)
            # Load profiles stamp the end of each interval; channels index by its start.
            first_start = run[0].captured_at - step
            recorded = self._store(
                channel_key, minutes, first_start, values, statuses, provenance, outages
            )
            outcome = BlockOutcome(
                outcome.intervals + recorded.intervals,
                outcome.recorded_days + recorded.recorded_days,
            )
        return outcome

    def _bracketed(
        self,
        channel_key: str,
        channel: Channel,
        rows: Sequence[ProfileInterval],
        registers: Sequence[RegisterRead],
        step: timedelta,
    ) -> Delivery | None:
        """One delivery from the first snapshot (or entry) to the last entry (or
        snapshot), with the snapshots as register reads. Slots the meter gave no entry
        for are missing, unless a value was delivered for them before: what is known is
        never turned into missing by a read that lacks it. None when a snapshot is not
        on an interval boundary (the intervals are then recorded without registers)."""
        starts = [row.captured_at - step for row in rows]
        first = min(min(starts), registers[0].read_at)
        end = max(max(row.captured_at for row in rows), registers[-1].read_at)
        if any((read.read_at - first) % step for read in registers):
            return None
        count = (end - first) // step
        values = np.full(count, np.nan)
        statuses = np.zeros(count, dtype=np.uint8)
        delivered = np.zeros(count, dtype=bool)
        for row, start in sorted(zip(rows, starts, strict=True), key=lambda pair: pair[1]):
            slot = (start - first) // step
            if 0 <= slot < count and not delivered[slot]:  # a repeated entry: the first
                values[slot] = float(_scaled(row, channel, step))
                statuses[slot] = row.status & 0xFF
                delivered[slot] = True
        known = self.readings.series(
            Channel.id_for(channel_key), step // timedelta(minutes=1), first, end, raw=True
        )
        keep = ~delivered & ~np.isnan(known.values)
        values[keep] = known.values[keep]
        statuses[keep] = known.statuses[keep]
        return Delivery(channel_key, first, values, statuses, registers=tuple(registers))

    def address_of(self, serial: str, meter: dict[str, object], on: date) -> MeterAddress:
        """Where and how to reach the meter; its secrets are revealed for this session only."""
        profile = str(meter.get("security_profile") or "none")
        password = keys = None
        if profile == "lls":
            password = self.registry.meter_secret(serial, "lls_password", on)
        if profile == "hls-gmac":
            keys = [
                bytes.fromhex(self.registry.meter_secret(serial, name, on) or "")
                for name in ("block_cipher_key", "authentication_key")
            ]
        return MeterAddress(
            host=str(meter.get("comm_address") or "127.0.0.1"),
            port=int(str(meter.get("comm_port") or 4059)),
            security_profile=profile,
            password=password,
            framing="hdlc" if meter.get("protocol") == "dlms-hdlc-tcp" else "wrapper",
            block_cipher_key=keys[0] if keys else None,
            authentication_key=keys[1] if keys else None,
            serial=serial,
        )

    def _store(
        self,
        channel_key: str,
        interval_minutes: int,
        start: datetime,
        values: np.ndarray,
        statuses: np.ndarray,
        provenance: Provenance = COLLECTOR,
        outages: Sequence[PowerOutage] = (),
    ) -> BlockOutcome:
        if self.deliveries is not None:
            delivery = Delivery(channel_key, start, values, statuses, outages=tuple(outages))
            return self.deliveries.process(delivery, provenance).stored
        return self.readings.record_block(
            Channel.id_for(channel_key), interval_minutes, start, values, statuses, provenance
        )


def _register_reads(
    channel: Channel, snapshots: Sequence[RegisterSnapshot], step: timedelta
) -> list[RegisterRead]:
    """The snapshots as reads of the channel's ``total`` register, in its unit (kWh times
    the multiplier of the day whose last interval ends at the snapshot), oldest first."""
    return [
        RegisterRead(
            snapshot.captured_at,
            snapshot.energy_wh / Decimal(1000) * _multiplier(channel, snapshot.captured_at - step),
            "total",
        )
        for snapshot in sorted(snapshots, key=lambda s: s.captured_at)
    ]


def _scaled(row: ProfileInterval, channel: Channel, step: timedelta) -> Decimal:
    return row.energy_wh / Decimal(1000) * _multiplier(channel, row.captured_at - step)


def _multiplier(channel: Channel, interval_start: datetime) -> Decimal:
    """The channel's multiplier on the day of the interval starting at ``interval_start``."""
    return Decimal(channel.attributes_on(interval_start.date()).get("multiplier") or "1")


def _contiguous_runs(
    rows: Sequence[ProfileInterval], step: timedelta
) -> list[list[ProfileInterval]]:
    """Splits at gaps (a power failure leaves none of its intervals in the profile)."""
    runs: list[list[ProfileInterval]] = []
    for row in sorted(rows, key=lambda item: item.captured_at):
        if runs and row.captured_at - runs[-1][-1].captured_at == step:
            runs[-1].append(row)
        elif runs and row.captured_at == runs[-1][-1].captured_at:
            continue  # a repeated entry (clock set back) keeps the first reading
        else:
            runs.append([row])
    return runs
