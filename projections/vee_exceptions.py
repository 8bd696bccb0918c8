"""The VEE exception queue: intervals a failing rule left for a person to decide.

An interval enters the queue when a delivery records a failing finding on it (with the
rule, message and suggestion) and leaves it when it is estimated, edited, accepted as
is, or delivered again and validated. Rebuildable from the Readings events like every
read model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import numpy as np
from eventsourcing.persistence import Notification, Tracking
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
    delete,
    func,
    select,
)

from domain.channel_day import ChannelDay, day_start
from domain.reading_quality import ReadingQuality
from projections.runner import ReadModelView, continued_originators

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


@dataclass
class _ExceptionDay:
    """A day's open exceptions while a batch changes them, by (start, rule)."""

    channel_id: UUID
    first_second: int
    interval_seconds: int
    opened_here: bool  # the batch opened the day: nothing of it is stored yet
    rows: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    changed: bool = False

    def settle(self, starts: set[int]) -> None:
        for key in [key for key in self.rows if key[0] in starts]:
            del self.rows[key]
            self.changed = True


class VeeExceptionView(ReadModelView):
    """Writes per runner batch: the days a batch continues are read in two queries before
    it, and the days it changed are rewritten in a few statements after it."""

    def __init__(self, datastore: SQLAlchemyDatastore, *, create_tables: bool = True) -> None:
        super().__init__(
            datastore,
            tracking_table_name="vee_exceptions_tracking",
            tables=[VEE_EXCEPTIONS, VEE_EXCEPTION_DAYS],
            create_tables=create_tables,
        )
        self._batch: dict[UUID, _ExceptionDay] | None = None

    # -- writing -------------------------------------------------------------------

    def prepare_batch(self, notifications: Sequence[Notification]) -> None:
        continued = continued_originators(notifications)
        self._batch = self._load(continued)

    def flush(self) -> None:
        batch, self._batch = self._batch, None
        if not batch:
            return
        opened = [
            {"day_id": day_id, "channel_id": day.channel_id, "first_second": day.first_second,
             "interval_seconds": day.interval_seconds}
            for day_id, day in batch.items() if day.opened_here
        ]  # fmt: skip
        stale = [day_id for day_id, day in batch.items() if day.changed and not day.opened_here]
        rows = [row for day in batch.values() if day.changed for row in day.rows.values()]
        with self.transaction(commit=True) as session:
            if opened:
                session.execute(VEE_EXCEPTION_DAYS.insert(), opened)
            for part in range(0, len(stale), 1_000):
                chosen = stale[part : part + 1_000]
                session.execute(delete(VEE_EXCEPTIONS).where(VEE_EXCEPTIONS.c.day_id.in_(chosen)))
            if rows:
                session.execute(VEE_EXCEPTIONS.insert(), rows)

    def abandon_batch(self) -> None:
        self._batch = None

    @property
    def batch_open(self) -> bool:
        return self._batch is not None

    def open_day(self, day_id: UUID, channel_id: UUID, first_second: int, step: int) -> None:
        with self.writing():
            batch = self._open_batch()
            if day_id not in batch:
                batch[day_id] = _ExceptionDay(channel_id, first_second, step, opened_here=True)

    def settle(self, day_id: UUID, slots: list[int]) -> None:
        with self.writing():
            day = self._day(day_id)
            day.settle({day.first_second + slot * day.interval_seconds for slot in slots})

    def open_exceptions(
        self, day_id: UUID, rows: list[dict[str, Any]], opened_at: int, version: int
    ) -> None:
        if not rows:
            return
        with self.writing():
            day = self._day(day_id)
            step = day.interval_seconds
            day.settle({day.first_second + row["slot"] * step for row in rows})
            day.changed = True
            for row in rows:
                start_at = day.first_second + row["slot"] * step
                day.rows[(start_at, row["rule"])] = {
                    "channel_id": day.channel_id,
                    "start_at": start_at,
                    "rule": row["rule"],
                    "day_id": day_id,
                    "message": row["message"],
                    "suggestion": row["suggestion"],
                    "opened_at": opened_at,
                    "day_version": version,
                }

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

    # -- internals -------------------------------------------------------------------

    def _open_batch(self) -> dict[UUID, _ExceptionDay]:
        assert self._batch is not None  # inside ``writing()``
        return self._batch

    def _day(self, day_id: UUID) -> _ExceptionDay:
        batch = self._open_batch()
        if day_id not in batch:
            batch.update(self._load([day_id]))
        return batch[day_id]  # a day never opened here is a bug: KeyError

    def _load(self, day_ids: list[UUID]) -> dict[UUID, _ExceptionDay]:
        """The days and their open exceptions, two queries per thousand days."""
        days: dict[UUID, _ExceptionDay] = {}
        with self.transaction(commit=False) as session:
            for part in range(0, len(day_ids), 1_000):
                chosen = day_ids[part : part + 1_000]
                found = select(VEE_EXCEPTION_DAYS).where(VEE_EXCEPTION_DAYS.c.day_id.in_(chosen))
                for day in session.execute(found):
                    days[day.day_id] = _ExceptionDay(
                        day.channel_id, day.first_second, day.interval_seconds, opened_here=False
                    )
                rows = select(VEE_EXCEPTIONS).where(VEE_EXCEPTIONS.c.day_id.in_(chosen))
                for row in session.execute(rows).mappings():
                    days[row["day_id"]].rows[(row["start_at"], row["rule"])] = dict(row)
        return days


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
        qualities = domain_event.qualities
        unsettled = (qualities == ReadingQuality.FAILED) | (qualities == ReadingQuality.MISSING)
        failed = set((np.flatnonzero(unsettled) + first).tolist()) - held
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
