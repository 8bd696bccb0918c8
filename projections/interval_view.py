"""Interval view: the latest known state of every channel day, one row per day.

Built from the Readings application's ``ChannelDay`` events by applying each event to a
copy of the day's state (the aggregate's own ``apply``), so a row holds exactly what the
aggregate holds at that version (``projections/interval_days.py`` has the table). The
rows a runner batch touches are read in one query before the batch (days the batch opens
have none) and written in one round of statements after it: a delivery costs one row,
not one per interval.

Queries take and return tz-aware datetimes. Earlier versions are not kept here: as-of
reads go to the Readings application (``Readings.intervals(..., as_of=...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast
from uuid import UUID

import numpy as np
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import func, select, text

from domain.channel_day import ChannelDay
from domain.reading_quality import ReadingQuality
from projections.interval_days import INTERVAL_DAYS, DayBlock, add_day_usage, write_rows
from projections.runner import ReadModelView, continued_originators

_DAY = 86_400
_QUALITY_NAMES = [quality.name.lower() for quality in ReadingQuality]


def _epoch_seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("interval times must be timezone-aware")
    return int(moment.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class _PendingDay:
    """A day's state while a batch changes it: a bare ``ChannelDay`` the events apply to."""

    state: ChannelDay
    written: np.ndarray
    version: int
    data_version: int = 0

    @classmethod
    def loaded(cls, block: DayBlock) -> _PendingDay:
        state = object.__new__(ChannelDay)  # no events, no version: only the slot arrays
        state.channel_id = block.channel_id
        state.day = _moment(block.first_second).date().isoformat()
        state.interval_minutes = block.interval_seconds // 60
        state.values, state.raw = block.values, block.raw
        state.statuses, state.qualities = block.statuses, block.qualities
        state.billed = block.billed
        return cls(state, block.written, block.version, block.data_version)

    def block(self, day_id: UUID) -> DayBlock:
        return DayBlock.of(
            self.state,
            day_id=day_id,
            version=self.version,
            data_version=self.data_version,
            written=self.written,
        )


