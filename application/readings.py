"""Readings: interval blocks of channels, stored per channel and day.

A block spanning midnight is split over its days and saved in one ``save`` call, so a
delivery is recorded whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.base import HesApplication
from application.block_validation import BlockValidation
from application.errors import ConcurrentEdit
from application.interval_revisions import IntervalRevisions
from application.register_reads import RegisterReads, total_streams, vee_reads
from domain.channel_day import BlockOutOfDay, ChannelDay, day_start
from domain.provenance import Provenance
from domain.register_month import RegisterMonth
from domain.vee.series import IntervalSeries, RegisterRead


@dataclass(frozen=True)
class BlockOutcome:
    """How much of a delivered block was new (the rest repeated recorded values)."""

    intervals: int
    recorded_days: int


class Readings(IntervalRevisions, RegisterReads, HesApplication):
    name = "Readings"
    snapshotting_intervals = {ChannelDay: 20, RegisterMonth: 20}

    def record_block(
        self,
        channel_id: UUID,
        interval_minutes: int,
        start: datetime,
        values: np.ndarray,
        statuses: np.ndarray,
        provenance: Provenance,
        *,
        validation: BlockValidation | None = None,
    ) -> BlockOutcome:
        """Records a delivered block, split over its UTC days, in one transaction.

        With ``validation`` the per-slot qualities and findings are recorded with the
        block, and its estimates right after it, in the same transaction.
        """
        staged: dict[UUID, ChannelDay] = {}
        intervals = self._stage_block(
            staged, channel_id, interval_minutes, start, values, statuses, provenance, validation
        )
        self._save_staged(channel_id, staged)
        return BlockOutcome(intervals=intervals, recorded_days=len(staged))

    def record_blocks(
        self,
        channel_id: UUID,
        interval_minutes: int,
        blocks: list[tuple[datetime, np.ndarray, np.ndarray]],
        provenance: Provenance,
    ) -> BlockOutcome:
        """Several blocks (start, values, statuses) of one channel, all or none."""
        staged: dict[UUID, ChannelDay] = {}
        intervals = sum(
            self._stage_block(
                staged, channel_id, interval_minutes, start, values, statuses, provenance, None
            )
            for start, values, statuses in blocks
        )
        self._save_staged(channel_id, staged)
        return BlockOutcome(intervals=intervals, recorded_days=len(staged))

    def _stage_block(
        self,
        staged: dict[UUID, ChannelDay],
        channel_id: UUID,
        interval_minutes: int,
        start: datetime,
        values: np.ndarray,
        statuses: np.ndarray,
        provenance: Provenance,
        validation: BlockValidation | None,
    ) -> int:
        if start.tzinfo is None:
            raise BlockOutOfDay("interval times must be timezone-aware")
        start = start.astimezone(UTC)
        step = timedelta(minutes=interval_minutes)
        if (start - day_start(start.date())) % step:
            raise BlockOutOfDay(f"{start.isoformat()} is not on a {interval_minutes} min boundary")
        new_intervals = 0
        offset = 0
        while offset < len(values):
            moment = start + step * offset
            day = moment.date()
            first_slot = (moment - day_start(day)) // step
            count = min(len(values) - offset, 1440 // interval_minutes - first_slot)
            day_id = ChannelDay.id_for(channel_id, day)
            channel_day = staged.get(day_id) or self._day_for_recording(
                channel_id, day, interval_minutes
            )
            block = slice(offset, offset + count)
            part = validation.part(offset, count, first_slot) if validation else None
            recorded = channel_day.record(
                first_slot,
                values[block],
                statuses[block],
                provenance,
                qualities=part.qualities if part else None,
                findings=part.findings if part else (),
            )
            if recorded and part:
                for slots, estimated, method in part.estimates:
                    channel_day.estimate(slots, estimated, method, part.estimator)
            if recorded:
                staged[day_id] = channel_day
                new_intervals += count
            offset += count
        return new_intervals

    def _save_staged(self, channel_id: UUID, staged: dict[UUID, ChannelDay]) -> None:
        try:
            self.save(*staged.values())
        except IntegrityError:
            raise ConcurrentEdit("channel", str(channel_id), " (intervals)") from None

    def intervals(
        self,
        channel_id: UUID,
        start: datetime,
        end: datetime,
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Every recorded interval starting in [start, end), as known at ``as_of``."""
        return [
            row
            for channel_day in self.days_as_of(channel_id, start, end, as_of)
            for row in channel_day.rows()
            if row["quality"] != "missing" and start <= row["start"] < end
        ]

    def days_as_of(
        self, channel_id: UUID, start: datetime, end: datetime, as_of: datetime | None = None
    ) -> list[ChannelDay]:
        """The channel's days overlapping [start, end) as known at ``as_of``, in time
        order, read together (``get_many_as_of``: days are short streams)."""
        days = _day_ids(channel_id, start, end)
        found = self.get_many_as_of(days, as_of)
        return [found[day_id] for day_id in days if day_id in found]

    def delivery_context(
        self,
        channel_id: UUID,
        interval_minutes: int,
        history_start: datetime,
        start: datetime,
        end: datetime,
    ) -> tuple[IntervalSeries, IntervalSeries, list[RegisterRead]]:
        """What validating a delivery of [start, end) reads, in one query: the history
        [history_start, start) as known now, the values delivered before in [start, end),
        and the stored ``total`` register reads in [start, end]."""
        days = _day_ids(channel_id, history_start, end)
        streams = total_streams([channel_id], start, end)
        found = self.get_many_as_of(days + list(streams), None)
        known = [found[day_id] for day_id in days if day_id in found]
        return (
            _series_of(known, interval_minutes, history_start, start, raw=False),
            _series_of(known, interval_minutes, start, end, raw=True),
            vee_reads(streams, found, start, end).get(channel_id, []),
        )

    def series(
        self,
        channel_id: UUID,
        interval_minutes: int,
        start: datetime,
        end: datetime,
        *,
        raw: bool = False,
    ) -> IntervalSeries:
        """The channel's slots in [start, end) as arrays (NaN/MISSING where nothing is known).

        ``raw``: the values as last delivered instead of as currently known.
        """
        days = self.days_as_of(channel_id, start, end)
        return _series_of(days, interval_minutes, start, end, raw=raw)

    def day_versions(self, channel_id: UUID, day: date) -> list[Any]:
        return self.history_of(ChannelDay.id_for(channel_id, day))

    def _day_for_recording(self, channel_id: UUID, day: date, interval_minutes: int) -> ChannelDay:
        try:
            channel_day: ChannelDay = self.repository.get(ChannelDay.id_for(channel_id, day))
        except AggregateNotFoundError:
            return ChannelDay.open(channel_id, day, interval_minutes)
        if channel_day.interval_minutes != interval_minutes:
            raise BlockOutOfDay(
                f"channel {channel_id} records {channel_day.interval_minutes} min intervals, "
                f"not {interval_minutes}"
            )
        return channel_day


