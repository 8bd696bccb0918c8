"""The read commands `read_registers` and `read_events`, and `set_thresholds`, each in one
management association (the session is the caller's).

Values are exact Decimals written as text, times ISO 8601 in UTC. The HES has no
aggregate for register reads or meter events yet: what a read returns is recorded as the
DeviceCommand's outcome (its Confirmed event), or, for a scheduled `read_meter` task, as
the task's result (its Succeeded event).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from gurux_dlms.objects import GXDLMSClock

from adapters.dlms import obis
from adapters.dlms.cosem_datetime import decode_cosem_datetime
from adapters.dlms.event_log_reads import read_event_log
from adapters.dlms.event_logs import EVENT_LOGS
from adapters.dlms.register_reads import (
    ENERGY_TOTALS,
    INSTANTANEOUS,
    RegisterValue,
    read_daily_billing,
    read_registers,
)
from adapters.dlms.session import CosemSession
from adapters.dlms.threshold_settings import ThresholdNotRepresentable, set_thresholds
from application.head_end import CommandRefused


def _registers(values: list[RegisterValue]) -> list[dict[str, str]]:
    return [
        {"logical_name": value.logical_name, "value": str(value.value), "unit": value.unit}
        for value in values
    ]


async def registers(
    session: CosemSession, parameters: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """Energy totals and instantaneous values now; with `billing_days`, the daily billing
    snapshots of that many past midnights and today's."""
    raw_clock = await session.get(GXDLMSClock(obis.CLOCK), 2)
    meter_time = decode_cosem_datetime(raw_clock)
    result: dict[str, Any] = {
        "meter_time": meter_time.isoformat() if meter_time else None,
        "registers": _registers(await read_registers(session, ENERGY_TOTALS)),
        "instantaneous": _registers(await read_registers(session, INSTANTANEOUS)),
    }
    days = int(parameters.get("billing_days", 0))
    if days:
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        snapshots, units = await read_daily_billing(session, midnight - timedelta(days=days), now)
        result["daily_billing"] = [
            {
                "captured_at": snapshot.captured_at.isoformat(),
                "values": {name: str(value) for name, value in snapshot.values.items()},
            }
            for snapshot in snapshots
        ]
        result["daily_billing_units"] = units
    return result


async def events(
    session: CosemSession, parameters: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The events of the named logs (all four by default) from `start` to `end`, or in
    the last `days` (1 by default)."""
    end = datetime.fromisoformat(parameters["end"]) if "end" in parameters else now
    start = (
        datetime.fromisoformat(parameters["start"])
        if "start" in parameters
        else end - timedelta(days=int(parameters.get("days", 1)))
    )
    found = []
    for name in parameters.get("logs") or list(EVENT_LOGS):
        found += await read_event_log(session, EVENT_LOGS[name], start, end)
    found.sort(key=lambda event: event.at)
    return {
        "from": start.astimezone(UTC).isoformat(),
        "to": end.astimezone(UTC).isoformat(),
        "events": [
            {"log": event.log, "at": event.at.isoformat(), "code": event.code, "name": event.name}
            for event in found
        ],
    }


async def thresholds(session: CosemSession, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Writes each monitor's thresholds and checks that the meter holds exactly them."""
    monitors = []
    for item in parameters["thresholds"]:
        wanted = tuple(Decimal(value) for value in item["values"])
        try:
            outcome = await set_thresholds(session, item["monitor"], wanted)
        except ThresholdNotRepresentable as error:
            raise CommandRefused(f"monitor {item['monitor']}: {error}") from None
        if outcome.thresholds != wanted:
            held = ", ".join(map(str, outcome.thresholds))
            raise CommandRefused(f"monitor {item['monitor']} holds {held} after the SET")
        monitors.append(
            {
                "monitor": outcome.monitor,
                "monitored": outcome.monitored,
                "unit": outcome.unit,
                "thresholds": [str(value) for value in outcome.thresholds],
            }
        )
    return {"monitors": monitors}
