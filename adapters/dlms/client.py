"""Reading meters from the HES: one association per call, on our own asyncio socket.

Every I/O (connect, each request/answer) is bounded by `timeout`. Passwords travel only in
memory, into the AARQ; they are never logged nor put into exceptions or reprs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSProfileGeneric, GXDLMSRegister

from adapters.dlms import obis
from adapters.dlms.cosem_datetime import decode_cosem_datetime
from adapters.dlms.errors import AttributeReadRefused, FrameError
from adapters.dlms.event_log_reads import MeterEvent, read_event_log
from adapters.dlms.event_logs import STANDARD
from adapters.dlms.frame_capture import FrameRecorder
from adapters.dlms.hls import HlsKeys
from adapters.dlms.invocation_counters import InvocationCounterStore
from adapters.dlms.profile import EnergyScale, ProfileColumns, ProfileRow, decode_rows
from adapters.dlms.register_reads import BillingSnapshot, read_daily_billing
from adapters.dlms.session import CosemSession, MeterEndpoint

__all__ = [
    "LoadProfileReading",
    "MeterEndpoint",
    "MeterIdentity",
    "ProfileRow",
    "read_load_profile",
    "read_meter_identity",
]


@dataclass(frozen=True)
class MeterIdentity:
    serial: str
    clock: dt.datetime  # the meter's clock when read, UTC


@dataclass(frozen=True)
class LoadProfileReading:
    """Intervals whose capture time lies in (start, end], i.e. intervals inside the
    requested window, in meter order."""

    serial: str
    capture_period: dt.timedelta
    rows: tuple[ProfileRow, ...]
    access: Literal["range", "entry"]  # how the meter was asked
    # With ``with_billing``: the daily billing snapshots captured in [start, end], and the
    # unit of each captured register (empty when the meter has no daily billing profile).
    billing: tuple[BillingSnapshot, ...] = ()
    billing_units: Mapping[str, str] = field(default_factory=dict)
    # With ``with_events``: the standard event log's entries in [start, end].
    events: tuple[MeterEvent, ...] = ()


async def read_meter_identity(
    endpoint: MeterEndpoint,
    password: str | None = None,
    timeout: float = 10.0,
    *,
    security: HlsKeys | None = None,
    counters: InvocationCounterStore | None = None,
    frame_recorder: FrameRecorder | None = None,
    meter_serial: str | None = None,
) -> MeterIdentity:
    async with CosemSession(
        endpoint,
        password=password,
        timeout=timeout,
        security=security,
        counters=counters,
        frame_recorder=frame_recorder,
        meter_serial=meter_serial,
    ) as session:
        serial = _serial(await session.get(GXDLMSData(obis.SERIAL_NUMBER), 2))
        clock = decode_cosem_datetime(await session.get(GXDLMSClock(obis.CLOCK), 2))
    if clock is None:
        raise FrameError(f"meter {endpoint}: clock read as null")
    return MeterIdentity(serial, clock)


async def read_load_profile(
    endpoint: MeterEndpoint,
    *,
    start: dt.datetime,
    end: dt.datetime,
    password: str | None = None,
    timeout: float = 10.0,
    security: HlsKeys | None = None,
    counters: InvocationCounterStore | None = None,
    frame_recorder: FrameRecorder | None = None,
    meter_serial: str | None = None,
    with_billing: bool = False,
    with_events: bool = False,
) -> LoadProfileReading:
    """The load profile 1.0.99.1.0.255 between `start` and `end` (aware datetimes).

    Reads by range; if the meter refuses range access, reads by entry instead. Rows are
    those with start < timestamp <= end, timestamps being interval ends. With `security`
    (the HES's HLS keys) the read runs in a glo-ciphered HLS-GMAC association; `counters`
    keeps the meters' invocation counters (a process-wide in-memory store by default);
    `frame_recorder` captures the session's raw frames under `meter_serial`.
    `with_billing` also reads, in the same session, the daily billing profile's
    snapshots in [start, end]: the registers at each midnight, which VEE's sum check and
    register estimation compare the intervals with. `with_events` also reads the standard
    event log of the window (power down and up: the outages VEE fills with nothing).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    async with CosemSession(
        endpoint,
        password=password,
        timeout=timeout,
        security=security,
        counters=counters,
        frame_recorder=frame_recorder,
        meter_serial=meter_serial,
    ) as session:
        serial = _serial(await session.get(GXDLMSData(obis.SERIAL_NUMBER), 2))
        profile = GXDLMSProfileGeneric(obis.LOAD_PROFILE)
        capture_objects = await session.get(profile, 3)
        columns = ProfileColumns.from_capture_objects(capture_objects)
        # gurux needs the capture objects on the profile to build selective access.
        session.client_update(profile, 3, capture_objects)
        capture_period = dt.timedelta(seconds=int(await session.get(profile, 4)))
        scale = EnergyScale.from_scaler_unit(
            await session.get(GXDLMSRegister(columns.energy_logical_name), 3)
        )
        try:
            raw_rows = await session.get_rows_by_range(profile, start, end)
            access: Literal["range", "entry"] = "range"
        except AttributeReadRefused:
            raw_rows = await _rows_by_entry(session, profile, columns, capture_period, start, end)
            access = "entry"
        rows = decode_rows(raw_rows, columns, scale, capture_period)
        billing: list[BillingSnapshot] = []
        units: dict[str, str] = {}
        # A meter without a daily billing profile refuses it: intervals go without registers.
        if with_billing:
            with contextlib.suppress(AttributeReadRefused):
                billing, units = await read_daily_billing(session, start, end)
        events: list[MeterEvent] = []
        if with_events:
            with contextlib.suppress(AttributeReadRefused):
                events = await read_event_log(session, STANDARD, start, end)
    window = tuple(row for row in rows if start < row.timestamp <= end)
    return LoadProfileReading(
        serial, capture_period, window, access, tuple(billing), units, tuple(events)
    )


async def _rows_by_entry(
    session: CosemSession,
    profile: GXDLMSProfileGeneric,
    columns: ProfileColumns,
    capture_period: dt.timedelta,
    start: dt.datetime,
    end: dt.datetime,
) -> list[object]:
    """Entries around the window, located from the newest entry's timestamp.

    Entry numbers are estimated as if the buffer had no gaps. A gap (power outage) only
    makes the estimate of the first entry too early, which reads extra rows that the caller
    filters out; the end is read on until a row at or past `end` (or the newest) is seen.
    """
    in_use = int(await session.get(profile, 7))
    if in_use == 0 or not capture_period:
        return []
    newest_raw = await session.get_rows_by_entry(profile, in_use, 1)
    if not newest_raw:
        return []
    newest = decode_cosem_datetime(newest_raw[-1][columns.clock])
    if newest is None:
        raise FrameError("newest load-profile entry has no timestamp")
    if newest <= start:
        return []
    first = max(1, in_use - (newest - start) // capture_period)
    last = in_use if end >= newest else max(first, in_use - (newest - end) // capture_period)
    rows = await session.get_rows_by_entry(profile, first, last - first + 1)
    while last < in_use and rows and _last_timestamp(rows, columns, capture_period) < end:
        more = min(in_use - last, max(1, (end - start) // capture_period))
        rows += await session.get_rows_by_entry(profile, last + 1, more)
        last += more
    return rows


def _last_timestamp(
    rows: list[object], columns: ProfileColumns, period: dt.timedelta
) -> dt.datetime:
    """Timestamp of the last row, counting forward over compact (null) timestamps."""
    for nulls, row in enumerate(reversed(rows)):
        stamp = decode_cosem_datetime(row[columns.clock])  # type: ignore[index]
        if stamp is not None:
            return stamp + nulls * period
    raise FrameError("no timestamp among load-profile rows")


def _serial(raw: object) -> str:
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, bytes | bytearray):
        try:
            return bytes(raw).decode("ascii").strip()
        except UnicodeDecodeError:
            return bytes(raw).hex()
    raise FrameError(f"serial number is neither an octet nor a visible string: {raw!r}")
