"""Alarms and security events: what meters pushed unasked, and frames refused.

One row per accepted push (``MeterPush.Received``: critical ones are alarms to act on,
the others routine notifications such as pushed load profiles) and one per refused
frame (``SecurityEvent.Recorded``: bad tag, replayed counter, unknown sender), newest
first, for operators and the security officer.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    select,
)

from adapters.persistence.recorder import to_microseconds
from application.push_ingestion import logical_names_in
from domain.meter_push import MeterPush, SecurityEvent
from projections.runner import ReadModelView, from_microseconds

_metadata = MetaData()

METER_ALARMS = Table(
    "meter_alarms",
    _metadata,
    Column("alarm_id", Uuid(), primary_key=True),  # the push's or the security event's id
    Column("kind", Text(), nullable=False),  # push | security
    Column("critical", Boolean(), nullable=False),
    Column("meter_serial", Text()),
    Column("system_title", Text()),
    Column("received_at_us", BigInteger(), nullable=False),
    Column("what", Text(), nullable=False),  # the refusal's kind, or the push's objects
    Column("detail", JSON(), nullable=False),
    Column("peer", Text(), nullable=False),
    Index("meter_alarms_time_idx", "received_at_us"),
    Index("meter_alarms_meter_idx", "meter_serial", "received_at_us"),
)


def _pushed_objects(body: Any) -> str:
    """The logical names a push carried (its push object list), for the list view."""
    return ", ".join(dict.fromkeys(logical_names_in(body))) or "data notification"


class MeterAlarmView(ReadModelView):
    def __init__(self, datastore: SQLAlchemyDatastore, *, create_tables: bool = True) -> None:
        super().__init__(
            datastore,
            tracking_table_name="meter_alarms_tracking",
            tables=[METER_ALARMS],
            create_tables=create_tables,
        )

    def insert(self, row: dict[str, Any]) -> None:
        with self.transaction(commit=True) as session:
            exists = select(METER_ALARMS.c.alarm_id).where(
                METER_ALARMS.c.alarm_id == row["alarm_id"]
            )
            if session.execute(exists).first() is None:
                session.execute(METER_ALARMS.insert().values(**row))

    def alarms(
        self,
        *,
        kind: str | None = None,
        critical: bool | None = None,
        meter: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[int, list[dict[str, Any]]]:
        table = METER_ALARMS
        where = []
        if kind is not None:
            where.append(table.c.kind == kind)
        if critical is not None:
            where.append(table.c.critical == critical)
        if meter is not None:
            where.append(table.c.meter_serial == meter)
        if since is not None:
            where.append(table.c.received_at_us >= to_microseconds(since))
        query = (
            select(table)
            .where(*where)
            .order_by(table.c.received_at_us.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.transaction(commit=False) as session:
            total = session.execute(select(func.count()).select_from(table).where(*where))
            count = int(total.scalar_one())
            rows = [dict(row._mapping) for row in session.execute(query)]
        for row in rows:
            row["alarm_id"] = str(row["alarm_id"])
            row["received_at"] = from_microseconds(row.pop("received_at_us")).isoformat()
        return count, rows


class MeterAlarmProjection(Projection[MeterAlarmView]):
    name = "meter_alarms"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Commands and other HeadEnd events are not alarms."""

    @process_event.register
    def _pushed(self, event: MeterPush.Received, tracking: Tracking) -> None:
        self.view.insert(
            {
                "alarm_id": event.originator_id,
                "kind": "push",
                "critical": bool(event.critical),
                "meter_serial": event.meter_serial,
                "system_title": event.system_title,
                "received_at_us": to_microseconds(event.timestamp),
                "what": _pushed_objects(event.body),
                "detail": {"sent_at": event.sent_at, "counter": event.invocation_counter},
                "peer": event.peer,
            }
        )

    @process_event.register
    def _refused(self, event: SecurityEvent.Recorded, tracking: Tracking) -> None:
        self.view.insert(
            {
                "alarm_id": event.originator_id,
                "kind": "security",
                "critical": True,
                "meter_serial": event.meter_serial,
                "system_title": event.system_title,
                "received_at_us": to_microseconds(event.timestamp),
                "what": event.kind,
                "detail": {"detail": event.detail},
                "peer": event.peer,
            }
        )
