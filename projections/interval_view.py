"""Interval view: the latest known value of every interval, one row per channel and start.

Built from the Readings application's ``ChannelDay`` events. ``channel_days`` remembers
which channel, UTC day and interval length each day stream has (from ``Opened``), so a
block (``IntervalsRecorded``) can be placed in time. A block is upserted in ONE
executemany statement; a re-recorded block overwrites its rows with the new values and
the higher ``day_version``.

``interval_values.start_at`` is the interval's start in whole seconds since the epoch
(UTC): an integer compares and indexes the same on SQLite and PostgreSQL. Queries take
and return tz-aware datetimes. Earlier versions are not kept here: as-of reads go to
the Readings application (``Readings.intervals(..., as_of=...)``).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from domain.channel_day import ChannelDay, day_start
from domain.reading_quality import ReadingQuality
from projections.runner import ReadModelView

_metadata = MetaData()

CHANNEL_DAYS = Table(
    "channel_days",
    _metadata,
    Column("day_id", Uuid(), primary_key=True),
    Column("channel_id", Uuid(), nullable=False),
    Column("day", Text(), nullable=False),  # ISO date of the UTC day
    Column("interval_minutes", Integer(), nullable=False),
    Index("channel_days_channel_idx", "channel_id", "day"),
)

INTERVAL_VALUES = Table(
    "interval_values",
    _metadata,
    Column("channel_id", Uuid(), primary_key=True),
    Column("start_at", BigInteger(), primary_key=True),  # epoch seconds, UTC
    Column("value", Double()),  # NULL where the meter delivered no value
    Column("meter_status", Integer(), nullable=False),
    Column("quality", Text(), nullable=False),  # ReadingQuality name, lower case
    Column("day_version", Integer(), nullable=False),
)

_REVISED = ("value", "meter_status", "quality", "day_version")


def _epoch_seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("interval times must be timezone-aware")
    return int(moment.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class IntervalView(ReadModelView):
    def __init__(self, datastore: SQLAlchemyDatastore, *, create_tables: bool = True) -> None:
        super().__init__(
            datastore,
            tracking_table_name="interval_view_tracking",
            tables=[CHANNEL_DAYS, INTERVAL_VALUES],
            create_tables=create_tables,
        )
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        opened = dialect_insert(CHANNEL_DAYS)
        self._open_day = opened.on_conflict_do_nothing(index_elements=["day_id"])
        block = dialect_insert(INTERVAL_VALUES)
        self._upsert_block = block.on_conflict_do_update(
            index_elements=["channel_id", "start_at"],
            set_={name: block.excluded[name] for name in _REVISED},
            # Replays never go backwards, even if a batch were processed twice.
            where=INTERVAL_VALUES.c.day_version <= block.excluded.day_version,
        )
        # Estimates, edits and acceptances replace values but not the meter's status bits.
        revision = dialect_insert(INTERVAL_VALUES)
        self._upsert_revision = revision.on_conflict_do_update(
            index_elements=["channel_id", "start_at"],
            set_={name: revision.excluded[name] for name in ("value", "quality", "day_version")},
            where=INTERVAL_VALUES.c.day_version <= revision.excluded.day_version,
        )
        # day id -> (channel id, first second of the day, interval seconds): immutable.
        self._days: dict[UUID, tuple[UUID, int, int]] = {}

    # -- writing (inside the runner's transaction) -----------------------------------

    def open_day(self, day_id: UUID, channel_id: UUID, day: str, interval_minutes: int) -> None:
        with self.transaction(commit=True) as session:
            session.execute(
                self._open_day,
                {
                    "day_id": day_id,
                    "channel_id": channel_id,
                    "day": day,
                    "interval_minutes": interval_minutes,
                },
            )
        self._remember(day_id, channel_id, day, interval_minutes)

    def write_slots(
        self,
        day_id: UUID,
        slots: list[int],
        values: list[float],
        statuses: list[int] | None,
        qualities: list[int],
        day_version: int,
    ) -> None:
        """Upserts the given slots of one channel day (``statuses`` None: keep them)."""
        channel_id, first_second, step = self._day(day_id)
        rows = [
            {
                "channel_id": channel_id,
                "start_at": first_second + slot * step,
                "value": None if math.isnan(value) else value,
                "meter_status": statuses[index] if statuses is not None else 0,
                "quality": ReadingQuality(qualities[index]).name.lower(),
                "day_version": day_version,
            }
            for index, (slot, value) in enumerate(zip(slots, values, strict=True))
        ]
        if rows:
            statement = self._upsert_block if statuses is not None else self._upsert_revision
            with self.transaction(commit=True) as session:
                session.execute(statement, rows)  # one executemany per block

    def forget_cached(self) -> None:
        self._days.clear()

    # -- queries ---------------------------------------------------------------------

    def intervals(self, channel_id: UUID, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Intervals starting in [start, end), in time order."""
        table = INTERVAL_VALUES
        query = (
            select(table.c.start_at, table.c.value, table.c.meter_status, table.c.quality)
            .where(
                table.c.channel_id == channel_id,
                table.c.start_at >= _epoch_seconds(start),
                table.c.start_at < _epoch_seconds(end),
            )
            .order_by(table.c.start_at)
        )
        with self.transaction(commit=False) as session:
            rows = session.execute(query).all()
        return [_interval(row) for row in rows]

    def latest_interval(self, channel_id: UUID) -> dict[str, Any] | None:
        table = INTERVAL_VALUES
        query = (
            select(table.c.start_at, table.c.value, table.c.meter_status, table.c.quality)
            .where(table.c.channel_id == channel_id)
            .order_by(table.c.start_at.desc())
            .limit(1)
        )
        with self.transaction(commit=False) as session:
            row = session.execute(query).first()
        return None if row is None else _interval(row)

    def summary(self) -> list[dict[str, Any]]:
        """Per channel: how many intervals, the first and the last interval start."""
        table = INTERVAL_VALUES
        query = (
            select(
                table.c.channel_id,
                func.count().label("intervals"),
                func.min(table.c.start_at),
                func.max(table.c.start_at),
            )
            .group_by(table.c.channel_id)
            .order_by(table.c.channel_id)
        )
        with self.transaction(commit=False) as session:
            rows = session.execute(query).all()
        return [
            {
                "channel_id": row[0],
                "intervals": int(row[1]),
                "first": _moment(row[2]),
                "last": _moment(row[3]),
            }
            for row in rows
        ]

    # -- internals -------------------------------------------------------------------

    def _remember(self, day_id: UUID, channel_id: UUID, day: str, interval_minutes: int) -> None:
        if len(self._days) > 100_000:
            self._days.clear()  # a bound, not an eviction policy: rows reload on demand
        first_second = _epoch_seconds(day_start(date.fromisoformat(day)))
        self._days[day_id] = (channel_id, first_second, interval_minutes * 60)

    def _day(self, day_id: UUID) -> tuple[UUID, int, int]:
        if day_id not in self._days:
            query = select(
                CHANNEL_DAYS.c.channel_id, CHANNEL_DAYS.c.day, CHANNEL_DAYS.c.interval_minutes
            ).where(CHANNEL_DAYS.c.day_id == day_id)
            with self.transaction(commit=False) as session:
                channel_id, day, minutes = session.execute(query).one()
            self._remember(day_id, channel_id, day, minutes)
        return self._days[day_id]


