"""The interval read model's rows as a bulk ingest's history reads them: one binary
``COPY`` parsed by numpy on PostgreSQL (every row of one interval length has the same
width, so no Python object is made per row), a plain select on SQLite."""

from __future__ import annotations

import io
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
    """Row index of the channel, day start, version, values, statuses, qualities of
    the channels' days starting in [first, stop) with intervals of ``step`` seconds."""
    record = _record(_DAY // step)
    with view.transaction(commit=False) as session:
        if view.dialect == "postgresql":
            return _copied_rows(session, channels, (first, stop, step), record)
        return _selected_rows(session, channels, (first, stop, step), record)


def usage_rows(
    view: IntervalView, channels: list[UUID], bounds: tuple[int, int, int]
) -> np.ndarray:
    """Row index of the channel, day start, version, whether complete (-1: not
    recorded), total and day id of the channels' days in [first, stop)."""
    with view.transaction(commit=False) as session:
        if view.dialect != "postgresql":
            return _selected_usage_rows(session, channels, bounds)
        cursor = session.connection().connection.cursor()
        query = cursor.mogrify(
            "SELECT c.n - 1, d.first_second, d.version, coalesce(d.day_complete, -1), "
            "coalesce(d.day_total, 'NaN'), d.day_id "
            "FROM unnest(%s::uuid[]) WITH ORDINALITY AS c(id, n) "
            "JOIN interval_days d ON d.channel_id = c.id "
            "WHERE d.first_second >= %s AND d.first_second < %s AND d.interval_seconds = %s",
            ([str(channel) for channel in channels], *bounds),
        ).decode()
        buffer = io.BytesIO()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    data = buffer.getbuffer()
    count = (len(data) - _COPY_HEADER - 2) // USAGE.itemsize
    return np.frombuffer(data, dtype=USAGE, offset=_COPY_HEADER, count=count)


def _selected_usage_rows(
    session: Any, channels: list[UUID], bounds: tuple[int, int, int]
) -> np.ndarray:
    table = INTERVAL_DAYS
    first, stop, step = bounds
    index = {channel: number for number, channel in enumerate(channels)}
    found = []
    for part in range(0, len(channels), 500):
        query = select(
            table.c.channel_id, table.c.first_second, table.c.version,
            table.c.day_complete, table.c.day_total, table.c.day_id,
        ).where(
            table.c.channel_id.in_(channels[part : part + 500]),
            table.c.first_second >= first,
            table.c.first_second < stop,
            table.c.interval_seconds == step,
        )  # fmt: skip
        found.extend(session.execute(query).all())
    rows = np.zeros(len(found), dtype=USAGE)
    for number, (channel, day_start_s, version, complete, total, day_id) in enumerate(found):
        rows[number]["row"], rows[number]["first"] = index[channel], day_start_s
        rows[number]["version"] = version
        rows[number]["complete"] = -1 if complete is None else complete
        rows[number]["total"] = np.nan if total is None else total
        rows[number]["day_id"] = day_id.bytes
    return rows


def _copied_rows(
    session: Any, channels: list[UUID], bounds: tuple[int, int, int], record: np.dtype
) -> np.ndarray:
    cursor = session.connection().connection.cursor()
    # The channel's position in the list comes from the join, so rows need no lookup.
    query = cursor.mogrify(
        "SELECT c.n - 1, d.first_second, d.version, d.slot_values, d.meter_statuses, "
        "d.qualities, d.day_id FROM unnest(%s::uuid[]) WITH ORDINALITY AS c(id, n) "
        "JOIN interval_days d ON d.channel_id = c.id "
        "WHERE d.first_second >= %s AND d.first_second < %s AND d.interval_seconds = %s",
        ([str(channel) for channel in channels], *bounds),
    ).decode()
    buffer = io.BytesIO()
    cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    data = buffer.getbuffer()
    count = (len(data) - _COPY_HEADER - 2) // record.itemsize
    return np.frombuffer(data, dtype=record, offset=_COPY_HEADER, count=count)


def _selected_rows(
    session: Any, channels: list[UUID], bounds: tuple[int, int, int], record: np.dtype
) -> np.ndarray:
    table = INTERVAL_DAYS
    first, stop, step = bounds
    index = {channel: number for number, channel in enumerate(channels)}
    found = []
    for part in range(0, len(channels), 500):
        query = select(
            table.c.channel_id,
            table.c.first_second,
            table.c.version,
            table.c.slot_values,
            table.c.meter_statuses,
            table.c.qualities,
            table.c.day_id,
        ).where(
            table.c.channel_id.in_(channels[part : part + 500]),
            table.c.first_second >= first,
            table.c.first_second < stop,
            table.c.interval_seconds == step,
        )
        found.extend(session.execute(query).all())
    rows = np.zeros(len(found), dtype=record)
    for number, (
        channel,
        first_second,
        version,
        values,
        statuses,
        qualities,
        day_id,
    ) in enumerate(found):
        rows[number]["row"], rows[number]["first"] = index[channel], first_second
        rows[number]["version"] = version
        rows[number]["values"] = np.frombuffer(values, dtype="<f8")
        rows[number]["statuses"] = np.frombuffer(statuses, dtype=np.uint8)
        rows[number]["qualities"] = np.frombuffer(qualities, dtype=np.uint8)
        rows[number]["day_id"] = day_id.bytes
    return rows


def day_id_of(packed: bytes) -> UUID:
    # numpy drops the trailing zero bytes of an "S16" item: put them back.
    return UUID(bytes=bytes(packed).ljust(16, b"\x00"))
