"""The VEE exception queue: intervals a failing rule left for a person to decide.

An interval enters the queue when a delivery records a failing finding on it (with the
rule, message and suggestion) and leaves it when it is estimated, edited, accepted as
is, or delivered again and validated. Rebuildable from the Readings events like every
read model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    and_,
    delete,
    func,
    select,
)

from domain.channel_day import ChannelDay, day_start
from domain.reading_quality import ReadingQuality
from projections.runner import ReadModelView

_metadata = MetaData()

VEE_EXCEPTIONS = Table(
    "vee_exceptions",
    _metadata,
    Column("channel_id", Uuid(), primary_key=True),
    Column("start_at", BigInteger(), primary_key=True),  # epoch seconds, UTC
    Column("rule", Text(), primary_key=True),
    Column("day_id", Uuid(), nullable=False),
    Column("message", Text(), nullable=False),
    Column("suggestion", Text(), nullable=False),
    Column("opened_at", BigInteger(), nullable=False),  # recorded time, epoch seconds
    Column("day_version", Integer(), nullable=False),
    Index("vee_exceptions_rule_idx", "rule", "start_at"),
)
VEE_EXCEPTION_DAYS = Table(
    "vee_exception_days",
    _metadata,
    Column("day_id", Uuid(), primary_key=True),
    Column("channel_id", Uuid(), nullable=False),
    Column("first_second", BigInteger(), nullable=False),
    Column("interval_seconds", Integer(), nullable=False),
)

# Qualities that settle an interval: nothing is left for a person.
SETTLED = {
    ReadingQuality.VALIDATED,
    ReadingQuality.ESTIMATED,
    ReadingQuality.EDITED,
    ReadingQuality.ACCEPTED,
}


class VeeExceptionView(ReadModelView):
    def __init__(self, datastore: SQLAlchemyDatastore, *, create_tables: bool = True) -> None:
        super().__init__(
            datastore,
            tracking_table_name="vee_exceptions_tracking",
            tables=[VEE_EXCEPTIONS, VEE_EXCEPTION_DAYS],
            create_tables=create_tables,
        )

    # -- writing -------------------------------------------------------------------

    def open_day(self, day_id: UUID, channel_id: UUID, first_second: int, step: int) -> None:
        with self.transaction(commit=True) as session:
            session.execute(
                VEE_EXCEPTION_DAYS.insert().values(
                    day_id=day_id,
                    channel_id=channel_id,
                    first_second=first_second,
                    interval_seconds=step,
                )
            )

    def settle(self, day_id: UUID, slots: list[int]) -> None:
        channel_id, first, step = self._day(day_id)
        starts = [first + slot * step for slot in slots]
        with self.transaction(commit=True) as session:
            for chunk in range(0, len(starts), 500):
                session.execute(
                    delete(VEE_EXCEPTIONS).where(
                        and_(
                            VEE_EXCEPTIONS.c.channel_id == channel_id,
                            VEE_EXCEPTIONS.c.start_at.in_(starts[chunk : chunk + 500]),
                        )
                    )
                )

    def open_exceptions(
        self, day_id: UUID, rows: list[dict[str, Any]], opened_at: int, version: int
    ) -> None:
        channel_id, first, step = self._day(day_id)
        records = [
            {
                "channel_id": channel_id,
                "start_at": first + row["slot"] * step,
                "rule": row["rule"],
                "day_id": day_id,
                "message": row["message"],
                "suggestion": row["suggestion"],
                "opened_at": opened_at,
                "day_version": version,
            }
            for row in rows
        ]
        if records:
            starts = sorted({record["start_at"] for record in records})
            with self.transaction(commit=True) as session:
                session.execute(
                    delete(VEE_EXCEPTIONS).where(
                        and_(
                            VEE_EXCEPTIONS.c.channel_id == channel_id,
                            VEE_EXCEPTIONS.c.start_at.in_(starts),
                        )
                    )
                )
                session.execute(VEE_EXCEPTIONS.insert(), records)

    # -- queries ---------------------------------------------------------------------

    def exceptions(
        self,
        *,
        channel_id: UUID | None = None,
        rule: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        query = select(VEE_EXCEPTIONS).order_by(
            VEE_EXCEPTIONS.c.start_at.desc(), VEE_EXCEPTIONS.c.rule
        )
        query = self._filtered(query, channel_id, rule).limit(limit).offset(offset)
        with self.transaction(commit=False) as session:
            rows = session.execute(query).mappings().all()
        return [
            {
                "channel_id": str(row["channel_id"]),
                "start": datetime.fromtimestamp(row["start_at"], UTC),
                "rule": row["rule"],
                "message": row["message"],
                "suggestion": row["suggestion"],
                "opened_at": datetime.fromtimestamp(row["opened_at"], UTC),
                "day_version": row["day_version"],
            }
            for row in rows
        ]

    def count(self, *, channel_id: UUID | None = None, rule: str | None = None) -> int:
        query = self._filtered(select(func.count()).select_from(VEE_EXCEPTIONS), channel_id, rule)
        with self.transaction(commit=False) as session:
            return int(session.execute(query).scalar_one())

    @staticmethod
    def _filtered(query: Any, channel_id: UUID | None, rule: str | None) -> Any:
        if channel_id is not None:
            query = query.where(VEE_EXCEPTIONS.c.channel_id == channel_id)
        if rule is not None:
            query = query.where(VEE_EXCEPTIONS.c.rule == rule)
        return query

    def _day(self, day_id: UUID) -> tuple[UUID, int, int]:
        with self.transaction(commit=False) as session:
            row = session.execute(
                select(VEE_EXCEPTION_DAYS).where(VEE_EXCEPTION_DAYS.c.day_id == day_id)
            ).one()
        return row.channel_id, row.first_second, row.interval_seconds


class VeeExceptionProjection(Projection[VeeExceptionView]):
    name = "vee_exceptions"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Other events leave the queue as it is."""

    @process_event.register
    def _opened(self, domain_event: ChannelDay.Opened, tracking: Tracking) -> None:
        first = int(day_start(datetime.fromisoformat(domain_event.day).date()).timestamp())
        self.view.open_day(
            domain_event.originator_id,
            domain_event.channel_id,
            first,
            domain_event.interval_minutes * 60,
        )

    @process_event.register
    def _recorded(self, domain_event: ChannelDay.IntervalsRecorded, tracking: Tracking) -> None:
        first, count = domain_event.first_slot, len(domain_event.values)
        held = set(domain_event.held_slots)
        failed = {
            first + index
            for index, quality in enumerate(domain_event.qualities.tolist())
            if quality in (ReadingQuality.FAILED, ReadingQuality.MISSING)
        } - held
        rows: list[dict[str, Any]] = []
        for finding in domain_event.findings:
            if finding.get("severity") != "fail":
                continue
            slots = finding.get("slots") or range(first, first + count)
            rows.extend(
                {
                    "slot": slot,
                    "rule": finding["rule"],
                    "message": finding.get("message", ""),
                    "suggestion": finding.get("suggestion", ""),
                }
                for slot in slots
                if slot in failed
            )
        settled = sorted(set(range(first, first + count)) - failed - held)
        if settled:
            self.view.settle(domain_event.originator_id, settled)
        self.view.open_exceptions(
            domain_event.originator_id,
            rows,
            int(domain_event.timestamp.timestamp()),
            domain_event.originator_version,
        )

    @process_event.register
    def _revised(self, domain_event: ChannelDay.SlotsRevised, tracking: Tracking) -> None:
        if domain_event.quality in SETTLED:
            self.view.settle(domain_event.originator_id, list(domain_event.slots))