def _day_ids(channel_id: UUID, start: datetime, end: datetime) -> list[UUID]:
    """The ids of the channel's UTC days overlapping [start, end), in time order."""
    days: list[UUID] = []
    day = start.astimezone(UTC).date()
    while day_start(day) < end:
        days.append(ChannelDay.id_for(channel_id, day))
        day += timedelta(days=1)
    return days


def _series_of(
    days: list[ChannelDay], interval_minutes: int, start: datetime, end: datetime, *, raw: bool
) -> IntervalSeries:
    """The slots of [start, end) from ``days`` (NaN/MISSING where they hold nothing)."""
    step = timedelta(minutes=interval_minutes)
    count = (end - start) // step
    values = np.full(count, np.nan)
    statuses = np.zeros(count, dtype=np.uint8)
    qualities = np.zeros(count, dtype=np.uint8)
    for channel_day in days:
        offset = (day_start(date.fromisoformat(channel_day.day)) - start) // step
        first, last = max(0, -offset), min(len(channel_day.values), count - offset)
        if first < last:
            target = slice(offset + first, offset + last)
            source = channel_day.raw if raw else channel_day.values
            values[target] = source[first:last]
            statuses[target] = channel_day.statuses[first:last]
            qualities[target] = channel_day.qualities[first:last]
    return IntervalSeries(start, interval_minutes, values, statuses, qualities)
