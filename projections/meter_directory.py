"""Meter directory: meters, service points and channels as in force today.

One row per aggregate for listing pages and ``GET /api/v1/meters``. Each row keeps the
aggregate's effective-dated timelines (JSON) beside the flat columns, and the flat
columns hold the values in force on the day the row was written (UTC). Changes dated in
the future are therefore already known; ``next_change_on`` says when a row must be
recomputed, and the runner calls ``refresh_for_day`` when the date moves on.

The timelines are advanced by the events' own ``apply()`` on a bare aggregate, so the
directory cannot drift from the registry's rules for changes and corrections.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
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
    ColumnElement,
    Index,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    Uuid,
    func,
    insert,
    or_,
    select,
    update,
)

from adapters.persistence.recorder import to_microseconds
from domain.channel import Channel
from domain.meter import Meter
from domain.registered import RegisteredAggregate
from domain.service_point import ServicePoint
from projections.runner import ReadModelView, from_microseconds

_log = logging.getLogger(__name__)
_metadata = MetaData()
# Kept for recomputing rows; not part of what queries return.
_INTERNAL = ("timelines", "next_change_on", "updated_at_us")


def _listing_table(name: str, id_column: str, *columns: Column[Any]) -> Table:
    return Table(
        name,
        _metadata,
        Column(id_column, Uuid(), primary_key=True),
        *columns,
        Column("registered_from", Text(), nullable=False),
        Column("retired_from", Text()),
        Column("version", Integer(), nullable=False),
        Column("updated_at_us", BigInteger(), nullable=False),
        Column("timelines", JSON(), nullable=False),
        Column("next_change_on", Text()),
        Index(f"{name}_next_change_idx", "next_change_on"),
    )


DIRECTORY_METERS = _listing_table(
    "directory_meters",
    "meter_id",
    Column("serial", Text(), nullable=False, unique=True),
    *(Column(name, Text()) for name in ("meter_type", "manufacturer", "model", "status")),
    *(Column(name, Text()) for name in ("protocol", "comm_address")),
    Column("comm_port", Integer()),
    Column("security_profile", Text()),
    Column("template", Text()),
)
DIRECTORY_SERVICE_POINTS = _listing_table(
    "directory_service_points",
    "aggregate_id",
    Column("service_point_id", Text(), nullable=False, unique=True),
    *(Column(name, Text()) for name in ("name", "purpose", "premise_id", "account_key")),
    Column("meter_serial", Text(), index=True),
)
DIRECTORY_CHANNELS = _listing_table(
    "directory_channels",
    "channel_id",
    Column("channel_key", Text(), nullable=False, unique=True),
    Column("name", Text()),
    Column("service_point_id", Text(), nullable=False, index=True),
    # The channel's own meter; when empty, the service point's meter measures it.
    Column("meter_serial", Text(), index=True),
    *(Column(name, Text()) for name in ("meter_channel", "unit", "kind")),
    Column("interval_minutes", Integer()),
)
_TABLES: dict[type[RegisteredAggregate], Table] = {
    Meter: DIRECTORY_METERS,
    ServicePoint: DIRECTORY_SERVICE_POINTS,
    Channel: DIRECTORY_CHANNELS,
}


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _bare(cls: type[RegisteredAggregate], row: dict[str, Any] | None) -> RegisteredAggregate:
    """An aggregate holding only the state a row keeps, for an event to apply() to."""
    aggregate = object.__new__(cls)  # no creation event, no pending events
    if row is not None:
        aggregate.__dict__.update(
            timelines=row["timelines"],
            registered_from=row["registered_from"],
            retired_from=row["retired_from"],
        )
    return aggregate


def _columns(aggregate: RegisteredAggregate, table: Table, today: date) -> dict[str, Any]:
    # Before its registration date a thing is listed as it will be registered.
    day = max(today, date.fromisoformat(aggregate.registered_from))
    values = aggregate.attributes_on(day)
    later = [
        entry[0]
        for timeline in aggregate.timelines.values()
        for entry in timeline
        if entry[0] > day.isoformat()
    ]
    row = {c.name: values.get(c.name) for c in table.c if c.name in aggregate.SCHEMA}
    row[aggregate.KEY] = aggregate.key
    row.update(
        registered_from=aggregate.registered_from,
        retired_from=aggregate.retired_from,
        timelines=aggregate.timelines,
        next_change_on=min(later, default=None),
    )
    return row


class MeterDirectoryView(ReadModelView):
    def __init__(
        self,
        datastore: SQLAlchemyDatastore,
        *,
        today: Callable[[], date] = _utc_today,
        create_tables: bool = True,
    ) -> None:
        super().__init__(
            datastore,
            tracking_table_name="meter_directory_tracking",
            tables=list(_TABLES.values()),
            create_tables=create_tables,
        )
        self.today = today

    # -- writing (inside the runner's transaction) -----------------------------------

    def apply(self, cls: type[RegisteredAggregate], event: RegisteredAggregate.Event) -> None:
        table = _TABLES[cls]
        id_column = table.primary_key.columns.values()[0]
        with self.transaction(commit=True) as session:
            found = session.execute(select(table).where(id_column == event.originator_id))
            row = found.mappings().first()
            if row is None and not isinstance(event, RegisteredAggregate.Registered):
                # Only a view not rebuilt from the start gets here; a stuck batch would
                # stop the whole directory, so say so and go on.
                _log.warning("no directory row for %s; skipped", event.originator_id)
                return
            aggregate = _bare(cls, None if row is None else dict(row))
            event.apply(aggregate)
            values = _columns(aggregate, table, self.today())
            values.update(
                version=event.originator_version, updated_at_us=to_microseconds(event.timestamp)
            )
            if row is None:
                values[id_column.name] = event.originator_id
                session.execute(insert(table).values(values))
            else:
                session.execute(
                    update(table).where(id_column == row[id_column.name]).values(values)
                )

    def refresh_for_day(self, today: date) -> int:
        refreshed = 0
        with self.transaction(commit=True) as session:
            for cls, table in _TABLES.items():
                id_column = table.primary_key.columns.values()[0]
                due = table.c.next_change_on <= today.isoformat()
                for row in session.execute(select(table).where(due)).mappings().all():
                    values = _columns(_bare(cls, dict(row)), table, today)
                    session.execute(
                        update(table).where(id_column == row[id_column.name]).values(values)
                    )
                    refreshed += 1
        return refreshed

    # -- queries ---------------------------------------------------------------------

    def meters(
        self, *, search: str | None = None, limit: int = 500, offset: int = 0
    ) -> list[dict[str, Any]]:
        """By serial; ``search`` is a case-insensitive part of serial, maker, model or address."""
        table = DIRECTORY_METERS
        query = select(table).where(*_meter_search(search)).order_by(table.c.serial)
        return self._rows(query.limit(limit).offset(offset))

    def count(self, *, search: str | None = None) -> int:
        query = select(func.count()).select_from(DIRECTORY_METERS).where(*_meter_search(search))
        with self.transaction(commit=False) as session:
            return int(session.execute(query).scalar_one())

    def meter(self, serial: str) -> dict[str, Any] | None:
        rows = self._rows(select(DIRECTORY_METERS).where(DIRECTORY_METERS.c.serial == serial))
        return rows[0] if rows else None

    def service_points(
        self, *, meter_serial: str | None = None, limit: int = 500, offset: int = 0
    ) -> list[dict[str, Any]]:
        table = DIRECTORY_SERVICE_POINTS
        query = select(table).order_by(table.c.service_point_id).limit(limit).offset(offset)
        if meter_serial is not None:
            query = query.where(table.c.meter_serial == meter_serial)
        return self._rows(query)

    def service_point(self, service_point_id: str) -> dict[str, Any] | None:
        table = DIRECTORY_SERVICE_POINTS
        rows = self._rows(select(table).where(table.c.service_point_id == service_point_id))
        return rows[0] if rows else None

    def channels(
        self,
        *,
        service_point_id: str | None = None,
        meter_serial: str | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Channels with ``meter_serial`` resolved: their own, else their service point's."""
        channel = DIRECTORY_CHANNELS
        conditions: list[ColumnElement[bool]] = []
        if service_point_id is not None:
            conditions.append(channel.c.service_point_id == service_point_id)
        if meter_serial is not None:
            conditions.append(_meter_of_channel == meter_serial)
        query = _channel_select().where(*conditions).order_by(channel.c.channel_key)
        return self._rows(query.limit(limit).offset(offset))

    def channels_of_meter(self, serial: str) -> list[dict[str, Any]]:
        return self.channels(meter_serial=serial, limit=10_000)

    def channel(self, channel_id: UUID) -> dict[str, Any] | None:
        rows = self._rows(_channel_select().where(DIRECTORY_CHANNELS.c.channel_id == channel_id))
        return rows[0] if rows else None

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        with self.transaction(commit=False) as session:
            rows = session.execute(query).mappings().all()
        return [_public(dict(row)) for row in rows]