def _interval(row: Any) -> dict[str, Any]:
    return {
        "start": _moment(row[0]),
        "value": row[1],
        "meter_status": row[2],
        "quality": row[3],
    }


class IntervalProjection(Projection[IntervalView]):
    """Places each recorded block of a channel day in ``interval_values``."""

    name = "interval_view"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Other events of Readings do not change interval values."""

    @process_event.register
    def _opened(self, domain_event: ChannelDay.Opened, tracking: Tracking) -> None:
        self.view.open_day(
            domain_event.originator_id,
            domain_event.channel_id,
            domain_event.day,
            domain_event.interval_minutes,
        )

    @process_event.register
    def _recorded(self, domain_event: ChannelDay.IntervalsRecorded, tracking: Tracking) -> None:
        first = domain_event.first_slot
        held = set(domain_event.held_slots)
        kept = [i for i in range(len(domain_event.values)) if first + i not in held]
        self.view.write_slots(
            domain_event.originator_id,
            [first + i for i in kept],
            domain_event.values[kept].tolist(),
            domain_event.statuses[kept].tolist(),
            domain_event.qualities[kept].tolist(),
            domain_event.originator_version,
        )

    @process_event.register
    def _revised(self, domain_event: ChannelDay.SlotsRevised, tracking: Tracking) -> None:
        self.view.write_slots(
            domain_event.originator_id,
            list(domain_event.slots),
            domain_event.values.tolist(),
            None,
            [domain_event.quality] * len(domain_event.slots),
            domain_event.originator_version,
        )
