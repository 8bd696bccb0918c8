"""The interval read model's rows as a bulk ingest's history reads them: one binary
``COPY`` parsed by numpy on PostgreSQL (every row of one interval length has the same
width, so no Python object is made per row), a plain select on SQLite."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from uuid import UUID

import numpy as np
from sqlalchemy import select

from projections.interval_days import INTERVAL_DAYS
from projections.interval_view import IntervalView

_DAY = 86_400
_COPY_HEADER = 19  # signature, flags, header extension length


def _record(slots: int) -> np.dtype:
    """One row of the binary COPY below: big-endian lengths, the arrays as stored (LE)."""
    return np.dtype(
        [("fields", ">i2"), ("l1", ">i4"), ("row", ">i8"), ("l2", ">i4"), ("first", ">i8"),
         ("l3", ">i4"), ("version", ">i4"), ("l4", ">i4"), ("values", "<f8", (slots,)),
         ("l5", ">i4"), ("statuses", "u1", (slots,)), ("l6", ">i4"),
         ("qualities", "u1", (slots,)), ("l7", ">i4"), ("day_id", "S16")]
    )  # fmt: skip


USAGE = np.dtype(
    [("fields", ">i2"), ("l1", ">i4"), ("row", ">i8"), ("l2", ">i4"), ("first", ">i8"),
     ("l3", ">i4"), ("version", ">i4"), ("l4", ">i4"), ("complete", ">i4"), ("l5", ">i4"),
     ("total", ">f8"), ("l6", ">i4"), ("day_id", "S16")]
)  # fmt: skip


def slot_rows(
    view: IntervalView, channels: list[UUID], first: int, stop: int, step: int
) -> np.ndarray:
    """Row index of the channel, day start, version, values, statuses, qualities and day
    id of the channels' days starting in [first, stop) with intervals of ``step`` s."""
    return _rows(
        view, channels, (first, stop, step), _record(_DAY // step),
        "d.slot_values, d.meter_statuses, d.qualities, d.day_id",
        ("slot_values", "meter_statuses", "qualities", "day_id"), _slot_fields,
    )  # fmt: skip


def usage_rows(
    view: IntervalView, channels: list[UUID], bounds: tuple[int, int, int]
) -> np.ndarray:
    """Row index of the channel, day start, version, whether complete (-1: not
    recorded), total and day id of the channels' days in [first, stop)."""
    return _rows(
        view, channels, bounds, USAGE,
        "coalesce(d.day_complete, -1), coalesce(d.day_total, 'NaN'), d.day_id",
        ("day_complete", "day_total", "day_id"), _usage_fields,
    )  # fmt: skip


def _slot_fields(row: Any, values: bytes, statuses: bytes, qualities: bytes, day: UUID) -> None:
    row["values"] = np.frombuffer(values, dtype="<f8")
    row["statuses"] = np.frombuffer(statuses, dtype=np.uint8)
    row["qualities"] = np.frombuffer(qualities, dtype=np.uint8)
    row["day_id"] = day.bytes


def _usage_fields(row: Any, complete: int | None, total: float | None, day: UUID) -> None:
    row["complete"] = -1 if complete is None else complete
    row["total"] = np.nan if total is None else total
    row["day_id"] = day.bytes


def _rows(
    view: IntervalView,
    channels: list[UUID],
    bounds: tuple[int, int, int],
    record: np.dtype,
    copied_columns: str,
    selected_columns: tuple[str, ...],
    fill: Callable[..., None],
) -> np.ndarray:
    with view.transaction(commit=False) as session:
        if view.dialect == "postgresql":
            return _copied(session, channels, bounds, record, copied_columns)
        found = _selected(session, channels, bounds, selected_columns)
    index = {channel: number for number, channel in enumerate(channels)}
    rows = np.zeros(len(found), dtype=record)
    for number, (channel, first_second, version, *rest) in enumerate(found):
        row = rows[number]  # a view: its fields are written in place
        row["row"], row["first"], row["version"] = index[channel], first_second, version
        fill(row, *rest)
    return rows


def _copied(
    session: Any,
    channels: list[UUID],
    bounds: tuple[int, int, int],
    record: np.dtype,
    columns: str,
) -> np.ndarray:
    cursor = session.connection().connection.cursor()
    # The channel's position in the list comes from the join, so rows need no lookup.
    query = cursor.mogrify(
        f"SELECT c.n - 1, d.first_second, d.version, {columns} "
        "FROM unnest(%s::uuid[]) WITH ORDINALITY AS c(id, n) "
        "JOIN interval_days d ON d.channel_id = c.id "
        "WHERE d.first_second >= %s AND d.first_second < %s AND d.interval_seconds = %s",
        ([str(channel) for channel in channels], *bounds),
    ).decode()
    buffer = io.BytesIO()
    cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    data = buffer.getbuffer()
    count = (len(data) - _COPY_HEADER - 2) // record.itemsize
    return np.frombuffer(data, dtype=record, offset=_COPY_HEADER, count=count)


def _selected(
    session: Any, channels: list[UUID], bounds: tuple[int, int, int], columns: tuple[str, ...]
) -> list[Any]:
    table = INTERVAL_DAYS
    first, stop, step = bounds
    found = []
    for part in range(0, len(channels), 500):
        query = select(
            table.c.channel_id,
            table.c.first_second,
            table.c.version,
            *(table.c[name] for name in columns),
        ).where(
            table.c.channel_id.in_(channels[part : part + 500]),
            table.c.first_second >= first,
            table.c.first_second < stop,
            table.c.interval_seconds == step,
        )
        found.extend(session.execute(query).all())
    return found


def day_id_of(packed: bytes) -> UUID:
    # numpy drops the trailing zero bytes of an "S16" item: put them back.
    return UUID(bytes=bytes(packed).ljust(16, b"\x00"))