def _meter_search(search: str | None) -> Sequence[ColumnElement[bool]]:
    if not search or not search.strip():
        return []
    text = search.strip().lower()
    columns = DIRECTORY_METERS.c
    searched = (columns.serial, columns.manufacturer, columns.model, columns.comm_address)
    return [or_(*(func.lower(column).contains(text, autoescape=True) for column in searched))]


# A channel's meter: its own, else the one installed at its service point today.
_meter_of_channel = func.coalesce(
    DIRECTORY_CHANNELS.c.meter_serial, DIRECTORY_SERVICE_POINTS.c.meter_serial
)


def _channel_select() -> Select[Any]:
    channel, point = DIRECTORY_CHANNELS, DIRECTORY_SERVICE_POINTS
    shown = [column for column in channel.c if column.name != "meter_serial"]
    joined = channel.outerjoin(point, point.c.service_point_id == channel.c.service_point_id)
    return select(*shown, _meter_of_channel.label("meter_serial")).select_from(joined)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    if "updated_at_us" in row:
        row["updated_at"] = from_microseconds(row["updated_at_us"])
    return {name: value for name, value in row.items() if name not in _INTERNAL}


class MeterDirectoryProjection(Projection[MeterDirectoryView]):
    """Keeps the directory rows of meters, service points and channels."""

    name = "meter_directory"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Customers, premises, accounts, tariffs and templates are not listed here."""

    @process_event.register
    def _meter_event(self, domain_event: Meter.Event, tracking: Tracking) -> None:
        self.view.apply(Meter, domain_event)

    @process_event.register
    def _service_point_event(self, domain_event: ServicePoint.Event, tracking: Tracking) -> None:
        self.view.apply(ServicePoint, domain_event)

    @process_event.register
    def _channel_event(self, domain_event: Channel.Event, tracking: Tracking) -> None:
        self.view.apply(Channel, domain_event)
