"""VEE unit tests, and the crafted data they share: series of a channel built from plain
lists (NaN where missing), register reads and contexts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np

from domain.reading_quality import ReadingQuality
from domain.vee.series import IntervalSeries, RegisterRead

DAY = date(2026, 3, 2)  # a Monday
MIDNIGHT = datetime(2026, 3, 2, tzinfo=UTC)


def interval_series(
    values: Sequence[float] | np.ndarray,
    start: datetime = MIDNIGHT,
    interval_minutes: int = 15,
    statuses: Sequence[int] | np.ndarray | None = None,
) -> IntervalSeries:
    """A series as a ChannelDay delivers it: quality MISSING where the value is NaN."""
    array = np.asarray(values, dtype=np.float64)
    qualities = np.where(np.isnan(array), ReadingQuality.MISSING, ReadingQuality.RAW)
    return IntervalSeries(
        start=start,
        interval_minutes=interval_minutes,
        values=array,
        statuses=np.zeros(len(array), np.uint8)
        if statuses is None
        else np.asarray(statuses, np.uint8),
        qualities=qualities.astype(np.uint8),
    )


def at(hours: float, minutes: float = 0, seconds: float = 0, day: int = 0) -> datetime:
    """A moment of the test day (or ``day`` days later), in UTC."""
    return MIDNIGHT + timedelta(days=day, hours=hours, minutes=minutes, seconds=seconds)


def slot(hours: int, minutes: int = 0) -> int:
    """Index of the 15-min slot starting at hours:minutes of the test day."""
    return hours * 4 + minutes // 15


def reads(register: str, *pairs: tuple[datetime, str]) -> tuple[RegisterRead, ...]:
    return tuple(RegisterRead(moment, Decimal(value), register) for moment, value in pairs)


def household_day(day: date = DAY, yearly_kwh: float = 4000.0) -> np.ndarray:
    """96 quarter-hours of a household using ``yearly_kwh`` a year (BDEW H25 shape)."""
    from adapters.loadshapes import load_shape

    return np.array(load_shape("h25").quarter_hours(day)) * yearly_kwh / 1000.0