class IntervalView(ReadModelView):
    def __init__(self, datastore: SQLAlchemyDatastore, *, create_tables: bool = True) -> None:
        super().__init__(
            datastore,
            tracking_table_name="interval_days_tracking",
            tables=[INTERVAL_DAYS],
            create_tables=create_tables,
        )
        self._batch: dict[UUID, _PendingDay] | None = None
        if create_tables:
            with self.transaction(commit=True) as session:
                add_day_usage(session, self.dialect)

    # -- writing (inside the runner's transaction) -----------------------------------

    def prepare_batch(self, notifications: Sequence[Notification]) -> None:
        """Reads the rows of the days the batch continues; days it opens have none."""
        continued = continued_originators(notifications)
        self._batch = {block.day_id: _PendingDay.loaded(block) for block in self._load(continued)}

    def flush(self) -> None:
        batch, self._batch = self._batch, None
        if batch:
            blocks = [pending.block(day_id) for day_id, pending in batch.items()]
            with self.transaction(commit=True) as session:
                write_rows(session, self.dialect, blocks)

    def abandon_batch(self) -> None:
        self._batch = None

    @property
    def batch_open(self) -> bool:
        return self._batch is not None

    def apply(self, domain_event: ChannelDay.Opened | ChannelDay.WithProvenance) -> None:
        """Applies one event of a channel day to the day's row."""
        with self.writing():
            batch = self._open_batch()
            day_id, version = domain_event.originator_id, domain_event.originator_version
            if isinstance(domain_event, ChannelDay.Opened):
                if day_id in batch:
                    return  # already opened: a replayed event
                state = object.__new__(ChannelDay)
                domain_event.apply(state)
                batch[day_id] = _PendingDay(state, np.zeros(len(state.values), bool), version)
                return
            pending = self._pending(batch, day_id)
            if version <= pending.version:
                return  # already applied: a replayed event
            domain_event.apply(pending.state)
            written = pending.written.copy()
            if isinstance(domain_event, ChannelDay.IntervalsRecorded):
                first = domain_event.first_slot
                written[first : first + len(domain_event.values)] = True
                pending.data_version = version
            elif isinstance(domain_event, ChannelDay.SlotsRevised):
                written[np.asarray(domain_event.slots, dtype=np.int64)] = True
                pending.data_version = version
            pending.written, pending.version = written, version

    def open_day(self, day_id: UUID, channel_id: UUID, day: str, interval_minutes: int) -> None:
        """A day with nothing written yet (what ``ChannelDay.Opened`` does)."""
        opened = SimpleNamespace(channel_id=channel_id, day=day, interval_minutes=interval_minutes)
        with self.writing():
            batch = self._open_batch()
            if day_id not in batch:
                state = object.__new__(ChannelDay)
                ChannelDay.Opened.apply(cast(Any, opened), state)
                batch[day_id] = _PendingDay(state, np.zeros(len(state.values), bool), 1)

    def write_slots(
        self,
        day_id: UUID,
        slots: list[int],
        values: list[float],
        statuses: list[int] | None,
        qualities: list[int],
        day_version: int,
    ) -> None:
        """Sets the given slots of one channel day (``statuses`` None: keep them)."""
        with self.writing():
            pending = self._pending(self._open_batch(), day_id)
            chosen = np.asarray(slots, dtype=np.int64)
            state = pending.state
            state.revise(chosen, np.asarray(values, float), np.asarray(qualities, np.uint8))
            if statuses is not None:
                state.statuses, state.raw = state.statuses.copy(), state.raw.copy()
                state.statuses[chosen] = statuses
                state.raw[chosen] = values
            pending.written = pending.written.copy()
            pending.written[chosen] = True
            pending.version = max(pending.version, day_version)
            pending.data_version = max(pending.data_version, day_version)

    # -- queries ---------------------------------------------------------------------

    def day_blocks(self, channel_id: UUID, start: datetime, end: datetime) -> list[DayBlock]:
        """The channel's days that overlap [start, end), in time order."""
        table = INTERVAL_DAYS
        query = (
            select(table)
            .where(
                table.c.channel_id == channel_id,
                table.c.first_second > _epoch_seconds(start) - _DAY,
                table.c.first_second < _epoch_seconds(end),
            )
            .order_by(table.c.first_second)
        )
        with self.transaction(commit=False) as session:
            return [DayBlock.from_row(row) for row in session.execute(query)]

    def intervals(self, channel_id: UUID, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Written intervals starting in [start, end), in time order (a delivered slot
        without a value is there, as ``missing``)."""
        rows: list[dict[str, Any]] = []
        for block in self.day_blocks(channel_id, start, end):
            for slot in _slots(block, block.written, start, end):
                rows.append(_interval(block, slot))
        return rows

    def known_intervals(
        self, channel_id: UUID, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """What ``Readings.intervals`` answers without ``as_of``: every interval with a
        value or a judgement, with its raw value, billed mark and day version."""
        rows: list[dict[str, Any]] = []
        for block in self.day_blocks(channel_id, start, end):
            known = block.qualities != ReadingQuality.MISSING
            for slot in _slots(block, known, start, end):
                value, raw = float(block.values[slot]), float(block.raw[slot])
                rows.append(
                    {
                        "start": _moment(block.first_second + slot * block.interval_seconds),
                        "value": None if np.isnan(value) else value,
                        "raw_value": None if np.isnan(raw) else raw,
                        "meter_status": int(block.statuses[slot]),
                        "quality": _QUALITY_NAMES[block.qualities[slot]],
                        "billed": bool(block.billed[slot]),
                        "version": block.version,
                    }
                )
        return rows

    def latest_interval(self, channel_id: UUID) -> dict[str, Any] | None:
        table = INTERVAL_DAYS
        query = (
            select(table)
            .where(table.c.channel_id == channel_id, table.c.written_count > 0)
            .order_by(table.c.first_second.desc())
            .limit(1)
        )
        with self.transaction(commit=False) as session:
            row = session.execute(query).first()
        if row is None:
            return None
        return _interval(DayBlock.from_row(row), int(row.last_written))

    def summary(self) -> list[dict[str, Any]]:
        """Per channel: how many intervals, the first and the last interval start."""
        table = INTERVAL_DAYS
        query = (
            select(
                table.c.channel_id,
                func.sum(table.c.written_count),
                func.min(table.c.first_second + table.c.first_written * table.c.interval_seconds),
                func.max(table.c.first_second + table.c.last_written * table.c.interval_seconds),
            )
            .where(table.c.written_count > 0)
            .group_by(table.c.channel_id)
            .order_by(table.c.channel_id)
        )
        with self.transaction(commit=False) as session:
            rows = session.execute(query).all()
        return [
            {
                "channel_id": row[0],
                "intervals": int(row[1]),
                "first": _moment(int(row[2])),
                "last": _moment(int(row[3])),
            }
            for row in rows
        ]

    def lags(self, application_name: str, events_table_name: str) -> bool:
        """Whether the application recorded events this view has not processed (one query)."""
        query = text(
            f"SELECT (SELECT max(notification_id) FROM {self.tracking_table_name}"
            " WHERE application_name = :name),"
            f" (SELECT max(id) FROM {events_table_name})"
        )
        with self.transaction(commit=False) as session:
            position, last = session.execute(query, {"name": application_name}).one()
        return last is not None and (position is None or position < last)

    # -- internals -------------------------------------------------------------------

    def _open_batch(self) -> dict[UUID, _PendingDay]:
        assert self._batch is not None  # inside ``writing()``
        return self._batch

    def _pending(self, batch: dict[UUID, _PendingDay], day_id: UUID) -> _PendingDay:
        if day_id not in batch:
            loaded = self._load([day_id])
            if not loaded:
                raise LookupError(f"channel day {day_id} was never opened in this view")
            batch[day_id] = _PendingDay.loaded(loaded[0])
        return batch[day_id]

    def _load(self, day_ids: list[UUID]) -> list[DayBlock]:
        blocks: list[DayBlock] = []
        with self.transaction(commit=False) as session:
            for part in range(0, len(day_ids), 1_000):
                query = select(INTERVAL_DAYS).where(
                    INTERVAL_DAYS.c.day_id.in_(day_ids[part : part + 1_000])
                )
                blocks.extend(DayBlock.from_row(row) for row in session.execute(query))
        return blocks


def _slots(block: DayBlock, mask: np.ndarray, start: datetime, end: datetime) -> list[int]:
    first = -(-(_epoch_seconds(start) - block.first_second) // block.interval_seconds)
    stop = -(-(_epoch_seconds(end) - block.first_second) // block.interval_seconds)
    first, stop = max(first, 0), min(stop, len(mask))
    return [int(slot) + first for slot in np.flatnonzero(mask[first:stop])]


def _interval(block: DayBlock, slot: int) -> dict[str, Any]:
    value = float(block.values[slot])
    return {
        "start": _moment(block.first_second + slot * block.interval_seconds),
        "value": None if np.isnan(value) else value,
        "meter_status": int(block.statuses[slot]),
        "quality": _QUALITY_NAMES[block.qualities[slot]],
    }


class IntervalProjection(Projection[IntervalView]):
    """Applies every event of a channel day to the day's row in ``interval_days``."""

    name = "interval_view"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Other events of Readings do not change interval values."""

    @process_event.register
    def _opened(self, domain_event: ChannelDay.Opened, tracking: Tracking) -> None:
        self.view.apply(domain_event)

    @process_event.register
    def _changed(self, domain_event: ChannelDay.WithProvenance, tracking: Tracking) -> None:
        self.view.apply(domain_event)
