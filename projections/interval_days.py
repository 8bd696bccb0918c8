"""The interval read model's table: one row per channel day, its slots as arrays.

A row mirrors a ``ChannelDay`` aggregate at its latest version: values, raw values, meter
status bits, qualities and billed marks of every slot, as raw little-endian bytes, and
``written``: the slots a block or a revision has written (those ``IntervalView.intervals``
answers, a delivered slot without a value included). A delivery writes one row, not one
per interval, and a 28-day history is 28 rows a channel.

``interval_days`` replaced the former ``interval_values`` (one row per interval): a new
table with its own tracking table (``interval_days_tracking``), so on a store that has
the old tables the new projection starts from position 0 and rebuilds from the event
store; the old tables are left as they were (nothing reads them) and may be dropped.

Writes are per runner batch: on PostgreSQL a binary ``COPY`` into a temporary table and
one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``; on SQLite one executemany of the
upsert. A row never goes back to an older version.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import numpy as np
from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    event,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session
from sqlalchemy.schema import DDL

from domain.channel_day import ChannelDay, day_start
from domain.reading_quality import ReadingQuality

_MISSING = int(ReadingQuality.MISSING)

_metadata = MetaData()

INTERVAL_DAYS = Table(
    "interval_days",
    _metadata,
    Column("day_id", Uuid(), primary_key=True),
    Column("channel_id", Uuid(), nullable=False),
    Column("first_second", BigInteger(), nullable=False),  # the UTC day's start, epoch s
    Column("interval_seconds", Integer(), nullable=False),
    Column("version", Integer(), nullable=False),  # the ChannelDay's version
    # The version of its last delivery or revision (``EstimatesBilled`` changes no value).
    Column("data_version", Integer(), nullable=False),
    Column("written_count", Integer(), nullable=False),
    Column("first_written", Integer()),  # slot index; NULL when nothing is written
    Column("last_written", Integer()),
    Column("slot_values", LargeBinary(), nullable=False),  # float64, NaN: no value
    Column("raw_values", LargeBinary(), nullable=False),  # float64, as last delivered
    Column("meter_statuses", LargeBinary(), nullable=False),  # uint8
    Column("qualities", LargeBinary(), nullable=False),  # uint8, ReadingQuality
    Column("billed", LargeBinary(), nullable=False),  # uint8, 0 or 1
    Column("written", LargeBinary(), nullable=False),  # uint8, 0 or 1
    # The values as JSON numbers, comma-separated ("null": none), rendered once here so
    # that a query formats no float (up to a microsecond each); raw values likewise, or
    # "" when they are the values bit for bit (the usual case).
    Column("value_texts", Text(), nullable=False),
    Column("raw_texts", Text(), nullable=False),
    # Whether every slot has a value (1) or not (0), and then the day's usage: what the
    # historical-usage check of later days needs, without reading their slots. NULL in
    # rows written before the columns were added (docs/ARCHITECTURE.md, "Read models").
    # Last: where ALTER TABLE puts them on an upgraded table, so the order is the same.
    Column("day_complete", Integer()),
    Column("day_total", Double()),
    Index("interval_days_channel_idx", "channel_id", "first_second"),
)
# A row of 96 slots is about 3.7 KB: keep it in the table page, uncompressed, instead of
# TOAST (PostgreSQL compresses and moves rows over ~2 KB out of line by default: a second
# lookup on every read, and pglz on every write, 5x the cost of a batch's COPY).
_ARRAY_COLUMNS = (
    "slot_values", "raw_values", "meter_statuses", "qualities", "billed", "written",
    "value_texts", "raw_texts",
)  # fmt: skip
event.listen(
    INTERVAL_DAYS,
    "after_create",
    DDL(
        "ALTER TABLE interval_days SET (toast_tuple_target = 8160), "
        + ", ".join(f"ALTER COLUMN {name} SET STORAGE EXTERNAL" for name in _ARRAY_COLUMNS)
    ).execute_if(dialect="postgresql"),
)

_COLUMNS = [column.name for column in INTERVAL_DAYS.columns]
_REVISED = _COLUMNS[4:]  # everything after the day's identity
_STAGING = "interval_days_incoming"


@dataclass
class DayBlock:
    """One channel day as the read model holds it (arrays are read-only when loaded)."""

    day_id: UUID
    channel_id: UUID
    first_second: int
    interval_seconds: int
    version: int
    data_version: int
    values: np.ndarray
    raw: np.ndarray
    statuses: np.ndarray
    qualities: np.ndarray
    billed: np.ndarray  # bool
    written: np.ndarray  # bool
    value_texts: str | None = None  # as stored; rendered from the arrays when None
    raw_texts: str | None = None

    def number_texts(self) -> tuple[np.ndarray, np.ndarray]:
        """Every slot's value and raw value as JSON numbers (object arrays of str)."""
        if self.value_texts is None or self.raw_texts is None:
            self.value_texts, self.raw_texts = render_numbers(self.values, self.raw)
        values = np.array(self.value_texts.split(","), dtype=object)
        raw = np.array(self.raw_texts.split(","), dtype=object) if self.raw_texts else values
        return values, raw

    @classmethod
    def of(
        cls,
        channel_day: ChannelDay,
        *,
        day_id: UUID | None = None,
        version: int | None = None,
        data_version: int = 0,
        written: np.ndarray | None = None,
    ) -> DayBlock:
        """The aggregate's state (id and version from it unless given). The aggregate
        does not know ``data_version`` (0 unless given) nor which slots were written
        (default: those with a quality other than missing, which leaves out delivered
        slots without a value); the projection gives both."""
        if written is None:
            written = channel_day.qualities != ReadingQuality.MISSING
        return cls(
            day_id=channel_day.id if day_id is None else day_id,
            channel_id=channel_day.channel_id,
            first_second=int(day_start(date.fromisoformat(channel_day.day)).timestamp()),
            interval_seconds=channel_day.interval_minutes * 60,
            version=channel_day.version if version is None else version,
            data_version=data_version,
            values=channel_day.values,
            raw=channel_day.raw,
            statuses=channel_day.statuses,
            qualities=channel_day.qualities,
            billed=channel_day.billed,
            written=written,
        )

    @classmethod
    def from_row(cls, row: Any) -> DayBlock:
        return cls(
            day_id=row.day_id,
            channel_id=row.channel_id,
            first_second=int(row.first_second),
            interval_seconds=int(row.interval_seconds),
            version=int(row.version),
            data_version=int(row.data_version),
            values=np.frombuffer(row.slot_values, dtype="<f8"),
            raw=np.frombuffer(row.raw_values, dtype="<f8"),
            statuses=np.frombuffer(row.meter_statuses, dtype=np.uint8),
            qualities=np.frombuffer(row.qualities, dtype=np.uint8),
            billed=np.frombuffer(row.billed, dtype=np.bool_),  # stored as bytes 0 and 1
            written=np.frombuffer(row.written, dtype=np.bool_),
            value_texts=row.value_texts,
            raw_texts=row.raw_texts,
        )

    def as_row(self) -> dict[str, Any]:
        slots = np.flatnonzero(self.written)
        if self.value_texts is None or self.raw_texts is None:
            self.value_texts, self.raw_texts = render_numbers(self.values, self.raw)
        return {
            "day_id": self.day_id,
            "channel_id": self.channel_id,
            "first_second": self.first_second,
            "interval_seconds": self.interval_seconds,
            "version": self.version,
            "data_version": self.data_version,
            "written_count": len(slots),
            "first_written": int(slots[0]) if len(slots) else None,
            "last_written": int(slots[-1]) if len(slots) else None,
            "slot_values": self.values.astype("<f8").tobytes(),
            "raw_values": self.raw.astype("<f8").tobytes(),
            "meter_statuses": self.statuses.astype(np.uint8).tobytes(),
            "qualities": self.qualities.astype(np.uint8).tobytes(),
            "billed": self.billed.astype(np.uint8).tobytes(),
            "written": self.written.astype(np.uint8).tobytes(),
            "value_texts": self.value_texts,
            "raw_texts": self.raw_texts,
            **day_usage(self.values, self.qualities),
        }


