"""Reading any profile generic (event logs, billing profiles) by range: its capture
objects tell the columns, each register column's scaler_unit its exact scaling, and the
buffer is decoded by `profile_buffer` (Decimals, compact timestamps rebuilt).

A meter that refuses access by range is read whole (selector 0) and filtered here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from gurux_dlms.objects import GXDLMSExtendedRegister, GXDLMSProfileGeneric, GXDLMSRegister

from adapters.dlms import obis
from adapters.dlms.errors import AttributeReadRefused, FrameError
from adapters.dlms.profile_buffer import BufferColumn, BufferRow, decode_buffer
from adapters.dlms.session import CosemSession

# COSEM unit enumeration (Blue Book 4.3.2) for the units meters report most.
UNITS = {27: "W", 28: "VA", 29: "var", 30: "Wh", 31: "VAh", 32: "varh", 33: "A", 35: "V"}


# Classes whose attribute 2 is scaled by their attribute 3 (register, extended register).
_REGISTERS: dict[int, Any] = {obis.CLASS_REGISTER: GXDLMSRegister, 4: GXDLMSExtendedRegister}


def unit_symbol(unit: int) -> str:
    return UNITS.get(unit, f"unit {unit}")


def scaler_and_unit(raw: Any) -> tuple[int, int]:
    try:
        scaler, unit = raw
        return int(scaler), int(unit)
    except (TypeError, ValueError):
        raise FrameError(f"scaler_unit is malformed: {raw!r}") from None


@dataclass(frozen=True)
class ProfileLayout:
    columns: tuple[BufferColumn, ...]
    units: dict[str, str]  # register columns: logical name -> unit symbol
    capture_period: dt.timedelta


async def read_profile(
    session: CosemSession, logical_name: str, start: dt.datetime, end: dt.datetime
) -> tuple[ProfileLayout, list[BufferRow]]:
    """Rows captured from `start` to `end` (inclusive, aware datetimes)."""
    profile = GXDLMSProfileGeneric(logical_name)
    capture_objects = await session.get(profile, 3)
    session.client_update(profile, 3, capture_objects)  # gurux builds the range from them
    layout = await _layout(session, capture_objects, int(await session.get(profile, 4) or 0))
    try:
        raw_rows = await session.get_rows_by_range(profile, start, end)
    except AttributeReadRefused:
        raw_rows = list(await session.get(profile, 2) or [])
    rows = decode_buffer(raw_rows, layout.columns, layout.capture_period)
    return layout, [row for row in rows if start <= row.timestamp <= end]


async def _layout(session: CosemSession, capture_objects: Any, period: int) -> ProfileLayout:
    columns: list[BufferColumn] = []
    units: dict[str, str] = {}
    try:
        described = [
            (int(class_id), logical_name_text(name), int(attribute))
            for class_id, name, attribute, _data_index in capture_objects
        ]
    except (TypeError, ValueError) as error:
        raise FrameError(f"capture objects are malformed ({error})") from None
    for class_id, name, attribute in described:
        if (class_id, attribute) == (obis.CLASS_CLOCK, 2):
            columns.append(BufferColumn(name, "clock"))
        elif class_id in _REGISTERS and attribute == 2:
            register = _REGISTERS[class_id](name)
            scaler, unit = scaler_and_unit(await session.get(register, 3))
            columns.append(BufferColumn(name, "register", scaler))
            units[name] = unit_symbol(unit)
        else:  # event codes, status words: plain integers
            columns.append(BufferColumn(name, "status"))
    return ProfileLayout(tuple(columns), units, dt.timedelta(seconds=period))


def logical_name_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    octets = bytes(raw)
    if len(octets) != 6:
        raise ValueError("a logical name has 6 octets")
    return ".".join(str(octet) for octet in octets)
