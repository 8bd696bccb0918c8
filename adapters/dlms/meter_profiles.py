"""The buffer (attribute 2) of a simulated meter's event logs and billing profile, built
on demand: rows of a capture time and encoded column values, with selective access by
range (selector 1, restricted by the clock column) and by entry (selector 2), as the
Blue Book defines them. The load profile has its own path (`meter_server`), tuned for
its size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from gurux_dlms.GXDateTime import GXDateTime
from gurux_dlms.internal._GXCommon import _GXCommon

from adapters.dlms.axdr import encode_length
from adapters.dlms.cosem_datetime import (
    COSEM_DATETIME_LENGTH,
    decode_cosem_datetime,
    encode_cosem_datetime,
)
from adapters.dlms.errors import FrameError
from adapters.dlms.get_service import AccessRefused, AttributeRequest, DataAccessResult
from adapters.dlms.typed_data import OctetString

SELECTOR_RANGE, SELECTOR_ENTRY = 1, 2
_ARRAY, _STRUCTURE = 1, 2

# (class id, logical name, attribute) of each captured object; the clock comes first.
Column = tuple[int, str, int]
# A captured entry: its capture time and the encoded values of the columns after the clock.
Row = tuple[dt.datetime, tuple[bytes, ...]]


def buffer(
    request: AttributeRequest,
    columns: Sequence[Column],
    rows: Sequence[Row],
    *,
    range_access: bool = True,
) -> bytes:
    """The encoded buffer for a GET of attribute 2 with or without selective access;
    without `range_access` (an older meter) only access by entry is offered."""
    selected = list(range(len(columns)))
    if request.selector == SELECTOR_RANGE and range_access:
        rows, selected = _by_range(request.parameters, columns, rows)
    elif request.selector == SELECTOR_ENTRY:
        rows, selected = _by_entry(request.parameters, len(columns), rows)
    elif request.selector != 0:
        raise AccessRefused(DataAccessResult.OTHER_REASON)
    out = bytearray((_ARRAY,)) + encode_length(len(rows))
    for captured_at, values in rows:
        cells = (OctetString(encode_cosem_datetime(captured_at)).encode(), *values)
        out += bytes((_STRUCTURE,)) + encode_length(len(selected))
        for index in selected:
            out += cells[index]
    return bytes(out)


def _by_range(
    parameters: Any, columns: Sequence[Column], rows: Sequence[Row]
) -> tuple[list[Row], list[int]]:
    try:
        restricting, start, end, wanted = parameters
        class_id, logical_name, attribute, _data_index = restricting
        if _key(class_id, logical_name, attribute) != columns[0]:
            raise AccessRefused(DataAccessResult.OTHER_REASON)  # only the clock sorts
        selected = [_column_index(item, columns) for item in wanted] or list(range(len(columns)))
        first, last = range_bound(start), range_bound(end)
    except (TypeError, ValueError, FrameError):
        raise AccessRefused(DataAccessResult.OTHER_REASON) from None
    return [row for row in rows if first <= row[0] <= last], selected


def _by_entry(parameters: Any, count: int, rows: Sequence[Row]) -> tuple[list[Row], list[int]]:
    try:
        first_entry, last_entry, first_column, last_column = (int(p) for p in parameters)
    except (TypeError, ValueError):
        raise AccessRefused(DataAccessResult.OTHER_REASON) from None
    last_entry = len(rows) if last_entry == 0 else min(last_entry, len(rows))
    last_column = count if last_column == 0 else min(last_column, count)
    selected = list(range(max(first_column, 1) - 1, last_column))
    if not selected:
        raise AccessRefused(DataAccessResult.OTHER_REASON)
    return list(rows[max(first_entry, 1) - 1 : last_entry]), selected


def _key(class_id: Any, logical_name: Any, attribute: Any) -> Column:
    return (int(class_id), _GXCommon.toLogicalName(logical_name), int(attribute))


def _column_index(capture_object: Any, columns: Sequence[Column]) -> int:
    class_id, logical_name, attribute, _data_index = capture_object
    key = _key(class_id, logical_name, attribute)
    if key not in columns:
        raise ValueError("not a capture object of this profile")
    return list(columns).index(key)


def range_bound(value: Any) -> dt.datetime:
    """A bound of a selective access by range, as the client sent it, in UTC."""
    if isinstance(value, GXDateTime):  # a client that sent the date-time type (0x19)
        moment = value.value
        if moment.tzinfo is None:
            raise ValueError("naive date-time in a range")
        return moment.astimezone(dt.UTC)
    if isinstance(value, bytes | bytearray) and len(value) == COSEM_DATETIME_LENGTH:
        decoded = decode_cosem_datetime(value)
        if decoded is not None:
            return decoded
    raise ValueError("range bound is not a COSEM date-time")