def day_usage(values: np.ndarray, qualities: np.ndarray) -> dict[str, Any]:
    """Whether the day is complete (what the historical-usage rule counts: no NaN, no
    MISSING quality) and, if so, its total."""
    if (np.isnan(values) | (qualities == _MISSING)).any():
        return {"day_complete": 0, "day_total": None}
    return {"day_complete": 1, "day_total": float(np.sum(values))}


def add_day_usage(session: Session, dialect: str) -> None:
    """Adds the day-usage columns to a table made before them (rows keep NULL: unknown)."""
    columns = {row[1] for row in session.execute(text("PRAGMA table_info(interval_days)"))} if (
        dialect == "sqlite"
    ) else {
        row[0]
        for row in session.execute(
            text("SELECT column_name FROM information_schema.columns"
                 " WHERE table_name = 'interval_days' AND table_schema = current_schema()")
        )
    }  # fmt: skip
    if columns and "day_complete" not in columns:
        real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
        session.execute(text("ALTER TABLE interval_days ADD COLUMN day_complete INTEGER"))
        session.execute(text(f"ALTER TABLE interval_days ADD COLUMN day_total {real}"))


def render_numbers(values: np.ndarray, raw: np.ndarray) -> tuple[str, str]:
    """The values and the raw values as comma-separated JSON numbers (what ``json.dumps``
    writes; "null" where there is none); raw values as "" when they are the values."""
    texts = list(map(float.__repr__, values.tolist()))
    for index in np.flatnonzero(~np.isfinite(values)).tolist():
        texts[index] = "null"
    # Bit for bit: 0.0 == -0.0, but their texts differ.
    differs = np.asarray(raw, "<f8").view(np.int64) != np.asarray(values, "<f8").view(np.int64)
    if not differs.any():
        return ",".join(texts), ""
    raw_texts = list(texts)
    for index in np.flatnonzero(differs).tolist():
        value = float(raw[index])
        raw_texts[index] = repr(value) if np.isfinite(value) else "null"
    return ",".join(texts), ",".join(raw_texts)


