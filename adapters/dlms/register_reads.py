"""Reading registers (energy totals, instantaneous values) and the daily billing profile
from a meter, exactly: each value is its integer times 10**scaler as a Decimal, never a
float (gurux would give 1517 x 0.001 = 1.5170000000000001).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gurux_dlms.objects import GXDLMSRegister

from adapters.dlms import obis
from adapters.dlms.errors import FrameError
from adapters.dlms.profile_reads import read_profile, scaler_and_unit, unit_symbol
from adapters.dlms.session import CosemSession

ENERGY_TOTALS = (
    obis.ACTIVE_ENERGY_IMPORT_TOTAL,
    obis.ACTIVE_ENERGY_EXPORT_TOTAL,
    obis.REACTIVE_ENERGY_IMPORT_TOTAL,
    obis.REACTIVE_ENERGY_EXPORT_TOTAL,
)
INSTANTANEOUS = (
    *obis.VOLTAGES,
    *obis.CURRENTS,
    *obis.ACTIVE_POWERS_IMPORT,
    obis.ACTIVE_POWER_IMPORT,
)


@dataclass(frozen=True)
class RegisterValue:
    logical_name: str
    value: Decimal
    unit: str  # "Wh", "varh", "V", "A", "W" ...


@dataclass(frozen=True)
class BillingSnapshot:
    """The registers a billing profile captured at one moment (midnight for daily)."""

    captured_at: dt.datetime
    values: dict[str, Decimal]  # logical name -> value


def exact(raw: Any, scaler: int) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise FrameError(f"register value is not an integer: {raw!r}")
    return Decimal(raw).scaleb(scaler)


async def read_registers(
    session: CosemSession, logical_names: Sequence[str]
) -> list[RegisterValue]:
    """Each register's scaler_unit (attribute 3), then its value (attribute 2)."""
    values = []
    for name in logical_names:
        register = GXDLMSRegister(name)
        scaler, unit = scaler_and_unit(await session.get(register, 3))
        values.append(
            RegisterValue(name, exact(await session.get(register, 2), scaler), unit_symbol(unit))
        )
    return values


async def read_daily_billing(
    session: CosemSession, start: dt.datetime, end: dt.datetime
) -> tuple[list[BillingSnapshot], dict[str, str]]:
    """The daily billing profile's snapshots from `start` to `end`, and each captured
    register's unit."""
    layout, rows = await read_profile(session, obis.DAILY_BILLING_PROFILE, start, end)
    names = [column.name for column in layout.columns if column.kind != "clock"]
    snapshots = [
        BillingSnapshot(
            row.timestamp,
            {
                name: value
                for name, value in zip(names, row.values, strict=True)
                if isinstance(value, Decimal)
            },
        )
        for row in rows
    ]
    return snapshots, layout.units
