"""Reading a meter's event logs by range: each entry's capture time and event code, named
as IDIS names them (`event_logs`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from adapters.dlms.errors import FrameError
from adapters.dlms.event_logs import EventLog, event_name
from adapters.dlms.profile_reads import read_profile
from adapters.dlms.session import CosemSession


@dataclass(frozen=True)
class MeterEvent:
    log: str  # "standard", "fraud", "disconnector", "power_quality"
    at: dt.datetime  # meter time, UTC
    code: int
    name: str


async def read_event_log(
    session: CosemSession, log: EventLog, start: dt.datetime, end: dt.datetime
) -> list[MeterEvent]:
    """The events logged from `start` to `end` (inclusive), oldest first."""
    layout, rows = await read_profile(session, log.logical_name, start, end)
    names = [column.name for column in layout.columns if column.kind != "clock"]
    if log.event_code not in names:
        raise FrameError(f"event log {log.logical_name} does not capture {log.event_code}")
    position = names.index(log.event_code)
    events = []
    for row in rows:
        code = int(row.values[position])
        events.append(MeterEvent(log.name, row.timestamp, code, event_name(code)))
    return events
