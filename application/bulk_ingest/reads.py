"""What a bulk ingest reads before storing anything: existing days, histories (whole or
as daily usage) and billing's periods, for a whole batch in a few queries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from uuid import UUID

import numpy as np
from eventsourcing.application import AggregateNotFoundError

from application.bulk_ingest.plans import Planned
from application.bulk_ingest.sources import (
    DailyUsageSource,
    ExternalPeriodsInBulk,
    HistorySource,
)
from application.readings import Readings
from application.vee_workflow import ExternalPeriodSource
from domain.channel_day import BlockOutOfDay, ChannelDay, day_start
from domain.vee.series import (
    IntervalSeries,
)


class BatchReads:
    def __init__(
        self,
        readings: Readings,
        history: HistorySource,
        history_days: int,
        external_periods: ExternalPeriodSource | None,
    ) -> None:
        self.readings = readings
        self.history = history
        self.history_days = history_days
        self.external_periods = external_periods

    def daily_usage(self, plans: list[Planned]) -> dict[tuple[UUID, datetime], np.ndarray]:
        """Per delivery (channel, start) that may be judged without its history, the
        history as daily usage (none when the history source cannot give it). Only a
        channel's only delivery of the batch, starting at midnight, is judged so (a
        later one of the same channel leans on the earlier one, a day begun mid-way is
        not whole in the history)."""
        source = self.history
        if not isinstance(source, DailyUsageSource):
            return {}
        count: dict[UUID, int] = {}
        for plan in plans:
            count[plan.channel_id] = count.get(plan.channel_id, 0) + 1
        wanted = [
            p for p in plans if count[p.channel_id] == 1 and p.start == day_start(p.start.date())
        ]
        reach = timedelta(days=self.history_days)
        usage: dict[tuple[UUID, datetime], np.ndarray] = {}
        by_interval: dict[int, list[Planned]] = {}
        for plan in wanted:
            by_interval.setdefault(plan.interval, []).append(plan)
        for interval, group in by_interval.items():
            first = min(plan.start for plan in group) - reach
            last = max(plan.start for plan in group)
            channels = [plan.channel_id for plan in group]
            found = source.daily_usage(channels, interval, first, last)
            for plan in group:
                totals = found.get(plan.channel_id)
                if totals is not None:
                    offset = (plan.start - reach - first).days
                    usage[(plan.channel_id, plan.start)] = totals[offset : offset + reach.days]
        return usage

    def existing_days(self, plans: list[Planned]) -> dict[UUID, dict[UUID, ChannelDay]]:
        """The delivered days recorded before, loaded (one query says which exist)."""
        wanted = {
            ChannelDay.id_for(plan.channel_id, day): plan for plan in plans for day in plan.days()
        }
        days: dict[UUID, dict[UUID, ChannelDay]] = {}
        for day_id in self.history.recorded_days(list(wanted)):
            try:
                channel_day: ChannelDay = self.readings.repository.get(day_id)
            except AggregateNotFoundError:
                continue
            if channel_day.interval_minutes != wanted[day_id].interval:
                raise BlockOutOfDay(
                    f"channel {channel_day.channel_id} records {channel_day.interval_minutes} "
                    f"min intervals, not {wanted[day_id].interval}"
                )
            days.setdefault(channel_day.channel_id, {})[day_id] = channel_day
        return days

    def history_windows(self, plans: list[Planned]) -> dict[tuple[UUID, int], IntervalSeries]:
        """One read per interval length: from the earliest history start to the last start."""
        reach = timedelta(days=self.history_days)
        by_interval: dict[int, list[Planned]] = {}
        for plan in plans:
            by_interval.setdefault(plan.interval, []).append(plan)
        windows: dict[tuple[UUID, int], IntervalSeries] = {}
        for interval, group in by_interval.items():
            first = min(plan.start for plan in group) - reach
            last = max(plan.start for plan in group)
            channels = list(dict.fromkeys(plan.channel_id for plan in group))
            for channel_id, series in self.history.series(channels, interval, first, last).items():
                windows[(channel_id, interval)] = series
        return windows

    def period_windows(
        self, plans: list[Planned]
    ) -> Mapping[str, list[tuple[str, datetime, datetime]]]:
        """Billing's periods per service point over the batch's whole span."""
        source = self.external_periods
        points = {
            str(p.settings["service_point_id"]) for p in plans if p.settings.get("service_point_id")
        }
        if source is None or not points:
            return {}
        first, last = min(p.start for p in plans), max(p.end for p in plans)
        if isinstance(source, ExternalPeriodsInBulk):
            return source.periods_by_point(points, first, last)
        return {point: source.periods(point, first, last) for point in points}
