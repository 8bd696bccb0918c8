"""Where like-day estimation looks: day types in the channel's calendar, and one slot
timeline over the history and the series together."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from domain.reading_quality import ReadingQuality
from domain.vee.series import IntervalSeries, ValidationContext


class DayType(enum.Enum):
    """Days whose consumption looks alike (the BDEW standard load profiles use the same)."""

    WORKING_DAY = "working day"
    SATURDAY = "Saturday"
    SUNDAY_OR_HOLIDAY = "Sunday or holiday"


def day_type(day: date, holidays: Collection[date]) -> DayType:
    if day.weekday() == 6 or day in holidays:
        return DayType.SUNDAY_OR_HOLIDAY
    if day.weekday() == 5:
        return DayType.SATURDAY
    return DayType.WORKING_DAY


def midnight_offset(series: IntervalSeries, day: date, zone: ZoneInfo) -> float:
    """Local midnight starting ``day``, in slots from the series start."""
    return (datetime.combine(day, time(), zone) - series.start) / series.step


def local_date(series: IntervalSeries, slot: int, zone: ZoneInfo) -> date:
    return series.slot_start(slot).astimezone(zone).date()


def overlaps_outage(context: ValidationContext, day: date, zone: ZoneInfo) -> bool:
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return any(
        outage.down_at < end and (outage.up_at is None or outage.up_at > start)
        for outage in context.outages
    )


@dataclass(frozen=True)
class SlotTimeline:
    """Values and qualities by slot offset from the series start; history before it (or
    overlapping it: the series wins) joins when it is on the same grid."""

    first: int
    values: np.ndarray
    qualities: np.ndarray

    @classmethod
    def of(cls, context: ValidationContext) -> SlotTimeline:
        series = context.series
        parts: list[tuple[int, IntervalSeries]] = []
        history = context.history
        if history is not None and history.interval_minutes == series.interval_minutes:
            offset = (history.start - series.start) / series.step
            if offset.is_integer():
                parts.append((int(offset), history))
        parts.append((0, series))
        first = min(offset for offset, _ in parts)
        end = max(offset + len(part) for offset, part in parts)
        values = np.full(end - first, np.nan)
        qualities = np.full(end - first, ReadingQuality.MISSING, dtype=np.uint8)
        for offset, part in parts:
            values[offset - first : offset - first + len(part)] = part.values
            qualities[offset - first : offset - first + len(part)] = part.qualities
        return cls(first, values, qualities)

    def at(self, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values and qualities at slot ``offsets``; outside the timeline: NaN, MISSING."""
        index = offsets - self.first
        inside = (index >= 0) & (index < len(self.values))
        values = np.full(len(offsets), np.nan)
        qualities = np.full(len(offsets), ReadingQuality.MISSING, dtype=np.uint8)
        values[inside] = self.values[index[inside]]
        qualities[inside] = self.qualities[index[inside]]
        return values, qualities
