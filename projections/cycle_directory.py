"""Cycle directory: which cycles exist, so the scheduler and the API can list them.

The registry finds aggregates only by key; this view keeps one row per cycle (key, name
as last recorded, retirement) so nothing has to scan the event store for them. Details
and due times come from the aggregate itself, loaded by key.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text, Uuid, insert, select
from sqlalchemy import update as sql_update

from adapters.persistence.recorder import to_microseconds
from domain.cycle import Cycle
from projections.runner import ReadModelView, from_microseconds

_metadata = MetaData()

DIRECTORY_CYCLES = Table(
    "directory_cycles",
    _metadata,
    Column("cycle_id", Uuid(), primary_key=True),
    Column("cycle_key", Text(), nullable=False, unique=True),
    Column("name", Text(), nullable=False),
    Column("registered_from", Text(), nullable=False),
    Column("retired_from", Text()),
    Column("version", Integer(), nullable=False),
    Column("updated_at_us", BigInteger(), nullable=False),
)


class CycleDirectoryView(ReadModelView):
    def __init__(self, datastore: SQLAlchemyDatastore, *, create_tables: bool = True) -> None:
        super().__init__(
            datastore,
            tracking_table_name="cycle_directory_tracking",
            tables=[DIRECTORY_CYCLES],
            create_tables=create_tables,
        )

    # -- writing (inside the runner's transaction) -----------------------------------

    def record(self, event: Cycle.Event) -> None:
        table = DIRECTORY_CYCLES
        values: dict[str, Any] = {
            "version": event.originator_version,
            "updated_at_us": to_microseconds(event.timestamp),
        }
        if isinstance(event, Cycle.Registered):
            values.update(
                cycle_id=event.originator_id,
                cycle_key=str(event.attributes["cycle_key"]),
                name=str(event.attributes["name"]),
                registered_from=event.effective_from,
            )
        elif isinstance(event, Cycle.Changed | Cycle.Corrected):
            given = event.changes if isinstance(event, Cycle.Changed) else event.corrections
            if given.get("name"):
                values["name"] = str(given["name"])
        elif isinstance(event, Cycle.Retired):
            values["retired_from"] = event.effective_from
        with self.transaction(commit=True) as session:
            if isinstance(event, Cycle.Registered):
                session.execute(insert(table).values(values))
            else:
                where = table.c.cycle_id == event.originator_id
                session.execute(sql_update(table).where(where).values(values))

    # -- queries ---------------------------------------------------------------------

    def cycle_versions(self) -> dict[str, int]:
        table = DIRECTORY_CYCLES
        query = select(table.c.cycle_key, table.c.version).order_by(table.c.cycle_key)
        with self.transaction(commit=False) as session:
            return {str(key): int(version) for key, version in session.execute(query).all()}

    def cycles(self) -> list[dict[str, Any]]:
        query = select(DIRECTORY_CYCLES).order_by(DIRECTORY_CYCLES.c.cycle_key)
        with self.transaction(commit=False) as session:
            rows = session.execute(query).mappings().all()
        return [
            {
                **{name: value for name, value in row.items() if name != "updated_at_us"},
                "updated_at": from_microseconds(row["updated_at_us"]),
            }
            for row in rows
        ]


class CycleDirectoryProjection(Projection[CycleDirectoryView]):
    """Keeps one row per cycle of the registry."""

    name = "cycle_directory"
    topics = tuple(
        event_class.TOPIC
        for event_class in (Cycle.Registered, Cycle.Changed, Cycle.Corrected, Cycle.Retired)
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Other registry events are not cycles."""

    @process_event.register
    def _cycle_event(self, domain_event: Cycle.Event, tracking: Tracking) -> None:
        self.view.record(domain_event)