def write_rows(session: Session, dialect: str, blocks: Sequence[DayBlock]) -> None:
    """Upserts the blocks (at most one per day) in one round of statements."""
    if not blocks:
        return
    rows = [block.as_row() for block in blocks]
    if dialect == "postgresql":
        _copy_and_upsert(session, rows)
        return
    statement = sqlite.insert(INTERVAL_DAYS)
    upsert = statement.on_conflict_do_update(
        index_elements=["day_id"],
        set_={name: statement.excluded[name] for name in _REVISED},
        where=INTERVAL_DAYS.c.version <= statement.excluded.version,
    )
    session.execute(upsert, rows)


def _copy_and_upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(
        text(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (LIKE interval_days INCLUDING STORAGE)"
            " WITH (toast_tuple_target = 8160) ON COMMIT DELETE ROWS"
        )
    )
    cursor = session.connection().connection.cursor()
    cursor.copy_expert(f"COPY {_STAGING} FROM STDIN WITH (FORMAT binary)", _binary_copy(rows))
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in _REVISED)
    session.execute(
        text(
            f"INSERT INTO interval_days SELECT * FROM {_STAGING} "
            f"ON CONFLICT (day_id) DO UPDATE SET {updates} "
            "WHERE interval_days.version <= EXCLUDED.version"
        )
    )
    session.execute(text(f"TRUNCATE {_STAGING}"))


def _binary_copy(rows: list[dict[str, Any]]) -> io.BytesIO:
    """PostgreSQL's binary COPY format, in the table's column order."""
    out = io.BytesIO()
    out.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0))
    fixed = struct.Struct(">hi16si16siqiiiiii")
    for row in rows:
        out.write(
            fixed.pack(
                len(_COLUMNS),
                16,
                row["day_id"].bytes,
                16,
                row["channel_id"].bytes,
                8,
                row["first_second"],
                4,
                row["interval_seconds"],
                4,
                row["version"],
                4,
                row["data_version"],
            )
        )
        out.write(struct.pack(">ii", 4, row["written_count"]))
        for name in ("first_written", "last_written"):
            value = row[name]
            out.write(struct.pack(">i", -1) if value is None else struct.pack(">ii", 4, value))
        for name in _COLUMNS[9:-2]:
            data = row[name]
            if isinstance(data, str):
                data = data.encode()
            out.write(struct.pack(">i", len(data)))
            out.write(data)
        out.write(struct.pack(">ii", 4, row["day_complete"]))
        total = row["day_total"]
        out.write(struct.pack(">i", -1) if total is None else struct.pack(">id", 8, total))
    out.write(struct.pack(">h", -1))
    out.seek(0)
    return out
