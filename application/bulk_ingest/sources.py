"""Where a bulk ingest reads histories and billing's periods from, many channels at once."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

import numpy as np

from application.readings import Readings
from application.vee_workflow import ExternalPeriodSource
from domain.channel_day import ChannelDay
from domain.vee.series import IntervalSeries


class HistorySource(Protocol):
    """Interval values of channels as currently known, for many channels at once."""

    def series(
        self, channel_ids: Sequence[UUID], interval_minutes: int, start: datetime, end: datetime
    ) -> Mapping[UUID, IntervalSeries]:
        """Each channel's slots in [start, end) (NaN / MISSING where nothing is known)."""
        ...

    def recorded_days(self, day_ids: Collection[UUID]) -> Collection[UUID]:
        """Those ``ChannelDay`` ids that may exist; an id left out is known not to."""
        ...

    def remember(self, channel_days: Iterable[ChannelDay]) -> None:
        """Channel days the ingest just saved: a source that may lag behind the event
        store can answer from them until it catches up."""
        ...


class ReadingsHistory:
    """The fallback source: the Readings application itself (exact, one query a day)."""

    def __init__(self, readings: Readings) -> None:
        self.readings = readings

    def series(
        self, channel_ids: Sequence[UUID], interval_minutes: int, start: datetime, end: datetime
    ) -> Mapping[UUID, IntervalSeries]:
        return {c: self.readings.series(c, interval_minutes, start, end) for c in channel_ids}

    def recorded_days(self, day_ids: Collection[UUID]) -> Collection[UUID]:
        return set(day_ids)  # unknown here: every day is looked up

    def remember(self, channel_days: Iterable[ChannelDay]) -> None:
        """Nothing to do: the event store never lags behind itself."""


@runtime_checkable
class DailyUsageSource(HistorySource, Protocol):
    """A history source that can also give each day's usage alone (NaN: not complete)."""

    def daily_usage(
        self, channel_ids: Sequence[UUID], interval_minutes: int, start: datetime, end: datetime
    ) -> Mapping[UUID, np.ndarray]:
        """Per channel, each whole UTC day's total in [start, end) when every slot has a
        value, else NaN; a channel it cannot tell about is left out."""
        ...


@runtime_checkable
class ExternalPeriodsInBulk(ExternalPeriodSource, Protocol):
    """An external period source that can answer for many service points at once."""

    def periods_by_point(
        self, service_point_ids: Collection[str], start: datetime, end: datetime
    ) -> Mapping[str, list[tuple[str, datetime, datetime]]]:
        """Per service point, what ``periods`` gives for it (points without any: absent)."""
        ...
