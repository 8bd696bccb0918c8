"""The DLMS client behind the collection use case's ``LoadProfileSource`` port."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from adapters.dlms import obis
from adapters.dlms.client import MeterEndpoint, read_load_profile
from adapters.dlms.event_log_reads import MeterEvent
from adapters.dlms.event_logs import EventCode
from adapters.dlms.frame_capture import FrameRecorder
from adapters.dlms.hls import HlsKeys
from adapters.dlms.invocation_counters import InMemoryInvocationCounters, InvocationCounterStore
from adapters.dlms.register_reads import BillingSnapshot
from adapters.dlms.session_gate import SessionGate
from application.collection import MeterAddress, ProfileInterval, ProfileRead, RegisterSnapshot
from domain.vee.series import PowerOutage

# The HES's own system title in ciphered sessions (8 octets: 3 manufacturer letters and
# a serial); HES_SYSTEM_TITLE overrides it so that several HES hosts have their own.
DEFAULT_HES_SYSTEM_TITLE = bytes.fromhex("4845530000000001")  # "HES" + 1


class DlmsLoadProfileSource:
    def __init__(
        self,
        timeout: float = 10.0,
        system_title: bytes | None = None,
        counters: InvocationCounterStore | None = None,
        frame_recorder: FrameRecorder | None = None,
        gate: SessionGate | None = None,
    ) -> None:
        self.timeout = timeout
        # Session limits, deadline and communication log (adapters.dlms.session_gate).
        self.gate = gate or SessionGate()
        # Raw frames of every session are kept when a recorder is given (adapters.raw_frames).
        self.frame_recorder = frame_recorder
        configured = os.environ.get("HES_SYSTEM_TITLE")
        self.system_title = system_title or (
            bytes.fromhex(configured) if configured else DEFAULT_HES_SYSTEM_TITLE
        )
        # Last accepted invocation counters per meter title: a replayed answer is refused.
        self.counters = counters or InMemoryInvocationCounters()

    async def read_profile(
        self, address: MeterAddress, start: datetime, end: datetime
    ) -> ProfileRead:
        """The intervals in (start, end] and the active import total at each midnight in
        [start, end] (from the daily billing profile, when the meter has one)."""
        return await self._read(address, start, end, with_context=True)

    async def read_load_profile(
        self, address: MeterAddress, start: datetime, end: datetime
    ) -> Sequence[ProfileInterval]:
        """The intervals alone (one profile read, no billing snapshots)."""
        return (await self._read(address, start, end, with_context=False)).intervals

    async def _read(
        self, address: MeterAddress, start: datetime, end: datetime, *, with_context: bool
    ) -> ProfileRead:
        security = None
        if address.security_profile == "hls-gmac":
            if not (address.block_cipher_key and address.authentication_key):
                raise ValueError("an HLS-GMAC meter needs its block cipher and authentication keys")
            security = HlsKeys(
                self.system_title, address.block_cipher_key, address.authentication_key
            )
        serial = address.serial or f"{address.host}:{address.port}"
        async with self.gate.attempt(serial, "read_profile") as attempt:
            reading = await read_load_profile(
                MeterEndpoint(
                    address.host,
                    address.port,
                    framing="hdlc" if address.framing == "hdlc" else "wrapper",
                ),
                start=start,
                end=end,
                password=address.password,
                timeout=self.timeout,
                security=security,
                counters=self.counters,
                frame_recorder=attempt.frame_recorder(self.frame_recorder),
                meter_serial=address.serial,
                with_billing=with_context,
                with_events=with_context,
            )
        intervals = [
            ProfileInterval(row.timestamp, row.status, row.energy_wh) for row in reading.rows
        ]
        return ProfileRead(
            intervals,
            _active_import_totals(reading.billing, reading.billing_units),
            _outages(reading.events, start),
        )


def _outages(events: Sequence[MeterEvent], start: datetime) -> list[PowerOutage]:
    """Power down / power up pairs, in time order. A power up without its power down in
    the window began before it; a power down without a power up lasts still."""
    outages: list[PowerOutage] = []
    down: datetime | None = None
    for event in sorted(events, key=lambda event: event.at):
        if event.code == EventCode.POWER_DOWN and down is None:
            down = event.at
        elif event.code == EventCode.POWER_UP:
            outages.append(PowerOutage(start if down is None else down, event.at))
            down = None
    if down is not None:
        outages.append(PowerOutage(down, None))
    return outages


def _active_import_totals(
    snapshots: Sequence[BillingSnapshot], units: Mapping[str, str]
) -> list[RegisterSnapshot]:
    """The active import total of each snapshot in Wh (a meter may keep it in kWh)."""
    total = obis.ACTIVE_ENERGY_IMPORT_TOTAL
    factor = {"Wh": Decimal(1), "kWh": Decimal(1000)}.get(units.get(total, ""))
    if factor is None:
        return []  # not captured, or in a unit we cannot compare with the intervals
    return [
        RegisterSnapshot(snapshot.captured_at, snapshot.values[total] * factor)
        for snapshot in snapshots
        if total in snapshot.values
    ]
