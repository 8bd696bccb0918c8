"""People's work on interval data: edits with reasons, accept as is, estimates, versions.

Slots are addressed by their start time; a request spanning days is grouped per
channel day and saved in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.errors import ConcurrentEdit, UnknownAggregate
from domain.channel_day import BlockOutOfDay, ChannelDay, day_start
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality
from domain.vee.reason_codes import check_reason


class IntervalRevisions:
    """Mixed into the Readings application (uses its repository and save)."""

    def edit_intervals(
        self, channel_id: UUID, values: Mapping[datetime, float], provenance: Provenance
    ) -> int:
        check_reason(provenance.reason_code, provenance.reason)
        days = self._days_for(channel_id, values)
        for channel_day, slots, new_values in days:
            channel_day.edit(slots, np.asarray(new_values), provenance)
        return self._save_days(channel_id, [day for day, _, _ in days])

    def accept_as_is(
        self, channel_id: UUID, starts: Iterable[datetime], provenance: Provenance
    ) -> int:
        days = self._days_for(channel_id, dict.fromkeys(starts, 0.0))
        for channel_day, slots, _ in days:
            channel_day.accept_as_is(slots, provenance)
        return self._save_days(channel_id, [day for day, _, _ in days])

    def estimate_intervals(
        self,
        channel_id: UUID,
        values: Mapping[datetime, float],
        method: str,
        provenance: Provenance,
        override_reason: str | None = None,
    ) -> int:
        days = self._days_for(channel_id, values)
        for channel_day, slots, new_values in days:
            channel_day.estimate(slots, np.asarray(new_values), method, provenance, override_reason)
        return self._save_days(channel_id, [day for day, _, _ in days])

    def mark_billed(
        self, channel_id: UUID, starts: Iterable[datetime], provenance: Provenance
    ) -> int:
        days = self._days_for(channel_id, dict.fromkeys(starts, 0.0))
        for channel_day, slots, _ in days:
            channel_day.mark_billed(slots, provenance)
        return self._save_days(channel_id, [day for day, _, _ in days])

    def interval_versions(self, channel_id: UUID, start: datetime) -> list[dict[str, Any]]:
        """Every value the interval starting at ``start`` has had, oldest first."""
        moment = _aware(start)
        day = moment.date()
        events = self.history_of(ChannelDay.id_for(channel_id, day))  # type: ignore[attr-defined]
        if not events:
            raise UnknownAggregate("interval", f"{channel_id} {moment.isoformat()}")
        step = timedelta(minutes=events[0].interval_minutes)
        offset = moment - day_start(day)
        if offset % step:
            raise BlockOutOfDay(f"{moment.isoformat()} is not the start of an interval")
        slot = offset // step
        versions: list[dict[str, Any]] = []
        for event in events[1:]:
            entry = _version_entry(event, slot)
            if entry is not None:
                versions.append(entry)
        return versions

    # -- internals ------------------------------------------------------------------

    def _days_for(
        self, channel_id: UUID, values: Mapping[datetime, float]
    ) -> list[tuple[ChannelDay, list[int], list[float]]]:
        if not values:
            raise BlockOutOfDay("no intervals were named")
        grouped: dict[date, list[tuple[datetime, float]]] = defaultdict(list)
        for moment, value in values.items():
            aware = _aware(moment)
            grouped[aware.date()].append((aware, float(value)))
        result = []
        for day, items in sorted(grouped.items()):
            try:
                channel_day: ChannelDay = self.repository.get(  # type: ignore[attr-defined]
                    ChannelDay.id_for(channel_id, day)
                )
            except AggregateNotFoundError:
                raise UnknownAggregate("channel day", f"{channel_id} {day}") from None
            step = timedelta(minutes=channel_day.interval_minutes)
            slots, new_values = [], []
            for moment, value in sorted(items):
                offset = moment - day_start(day)
                if offset % step:
                    raise BlockOutOfDay(f"{moment.isoformat()} is not the start of an interval")
                slots.append(offset // step)
                new_values.append(value)
            result.append((channel_day, slots, new_values))
        return result

    def _save_days(self, channel_id: UUID, days: list[ChannelDay]) -> int:
        try:
            self.save(*days)  # type: ignore[attr-defined]
        except IntegrityError:
            raise ConcurrentEdit("channel", str(channel_id), " (intervals)") from None
        return sum(day.version for day in days)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise BlockOutOfDay("interval times must be timezone-aware")
    return moment.astimezone(UTC)


def _version_entry(event: Any, slot: int) -> dict[str, Any] | None:
    common = {
        "version": event.originator_version,
        "recorded_at": event.timestamp,
        "event": type(event).__name__,
        "actor": event.actor,
        "reason": event.reason,
        "reason_code": event.reason_code,
        "source": event.source,
    }
    if isinstance(event, ChannelDay.IntervalsRecorded):
        index = slot - event.first_slot
        if not 0 <= index < len(event.values):
            return None
        value = float(event.values[index])
        held = slot in event.held_slots
        return {
            **common,
            "value": None if np.isnan(value) else value,
            "meter_status": int(event.statuses[index]),
            "quality": ReadingQuality(int(event.qualities[index])).name.lower(),
            "held": held,
            "findings": [f for f in event.findings if slot in f.get("slots", [slot])],
        }
    if isinstance(event, ChannelDay.SlotsRevised) and slot in event.slots:
        value = float(event.values[event.slots.index(slot)])
        return {
            **common,
            "value": value,
            "quality": ReadingQuality(event.quality).name.lower(),
            "method": event.method,
        }
    if isinstance(event, ChannelDay.EstimatesBilled) and slot in event.slots:
        return {**common, "billed": True}
    return None
