"""Billing exports: every version of every channel day made ready for billing.

Built from the Exports application's ``BillingExport`` events; one row per (channel, day,
version), never changed afterwards, so billing systems pull what is new: by ``sequence``
(the event's notification id, committed in order, so a cursor misses nothing) or by
export time. ``billing_export_days`` remembers which channel and day each export stream
is (from ``Opened``). Rebuildable from the event store like every read model.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import (
    JSON,
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

from adapters.persistence.recorder import to_microseconds
from domain.billing_export import BillingExport
from projections.runner import ReadModelView, from_microseconds

_metadata = MetaData()

BILLING_EXPORT_DAYS = Table(
    "billing_export_days",
    _metadata,
    Column("export_id", Uuid(), primary_key=True),
    Column("channel_id", Uuid(), nullable=False),
    Column("channel_key", Text(), nullable=False),
    Column("day", Text(), nullable=False),  # ISO date of the UTC day
)
BILLING_EXPORTS = Table(
    "billing_exports",
    _metadata,
    Column("channel_id", Uuid(), primary_key=True),
    Column("day", Text(), primary_key=True),
    Column("version", Integer(), primary_key=True),  # the ChannelDay's data version
    Column("channel_key", Text(), nullable=False),
    Column("recorded_at_us", BigInteger(), nullable=False),  # when that version was recorded
    Column("intervals", Integer(), nullable=False),
    Column("total", Double(), nullable=False),
    Column("unit", Text(), nullable=False),
    Column("qualities", JSON(), nullable=False),
    Column("exported_at_us", BigInteger(), nullable=False),
    Column("cycle_key", Text(), nullable=False),
    Column("due_at", Text(), nullable=False),
    Column("task", Text(), nullable=False),
    Column("sequence", BigInteger(), nullable=False),
    Index("billing_exports_sequence_idx", "sequence"),
    Index("billing_exports_exported_idx", "exported_at_us"),
)


class BillingExportView(ReadModelView):
    def __init__(self, datastore: SQLAlchemyDatastore, *, create_tables: bool = True) -> None:
        super().__init__(
            datastore,
            tracking_table_name="billing_exports_tracking",
            tables=[BILLING_EXPORT_DAYS, BILLING_EXPORTS],
            create_tables=create_tables,
        )
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        self._open = dialect_insert(BILLING_EXPORT_DAYS).on_conflict_do_nothing(
            index_elements=["export_id"]
        )
        self._insert = dialect_insert(BILLING_EXPORTS).on_conflict_do_nothing(
            index_elements=["channel_id", "day", "version"]
        )

    # -- writing (inside the runner's transaction) -----------------------------------

    def open_day(self, export_id: UUID, channel_id: UUID, channel_key: str, day: str) -> None:
        with self.transaction(commit=True) as session:
            session.execute(
                self._open,
                {
                    "export_id": export_id,
                    "channel_id": channel_id,
                    "channel_key": channel_key,
                    "day": day,
                },
            )

    def add_version(self, export_id: UUID, row: dict[str, Any]) -> None:
        with self.transaction(commit=True) as session:
            found = session.execute(
                select(
                    BILLING_EXPORT_DAYS.c.channel_id,
                    BILLING_EXPORT_DAYS.c.channel_key,
                    BILLING_EXPORT_DAYS.c.day,
                ).where(BILLING_EXPORT_DAYS.c.export_id == export_id)
            ).one()
            session.execute(self._insert, {**found._asdict(), **row})

    # -- queries ---------------------------------------------------------------------

    def exports(
        self,
        *,
        since: datetime | None = None,
        channel_id: UUID | None = None,
        after: int | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Exported versions in the order they were exported (``sequence``)."""
        table = BILLING_EXPORTS
        query = select(table).order_by(table.c.sequence, table.c.channel_key, table.c.day)
        if since is not None:
            query = query.where(table.c.exported_at_us >= to_microseconds(since))
        if channel_id is not None:
            query = query.where(table.c.channel_id == channel_id)
        if after is not None:
            query = query.where(table.c.sequence > after)
        with self.transaction(commit=False) as session:
            rows = session.execute(query.limit(limit)).mappings().all()
        return [_export(row) for row in rows]

    def exported_versions(self, channel_id: UUID, first: date, last: date) -> dict[date, int]:
        """The latest version exported of each day of the channel in [first, last]."""
        table = BILLING_EXPORTS
        query = (
            select(table.c.day, func.max(table.c.version))
            .where(table.c.channel_id == channel_id)
            .where(table.c.day >= first.isoformat(), table.c.day <= last.isoformat())
            .group_by(table.c.day)
        )
        with self.transaction(commit=False) as session:
            return {date.fromisoformat(day): int(v) for day, v in session.execute(query).all()}


def _export(row: Any) -> dict[str, Any]:
    return {
        "channel": row["channel_key"],
        "channel_id": str(row["channel_id"]),
        "day": row["day"],
        "version": row["version"],
        "recorded_at": from_microseconds(row["recorded_at_us"]),
        "intervals": row["intervals"],
        "total": row["total"],
        "unit": row["unit"],
        "qualities": row["qualities"],
        "exported_at": from_microseconds(row["exported_at_us"]),
        "cycle_key": row["cycle_key"],
        "due_at": row["due_at"],
        "task": row["task"],
        "sequence": row["sequence"],
    }


class BillingExportProjection(Projection[BillingExportView]):
    name = "billing_exports"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Other events of the Exports application change no row."""

    @process_event.register
    def _opened(self, domain_event: BillingExport.Opened, tracking: Tracking) -> None:
        self.view.open_day(
            domain_event.originator_id,
            domain_event.channel_id,
            domain_event.channel_key,
            domain_event.day,
        )

    @process_event.register
    def _exported(self, domain_event: BillingExport.VersionExported, tracking: Tracking) -> None:
        recorded = datetime.fromisoformat(domain_event.data_recorded_at).astimezone(UTC)
        self.view.add_version(
            domain_event.originator_id,
            {
                "version": domain_event.data_version,
                "recorded_at_us": to_microseconds(recorded),
                "intervals": domain_event.intervals,
                "total": domain_event.total,
                "unit": domain_event.unit,
                "qualities": dict(domain_event.qualities),
                "exported_at_us": to_microseconds(domain_event.timestamp),
                "cycle_key": domain_event.cycle_key,
                "due_at": domain_event.due_at,
                "task": domain_event.task,
                "sequence": tracking.notification_id,
            },
        )
