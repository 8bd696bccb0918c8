"""Outage credits and curtailment periods by service point, for validation and billing."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import BigInteger, Column, Index, MetaData, Table, Text, select

from domain.external_period import ExternalPeriod
from projections.runner import ReadModelView

_metadata = MetaData()

EXTERNAL_PERIODS = Table(
    "external_periods",
    _metadata,
    Column("period_key", Text(), primary_key=True),
    Column("service_point_id", Text(), nullable=False),
    Column("kind", Text(), nullable=False),
    Column("starts_at", BigInteger(), nullable=False),  # epoch seconds, UTC
    Column("ends_at", BigInteger(), nullable=False),
    Column("programme", Text()),
    Index("external_periods_point_idx", "service_point_id", "starts_at"),
)


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


class ExternalPeriodView(ReadModelView):
    def __init__(self, datastore: SQLAlchemyDatastore, *, create_tables: bool = True) -> None:
        super().__init__(
            datastore,
            tracking_table_name="external_periods_tracking",
            tables=[EXTERNAL_PERIODS],
            create_tables=create_tables,
        )

    def put(self, period: ExternalPeriod) -> None:
        with self.transaction(commit=True) as session:
            session.execute(
                EXTERNAL_PERIODS.delete().where(EXTERNAL_PERIODS.c.period_key == period.key)
            )
            if period.retired_from is None:
                attributes = {name: timeline[-1][1] for name, timeline in period.timelines.items()}
                session.execute(
                    EXTERNAL_PERIODS.insert().values(
                        period_key=period.key,
                        service_point_id=attributes["service_point_id"],
                        kind=attributes["kind"],
                        starts_at=_seconds(attributes["starts_at"]),
                        ends_at=_seconds(attributes["ends_at"]),
                        programme=attributes.get("programme"),
                    )
                )

    def periods(
        self, service_point_id: str, start: datetime, end: datetime
    ) -> list[tuple[str, datetime, datetime]]:
        """(kind, starts_at, ends_at) of the periods overlapping [start, end)."""
        table = EXTERNAL_PERIODS
        query = (
            select(table.c.kind, table.c.starts_at, table.c.ends_at)
            .where(
                table.c.service_point_id == service_point_id,
                table.c.starts_at < int(end.timestamp()),
                table.c.ends_at > int(start.timestamp()),
            )
            .order_by(table.c.starts_at)
        )
        with self.transaction(commit=False) as session:
            rows = session.execute(query).all()
        return [
            (kind, datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC))
            for kind, first, last in rows
        ]


class ExternalPeriodProjection(Projection[ExternalPeriodView]):
    """Keeps the latest state of every period; a retired one leaves the table."""

    name = "external_periods"

    def __init__(self, view: ExternalPeriodView, registry: Any) -> None:
        super().__init__(view)
        # The period's state as of the event: replaying it from the registry keeps the
        # projection exactly as the domain's change and correction rules say.
        self.registry = registry

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Other registry events are not periods."""

    @process_event.register
    def _period(self, domain_event: ExternalPeriod.Event, tracking: Tracking) -> None:
        period = self.registry.repository.get(
            domain_event.originator_id, version=domain_event.originator_version
        )
        self.view.put(period)
