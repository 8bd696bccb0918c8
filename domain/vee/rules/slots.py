"""Which slots a rule points at, and how a finding names them for a person.

Shared by the rules: contiguous runs of slots, slots between two moments, missing slots,
and the wording of a span of intervals ("from 2026-03-01 10:00 to 10:45 UTC").
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from domain.reading_quality import ReadingQuality
from domain.vee.series import IntervalSeries

_MISSING = int(ReadingQuality.MISSING)  # a plain int: numpy compares it without the enum


def missing(series: IntervalSeries) -> np.ndarray:
    """True where a slot has no value: NaN, or a quality that says so (either is enough:
    a contradictory slot is treated as missing rather than trusted)."""
    return np.isnan(series.values) | (series.qualities == _MISSING)


def present_values(series: IntervalSeries) -> np.ndarray:
    """The values with NaN wherever a slot is missing, so comparisons skip those slots."""
    return np.where(missing(series), np.nan, series.values)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs of True as (first slot, slot after the last)."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(first), int(stop)) for first, stop in zip(edges[0::2], edges[1::2], strict=True)]


def slot_position(series: IntervalSeries, moment: datetime) -> float:
    """Where ``moment`` falls, counted in intervals from the start of the series."""
    return (moment - series.start) / series.step


def slots_within(series: IntervalSeries, start: datetime, end: datetime | None) -> range:
    """Slots lying wholly inside [start, end); ``end`` None means open-ended."""
    first = max(0, math.ceil(slot_position(series, start)))
    stop = len(series) if end is None else math.floor(slot_position(series, end))
    return range(first, min(max(stop, first), len(series)))


def slots_touching(series: IntervalSeries, start: datetime, end: datetime | None) -> range:
    """Slots overlapping [start, end) at least in part; ``end`` None means open-ended."""
    first = max(0, math.floor(slot_position(series, start)))
    stop = len(series) if end is None else math.ceil(slot_position(series, end))
    return range(first, min(max(stop, first), len(series)))


def span(series: IntervalSeries, first: int, stop: int) -> str:
    """'from 2026-03-01 10:00 to 10:45 UTC' for slots first..stop-1 (end of the last one)."""
    begins = series.slot_start(first).astimezone(UTC)
    ends = series.slot_start(stop).astimezone(UTC)
    end_format = "%H:%M" if ends.date() == begins.date() else "%Y-%m-%d %H:%M"
    return f"from {begins:%Y-%m-%d %H:%M} to {ends.strftime(end_format)} UTC"


def moment(value: datetime) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def intervals(count: int) -> str:
    return f"{count} interval" if count == 1 else f"{count} intervals"


def amount(value: float, unit: str) -> str:
    """A quantity as a person reads it: 24 kWh, 0.25 kWh, 1234.567 kWh."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{'0' if text == '-0' else text} {unit}"
