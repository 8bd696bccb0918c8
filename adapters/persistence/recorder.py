"""An application recorder that also indexes when each event was recorded.

The library can load an aggregate at a version but not "as it was at time T". We keep
``<app>_recorded_times (originator_id, originator_version, recorded_at_us)`` and write
it in the same transaction as the events (a rolled-back save leaves no index rows, and
no committed event lacks one), then map a time to the last version recorded by then.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg2
from eventsourcing.persistence import IntegrityError, Notification, StoredEvent
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.recorders import (
    SQLAlchemyApplicationRecorder,
    SQLAlchemyProcessRecorder,
)
from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, Table, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy_utils.types.uuid import UUIDType

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_metadata = MetaData()
_index_tables: dict[str, Table] = {}


def to_microseconds(moment: datetime) -> int:
    """Whole microseconds since the epoch: exact and comparable on every backend."""
    if moment.tzinfo is None:
        raise ValueError("recorded times must be timezone-aware")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _index_table(name: str) -> Table:
    if name not in _index_tables:
        _index_tables[name] = Table(
            name,
            _metadata,
            Column("originator_id", UUIDType(), primary_key=True),
            Column(
                "originator_version",
                BigInteger().with_variant(Integer(), "sqlite"),
                primary_key=True,
            ),
            Column("recorded_at_us", BigInteger(), nullable=False),
            Index(f"{name}_time_idx", "originator_id", "recorded_at_us"),
        )
    return _index_tables[name]


# A save of many aggregates (a cycle's thousand tasks) writes its index rows with COPY,
# about three times cheaper in PostgreSQL than a multi-row INSERT.
_COPY_FROM = 100


def _copy_rows(session: Session, table_name: str, rows: list[dict[str, Any]]) -> None:
    lines = "".join(
        f"{row['originator_id']}\t{row['originator_version']}\t{row['recorded_at_us']}\n"
        for row in rows
    )
    cursor = session.connection().connection.cursor()
    try:
        cursor.copy_expert(
            f"COPY {table_name} (originator_id, originator_version, recorded_at_us) FROM STDIN",
            io.StringIO(lines),
        )
    except psycopg2.IntegrityError as error:
        # What the library makes of SQLAlchemy's: an aggregate version recorded already.
        raise IntegrityError(error) from error


class RecordedTimeIndexMixin:
    """Writes and reads the recorded-time index beside an events table."""

    datastore: SQLAlchemyDatastore
    events_table_name: str
    tables: list[Table]

    def _init_index(self) -> None:
        self.recorded_times = _index_table(
            self.events_table_name.removesuffix("_events") + "_recorded_times"
        )
        self.tables.append(self.recorded_times)

    def _insert_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        rows = [
            {
                "originator_id": oid,
                "originator_version": version,
                "recorded_at_us": to_microseconds(at),
            }
            for oid, version, at in kwargs.get("recorded_times", ())
        ]
        if len(rows) >= _COPY_FROM and session.get_bind().dialect.name == "postgresql":
            _copy_rows(session, self.recorded_times.name, rows)
        elif rows:
            session.execute(self.recorded_times.insert(), rows)
        super()._insert_events(session, stored_events, **kwargs)  # type: ignore[misc]

    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        """The library's insert, as one multi-row INSERT ... RETURNING instead of an ORM
        object per event: a cycle saves a thousand tasks at a time (1.3x faster)."""
        recorder: Any = self
        if not stored_events:
            return []
        table = recorder.events_record_cls.__table__
        rows = [
            {
                "originator_id": event.originator_id,
                "originator_version": event.originator_version,
                "topic": event.topic,
                "state": event.state,
            }
            for event in stored_events
        ]
        if not recorder._has_autoincrementing_ids:
            session.execute(insert(table), rows)
            return []
        recorder._lock_table(session)
        # Ids in the order of the events (notification order = insert order).
        returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = list(session.execute(returning, rows).scalars())
        recorder._notify_channel(session)
        return ids

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """The library's select as one Core query instead of an ORM object per row: a
        projection runner reads 500 at a time (3x faster)."""
        recorder: Any = self
        table = recorder.events_record_cls.__table__
        query = select(
            table.c.id, table.c.originator_id, table.c.originator_version, table.c.topic,
            table.c.state,
        ).order_by(table.c.id)  # fmt: skip
        if start is not None:
            query = query.where(table.c.id >= start if inclusive_of_start else table.c.id > start)
        if stop is not None:
            query = query.where(table.c.id <= stop)
        if topics:
            query = query.where(table.c.topic.in_(topics))
        with self.datastore.transaction(commit=False) as session:
            return [
                Notification(
                    id=row[0],
                    originator_id=row[1],
                    originator_version=row[2],
                    topic=row[3],
                    state=bytes(row[4]),
                )
                for row in session.execute(query.limit(limit))
            ]

    def version_at(self, originator_id: UUID, recorded_at: datetime) -> int | None:
        """The last version of the aggregate recorded at or before ``recorded_at``."""
        table = self.recorded_times
        query = select(func.max(table.c.originator_version)).where(
            table.c.originator_id == originator_id,
            table.c.recorded_at_us <= to_microseconds(recorded_at),
        )
        with self.datastore.transaction(commit=False) as session:
            return session.execute(query).scalar()

    def versions_at(self, originator_ids: Sequence[UUID], recorded_at: datetime) -> dict[UUID, int]:
        """``version_at`` for many aggregates in one query (those with none are left out)."""
        table = self.recorded_times
        query = (
            select(table.c.originator_id, func.max(table.c.originator_version))
            .where(table.c.originator_id.in_(list(originator_ids)))
            .where(table.c.recorded_at_us <= to_microseconds(recorded_at))
            .group_by(table.c.originator_id)
        )
        with self.datastore.transaction(commit=False) as session:
            return {row[0]: int(row[1]) for row in session.execute(query)}

    def events_as_of(
        self, originator_ids: Sequence[UUID], recorded_at: datetime | None
    ) -> list[StoredEvent]:
        """Every stored event of the aggregates recorded by ``recorded_at`` (all when None),
        each stream in version order: for many short streams (a month of channel days)
        two queries in one transaction instead of two a stream."""
        recorder: Any = self
        table = recorder.events_record_cls.__table__
        query = (
            select(table.c.originator_id, table.c.originator_version, table.c.topic, table.c.state)
            .where(table.c.originator_id.in_(list(originator_ids)))
            .order_by(table.c.originator_id, table.c.originator_version)
        )
        with self.datastore.transaction(commit=False) as session:  # one for both queries
            versions = (
                None if recorded_at is None else self.versions_at(originator_ids, recorded_at)
            )
            if versions is not None and not versions:
                return []
            rows = session.execute(query).all()
        return [
            StoredEvent(originator_id, version, topic, bytes(state))
            for originator_id, version, topic, state in rows
            if versions is None or version <= versions.get(originator_id, 0)
        ]


class IndexedApplicationRecorder(RecordedTimeIndexMixin, SQLAlchemyApplicationRecorder):
    def __init__(self, datastore: SQLAlchemyDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self._init_index()


class IndexedProcessRecorder(RecordedTimeIndexMixin, SQLAlchemyProcessRecorder):
    def __init__(self, datastore: SQLAlchemyDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self._init_index()
