"""Series, contexts and BDEW-shaped meters for the estimation tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np

from adapters.loadshapes import load_shape
from domain.reading_quality import ReadingQuality
from domain.vee.series import IntervalSeries, PowerOutage, RegisterRead, ValidationContext

MONDAY = datetime(2025, 2, 3, tzinfo=UTC)


def series_of(
    values: Sequence[float] | np.ndarray,
    start: datetime = MONDAY,
    interval_minutes: int = 15,
    qualities: Sequence[int] | np.ndarray | None = None,
) -> IntervalSeries:
    """Values as delivered (RAW); NaN is MISSING unless ``qualities`` says otherwise."""
    array = np.asarray(values, dtype=np.float64)
    if qualities is None:
        qualities = np.where(np.isnan(array), ReadingQuality.MISSING, ReadingQuality.RAW)
    return IntervalSeries(
        start=start,
        interval_minutes=interval_minutes,
        values=array,
        statuses=np.zeros(len(array), dtype=np.uint8),
        qualities=np.asarray(qualities, dtype=np.uint8),
    )


def with_missing(series: IntervalSeries, slots: Sequence[int]) -> IntervalSeries:
    values, qualities = series.values.copy(), series.qualities.copy()
    values[list(slots)] = np.nan
    qualities[list(slots)] = ReadingQuality.MISSING
    return IntervalSeries(series.start, series.interval_minutes, values, series.statuses, qualities)


def context_of(
    series: IntervalSeries,
    history: IntervalSeries | None = None,
    registers: Sequence[RegisterRead] = (),
    outages: Sequence[PowerOutage] = (),
    disconnections: Sequence[tuple[datetime, datetime | None]] = (),
) -> ValidationContext:
    return ValidationContext(
        series=series,
        history=history,
        registers=tuple(registers),
        outages=tuple(outages),
        disconnections=tuple(disconnections),
    )


def reads_at(
    series: IntervalSeries, boundaries: Sequence[int], start_value: float = 1000.0
) -> list[RegisterRead]:
    """Register reads at slot boundaries that agree with the series' (complete) values."""
    totals = np.concatenate([[0.0], np.cumsum(np.nan_to_num(series.values))])
    return [
        RegisterRead(
            series.slot_start(0) + series.step * b,
            Decimal(str(round(float(start_value + totals[b]), 9))),
        )
        for b in boundaries
    ]


def slots(first: int, count: int) -> tuple[int, ...]:
    return tuple(range(first, first + count))


def bdew_meter(
    shape: str,
    kwh_per_year: float,
    first_day: date,
    days: int,
    noise: float = 0.0,
    day_noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Quarter-hour kWh of a meter following BDEW ``shape``; with ``noise`` (relative
    standard deviation per interval) and ``day_noise`` (per day level), seeded."""
    profile = load_shape(shape)
    scale = kwh_per_year / 1000.0
    day_list = [first_day + timedelta(days=n) for n in range(days)]
    values = np.concatenate([profile.quarter_hours(day) * scale for day in day_list])
    rng = np.random.default_rng(seed)
    level = np.repeat(1.0 + day_noise * rng.standard_normal(days), 96)
    jitter = 1.0 + noise * rng.standard_normal(len(values))
    return values * np.clip(level, 0.1, None) * np.clip(jitter, 0.0, None)
