"""A series laid out by UTC day (the day of a ChannelDay): one row a day, one column a
slot of the day, so per-day rules work on whole rows at once instead of per interval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from domain.vee.rules.slots import present_values
from domain.vee.series import IntervalSeries

MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class DailyGrid:
    first_day: date
    values: np.ndarray  # (days, slots a day) float64; NaN where missing or outside the series
    slots: np.ndarray  # (days, slots a day) int64 index into the series; -1 outside it

    @property
    def days(self) -> tuple[date, ...]:
        """The UTC day of each row (only findings name days: not built unless asked)."""
        return tuple(self.first_day + timedelta(days=row) for row in range(len(self.values)))

    @property
    def complete(self) -> np.ndarray:
        """Days whose every slot is in the series and has a value."""
        return ~np.isnan(self.values).any(axis=1)

    @property
    def totals(self) -> np.ndarray:
        """Each day's sum of the values present."""
        return np.nansum(self.values, axis=1)

    def slots_of(self, row: int, mask: np.ndarray | None = None) -> tuple[int, ...]:
        chosen = self.slots[row] >= 0
        if mask is not None:
            chosen &= mask
        return tuple(int(slot) for slot in self.slots[row][chosen])


def daily_values(series: IntervalSeries) -> np.ndarray:
    """``daily_grid(series).values`` alone: for a history, whose slots nobody names."""
    lead = _whole_slot_lead(series)
    if lead is None:
        return daily_grid(series).values
    width = MINUTES_PER_DAY // series.interval_minutes
    day_count = -(-(lead + len(series)) // width) if len(series) else 0
    values = np.full(day_count * width, np.nan)
    values[lead : lead + len(series)] = present_values(series)
    return values.reshape(day_count, width)


def _whole_slot_lead(series: IntervalSeries) -> int | None:
    """Slots before the series on its first day, when slots divide a day; else None."""
    start = series.start.astimezone(UTC)
    midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
    first_minute = (start - midnight) / timedelta(minutes=1)
    interval = series.interval_minutes
    if MINUTES_PER_DAY % interval == 0 and first_minute % interval == 0:
        return int(first_minute) // interval
    return None


def daily_grid(series: IntervalSeries) -> DailyGrid:
    start = series.start.astimezone(UTC)
    midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
    first_minute = (start - midnight) / timedelta(minutes=1)
    interval = series.interval_minutes
    if MINUTES_PER_DAY % interval == 0 and first_minute % interval == 0:
        values, slots = _whole_slot_days(series, int(first_minute) // interval)
    else:
        values, slots = _scattered_days(series, first_minute)
    return DailyGrid(midnight.date(), values, slots)


def _whole_slot_days(series: IntervalSeries, lead: int) -> tuple[np.ndarray, np.ndarray]:
    # The usual case (slots on boundaries that divide a day): pad and reshape, no indexing.
    width = MINUTES_PER_DAY // series.interval_minutes
    day_count = -(-(lead + len(series)) // width) if len(series) else 0
    values = np.full(day_count * width, np.nan)
    slots = np.full(day_count * width, -1, dtype=np.int64)
    values[lead : lead + len(series)] = present_values(series)
    slots[lead : lead + len(series)] = np.arange(len(series))
    return values.reshape(day_count, width), slots.reshape(day_count, width)


def _scattered_days(series: IntervalSeries, first_minute: float) -> tuple[np.ndarray, np.ndarray]:
    minutes = first_minute + np.arange(len(series)) * series.interval_minutes
    day_numbers = (minutes // MINUTES_PER_DAY).astype(np.int64)
    columns = ((minutes % MINUTES_PER_DAY) // series.interval_minutes).astype(np.int64)
    width = -(-MINUTES_PER_DAY // series.interval_minutes)
    day_count = int(day_numbers[-1]) + 1 if len(series) else 0
    values = np.full((day_count, width), np.nan)
    slots = np.full((day_count, width), -1, dtype=np.int64)
    values[day_numbers, columns] = present_values(series)
    slots[day_numbers, columns] = np.arange(len(series))
    return values, slots
