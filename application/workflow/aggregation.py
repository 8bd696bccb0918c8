"""Aggregation: a calculated channel's values computed from its sources (``aggregate``).

Each UTC day of the period is computed with the formula in force that day, from the
source channels' current values; the result is recorded like a delivery, so computing
the same values again records nothing (``ChannelDay.record`` is idempotent).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from application.block_validation import BlockValidation
from application.readings import Readings
from application.registry import Registry
from application.workflow.period import Period
from domain.channel import Channel
from domain.channel_day import day_start
from domain.channel_formula import ChannelFormula, combined_quality
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality

ACTOR = "hes-aggregate"


class CannotAggregate(ValueError):
    """The channel or its sources do not allow computing it (retrying cannot help)."""


class Aggregation:
    def __init__(self, registry: Registry, readings: Readings) -> None:
        self.registry = registry
        self.readings = readings

    def compute(
        self, channel_key: str, start: datetime, end: datetime, provenance: Provenance
    ) -> dict[str, Any]:
        """Computes and records ``channel_key`` over [start, end) on whole intervals."""
        channel = self.registry.get("channel", channel_key)
        period = Period(start, end)
        days = [(day, channel.attributes_on(day)) for day in period.days()]
        days = [(day, settings) for day, settings in days if settings.get("kind") == "calculated"]
        if not days:
            raise CannotAggregate(f"{channel_key} is not a calculated channel in the period")
        minutes = {int(settings["interval_minutes"]) for _, settings in days}
        if len(minutes) > 1:
            raise CannotAggregate(f"{channel_key} changes its interval length in the period")
        interval = minutes.pop()
        first, until = period.slots_for(interval)
        step = timedelta(minutes=interval)
        count = max((until - first) // step, 0)
        values = np.full(count, np.nan)
        statuses = np.zeros(count, dtype=np.uint8)
        qualities = np.zeros(count, dtype=np.uint8)
        for day, settings in days:
            window = max(first, day_start(day)), min(until, day_start(day + timedelta(days=1)))
            if window[0] >= window[1]:
                continue
            formula = ChannelFormula.parse(str(settings["formula"]))
            part = slice((window[0] - first) // step, (window[1] - first) // step)
            values[part], statuses[part], qualities[part] = self._day(
                channel_key, formula, day, interval, window
            )
        qualities[np.isnan(values)] = ReadingQuality.MISSING
        values[qualities == ReadingQuality.MISSING] = np.nan
        outcome = self.readings.record_block(
            Channel.id_for(channel_key),
            interval,
            first,
            values,
            statuses,
            provenance,
            validation=BlockValidation(qualities=qualities, findings=(), estimator=provenance),
        )
        return {
            "channel": channel_key,
            "period": {"from": first.isoformat(), "until": until.isoformat()},
            "intervals": count,
            "qualities": {
                ReadingQuality(int(q)).name.lower(): int(n)
                for q, n in zip(*np.unique(qualities, return_counts=True), strict=True)
            },
            "recorded_intervals": outcome.intervals,
            "recorded_days": outcome.recorded_days,
        }

    def _day(
        self,
        channel_key: str,
        formula: ChannelFormula,
        day: date,
        interval: int,
        window: tuple[datetime, datetime],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if channel_key in formula.channel_keys:
            raise CannotAggregate(f"the formula of {channel_key} on {day} names the channel itself")
        sources = {}
        for key in formula.channel_keys:
            source_interval = (
                self.registry.get("channel", key).attributes_on(day).get("interval_minutes")
            )
            if source_interval is None:
                raise CannotAggregate(f"source {key} of {channel_key} is not in force on {day}")
            if int(source_interval) != interval:
                raise CannotAggregate(
                    f"source {key} has {source_interval} min intervals on {day}, "
                    f"{channel_key} {interval} min: only equal interval lengths are combined"
                )
            sources[key] = self.readings.series(Channel.id_for(key), interval, *window)
        values = formula.apply({key: series.values for key, series in sources.items()})
        statuses = np.bitwise_or.reduce([series.statuses for series in sources.values()])
        qualities = combined_quality([series.qualities for series in sources.values()])
        return values, statuses, qualities
