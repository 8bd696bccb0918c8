"""Histories cut to a delivery's window and laid over with what the batch holds."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np

from domain.channel_day import ChannelDay, day_start
from domain.vee.series import IntervalSeries


def empty_series(start: datetime, interval: int, count: int) -> IntervalSeries:
    return IntervalSeries(
        start,
        interval,
        np.full(count, np.nan),
        np.zeros(count, dtype=np.uint8),
        np.zeros(count, dtype=np.uint8),
    )


def window_slice(window: IntervalSeries, start: datetime, end: datetime) -> IntervalSeries:
    """Slots [start, end) of ``window`` as writable copies (NaN / MISSING outside it)."""
    count = (end - start) // window.step
    result = empty_series(start, window.interval_minutes, count)
    offset = (start - window.start) // window.step
    first, last = max(0, -offset), min(count, len(window) - offset)
    if first < last:
        source = slice(offset + first, offset + last)
        result.values[first:last] = window.values[source]
        result.statuses[first:last] = window.statuses[source]
        result.qualities[first:last] = window.qualities[source]
    return result


def overlay(series: IntervalSeries, channel_day: ChannelDay, *, raw: bool) -> None:
    """Copies the day's slots that fall in ``series`` over it, as ``Readings.series`` would."""
    offset = (day_start(date.fromisoformat(channel_day.day)) - series.start) // series.step
    first, last = max(0, -offset), min(len(channel_day.values), len(series) - offset)
    if first < last:
        target = slice(offset + first, offset + last)
        source = channel_day.raw if raw else channel_day.values
        series.values[target] = source[first:last]
        series.statuses[target] = channel_day.statuses[first:last]
        series.qualities[target] = channel_day.qualities[first:last]
