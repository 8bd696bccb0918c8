"""Decoding a profile-generic buffer of any layout: one clock column, any status and
register columns, each register with its own scaler. Values are exact Decimals.

`profile` decodes the HES's own load profile (clock, status, interval energy); this is the
general form for profiles such as a real meter's (date-time, status, 1.8.0, 2.8.0). Null
timestamps (compact profiles) are rebuilt from the capture period (attribute 4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from adapters.dlms.cosem_datetime import decode_cosem_datetime
from adapters.dlms.errors import FrameError


@dataclass(frozen=True)
class BufferColumn:
    """`name` is the captured object's logical name; `scaler` applies to registers."""

    name: str
    kind: Literal["clock", "status", "register"]
    scaler: int = 0


class BufferRow(NamedTuple):
    timestamp: dt.datetime  # capture time, UTC
    values: tuple[int | Decimal, ...]  # the non-clock columns, in column order


def decode_buffer(
    raw_rows: Sequence[Any], columns: Sequence[BufferColumn], capture_period: dt.timedelta
) -> list[BufferRow]:
    clocks = [index for index, column in enumerate(columns) if column.kind == "clock"]
    if len(clocks) != 1:
        raise ValueError("a buffer layout has exactly one clock column")
    clock = clocks[0]
    rows: list[BufferRow] = []
    previous: dt.datetime | None = None
    for number, raw in enumerate(raw_rows, start=1):
        if not isinstance(raw, Sequence) or len(raw) != len(columns):
            raise FrameError(f"buffer row {number} does not have {len(columns)} columns")
        timestamp = decode_cosem_datetime(raw[clock])
        if timestamp is None:
            if previous is None or not capture_period:
                raise FrameError(f"buffer row {number}: null timestamp with nothing to count from")
            timestamp = previous + capture_period
        values = tuple(
            _value(raw[index], column, number)
            for index, column in enumerate(columns)
            if index != clock
        )
        rows.append(BufferRow(timestamp, values))
        previous = timestamp
    return rows


def _value(raw: Any, column: BufferColumn, number: int) -> int | Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise FrameError(f"buffer row {number}: {column.name} is not an integer: {raw!r}")
    if column.kind == "status":
        return raw
    return Decimal(raw).scaleb(column.scaler)
