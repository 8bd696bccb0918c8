"""The table `dlms_raw_frames`: one row per frame, created on first use.

Times are microseconds since the epoch (UTC), as in the other plain tables, so that
ranges compare alike on SQLite and PostgreSQL. Rows are written in batches (one
transaction per batch) and deleted by age in bounded batches, so that a purge never
holds a long lock on a busy table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    select,
)
from sqlalchemy.engine import Engine

from adapters.dlms.frame_capture import CapturedFrame
from adapters.persistence.recorder import to_microseconds
from projections.runner import from_microseconds

metadata = MetaData()
raw_frames = Table(
    "dlms_raw_frames",
    metadata,
    # SQLite assigns ids only to an INTEGER PRIMARY KEY.
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("at_us", BigInteger(), nullable=False, index=True),
    Column("meter_serial", String(64)),  # None: a push from an unknown sender
    Column("peer", String(128), nullable=False),
    Column("session_id", String(32)),
    Column("direction", String(8), nullable=False),  # sent / received, from the HES
    Column("framing", String(8), nullable=False),  # wrapper / hdlc
    Column("transport", String(4), nullable=False),  # tcp / udp
    Column("kind", String(8), nullable=False),  # session / push
    Column("redacted", Boolean(), nullable=False),
    Column("note", String(200)),  # pushes: accepted, or why refused
    Column("frame", LargeBinary(), nullable=False),
    Index("ix_dlms_raw_frames_meter_at", "meter_serial", "at_us"),
)
PURGE_BATCH = 10_000


@dataclass(frozen=True)
class StoredFrame:
    id: int
    at: dt.datetime
    meter_serial: str | None
    peer: str
    session_id: str | None
    direction: str
    framing: str
    transport: str
    kind: str
    redacted: bool
    note: str | None
    frame: bytes = field(repr=False)


class RawFrameStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        metadata.create_all(engine, checkfirst=True)

    def append(self, frames: Sequence[CapturedFrame]) -> None:
        """Stores `frames` in one transaction."""
        if not frames:
            return
        rows = [
            {
                "at_us": to_microseconds(frame.at),
                "meter_serial": frame.meter_serial,
                "peer": frame.peer[:128],
                "session_id": frame.session_id,
                "direction": frame.direction,
                "framing": frame.framing,
                "transport": frame.transport,
                "kind": frame.kind,
                "redacted": frame.redacted,
                "note": frame.note[:200] if frame.note else None,
                "frame": frame.data,
            }
            for frame in frames
        ]
        with self._engine.begin() as connection:
            connection.execute(raw_frames.insert(), rows)

    def of_meter(
        self, serial: str, *, since: dt.datetime | None = None, limit: int = 100
    ) -> list[StoredFrame]:
        """Frames of one meter, oldest first: the first `limit` at or after `since`, or
        without `since` the newest `limit`."""
        query = select(raw_frames).where(raw_frames.c.meter_serial == serial)
        if since is not None:
            query = query.where(raw_frames.c.at_us >= to_microseconds(since))
            query = query.order_by(raw_frames.c.at_us, raw_frames.c.id).limit(limit)
            with self._engine.connect() as connection:
                return [_stored(row) for row in connection.execute(query).mappings()]
        query = query.order_by(raw_frames.c.at_us.desc(), raw_frames.c.id.desc()).limit(limit)
        with self._engine.connect() as connection:
            newest = [_stored(row) for row in connection.execute(query).mappings()]
        return newest[::-1]

    def count(self) -> int:
        with self._engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(raw_frames)).scalar_one()
            )

    def purge(self, before: dt.datetime) -> int:
        """Deletes every frame captured before `before`; returns how many."""
        cutoff = to_microseconds(before)
        purged = 0
        while True:
            oldest = (
                select(raw_frames.c.id)
                .where(raw_frames.c.at_us < cutoff)
                .order_by(raw_frames.c.at_us)
                .limit(PURGE_BATCH)
            )
            with self._engine.begin() as connection:
                ids = list(connection.execute(oldest).scalars())
                if ids:
                    connection.execute(delete(raw_frames).where(raw_frames.c.id.in_(ids)))
            purged += len(ids)
            if len(ids) < PURGE_BATCH:
                return purged


def _stored(row: object) -> StoredFrame:
    values = dict(row)  # type: ignore[call-overload]
    return StoredFrame(
        id=int(values["id"]),
        at=from_microseconds(int(values["at_us"])),
        meter_serial=values["meter_serial"],
        peer=values["peer"],
        session_id=values["session_id"],
        direction=values["direction"],
        framing=values["framing"],
        transport=values["transport"],
        kind=values["kind"],
        redacted=bool(values["redacted"]),
        note=values["note"],
        frame=bytes(values["frame"]),
    )
