"""One channel over a period: what its intervals are, what estimation can still fill, and
what only a person can settle.

The judgement is the VEE workflow's (``application/vee_workflow.py``): the channel's rule
set in force on the period's first day, the same estimation plan, and estimates validated
again before they count. Every delivery was validated when it arrived, so nothing is
validated twice here (a ``ChannelDay`` has no event for judging recorded values again);
what the review adds is what a delivery cannot see: gaps between deliveries (a power
failure leaves no entries in the load profile), and like days that arrived since. Failed
intervals that a finding about a whole delivery left behind (a failed sum check) are not
estimated here either: a person decides, as the workflow leaves them.

Each day is read at one version (its events, then the aggregate at their last version),
and estimates are recorded only if no day changed since: an estimate must never replace
a value delivered meanwhile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.errors import ConcurrentEdit
from application.vee_judgement import ESTIMATOR, revalidated
from application.vee_workflow import VeeWorkflow
from application.workflow.period import Period
from domain.channel import Channel
from domain.channel_day import ChannelDay, day_start
from domain.reading_quality import ReadingQuality
from domain.vee.estimation.known import known_mask
from domain.vee.estimation.plan import estimate_gaps, find_gaps
from domain.vee.series import Estimate, IntervalSeries, ValidationContext

QUALITIES = [quality.name.lower() for quality in ReadingQuality]


@dataclass(frozen=True)
class ChannelReview:
    """A channel's intervals in a period, and what the estimation plan would add."""

    channel_key: str
    channel_id: UUID
    series: IntervalSeries  # the period on the channel's intervals, as recorded
    day_versions: dict[date, int]  # each recorded day's version the review read
    estimates: list[Estimate] = field(default_factory=list)  # passed validation again
    waiting: int = 0  # failed or missing, and no method fills them: for a person

    @property
    def has_data(self) -> bool:
        return bool(self.day_versions)

    @property
    def estimable(self) -> int:
        return sum(len(estimate.slots) for estimate in self.estimates)

    def counts(self) -> dict[str, int]:
        return _counts(self.series.qualities)

    def days(self) -> list[dict[str, Any]]:
        """Per UTC day of the period: how many of its intervals have each quality."""
        series = self.series
        first = series.start.date()
        offset = (series.start - day_start(first)) // series.step
        index = (np.arange(len(series)) + offset) // (1440 // series.interval_minutes)
        return [
            {
                "day": (first + timedelta(days=int(n))).isoformat(),
                **_counts(series.qualities[index == n]),
            }
            for n in np.unique(index)
        ]

    def summary(self) -> dict[str, Any]:
        return {
            "channel": self.channel_key,
            "read": self.has_data,
            **self.counts(),
            "estimable": self.estimable,
            "waiting_for_a_person": self.waiting,
            "days": self.days(),
        }


class PeriodReview:
    def __init__(self, workflow: VeeWorkflow, *, history_days: int = 28) -> None:
        self.workflow = workflow
        self.registry = workflow.registry
        self.readings = workflow.readings
        self.history_days = history_days

    def review(self, channel_key: str, period: Period) -> ChannelReview:
        """The channel's intervals in ``period`` and the estimates the plan gives now."""
        channel: Channel = self.registry.get("channel", channel_key)
        settings = channel.attributes_on(period.start.date())
        interval = int(settings["interval_minutes"])
        channel_id = Channel.id_for(channel_key)
        start, end = period.slots_for(interval)
        series, for_a_person, versions = self._recorded(channel_id, interval, start, end)
        found = ChannelReview(channel_key, channel_id, series, versions)
        unknown = ~known_mask(series.values, series.qualities)
        if not versions or not unknown.any():
            return found  # not read in the period at all, or nothing left to fill
        # Failed intervals left for a person count as known: not estimated, as in the
        # workflow, but their neighbours may lean on them.
        qualities = series.qualities.copy()
        qualities[for_a_person & (qualities == ReadingQuality.FAILED)] = ReadingQuality.VALIDATED
        context = ValidationContext(
            series=dataclasses.replace(series, qualities=qualities),
            history=self.readings.series(
                channel_id, interval, start - timedelta(days=self.history_days), start
            ),
            # The register reads recorded with earlier reads (the midnights of the
            # meter's daily billing profile), the period's ends included.
            registers=tuple(
                self.readings.stored_register_reads([channel_id], start, end).get(channel_id, ())
            ),
            outages=self.workflow.outages_credited(settings, start, end),
            unit=str(settings.get("unit") or "kWh"),
        )
        rules = self.workflow.rule_set_on(settings.get("rule_set"), start).build()
        proposed = estimate_gaps(context, find_gaps(context.series), self.workflow.methods)
        estimates = revalidated(context, proposed, rules)
        filled = np.zeros(len(series), dtype=bool)
        for estimate in estimates:
            filled[list(estimate.slots)] = True
        return dataclasses.replace(
            found, estimates=estimates, waiting=int((unknown & ~filled).sum())
        )

    def record_estimates(self, reviews: Sequence[ChannelReview]) -> int:
        """Records the reviews' estimates (``IntervalsEstimated``, the system estimator)
        in one transaction; a day changed since its review is a ConcurrentEdit."""
        days: dict[UUID, ChannelDay] = {}
        estimated = 0
        for review in reviews:
            series = review.series
            for estimate in review.estimates:
                moments = [series.slot_start(slot) for slot in estimate.slots]
                for day in sorted({moment.date() for moment in moments}):
                    channel_day = days.get(ChannelDay.id_for(review.channel_id, day))
                    if channel_day is None:
                        channel_day = self._unchanged_day(review, day)
                        days[channel_day.id] = channel_day
                    chosen = [i for i, moment in enumerate(moments) if moment.date() == day]
                    slots = [(moments[i] - day_start(day)) // series.step for i in chosen]
                    values = np.asarray(estimate.values)[chosen]
                    channel_day.estimate(slots, values, estimate.method, ESTIMATOR)
                    estimated += len(chosen)
        if days:
            try:
                self.readings.save(*days.values())
            except IntegrityError:
                raise ConcurrentEdit("channel days", "of the period", " (intervals)") from None
        return estimated

    # -- internals ------------------------------------------------------------------

    def _recorded(
        self, channel_id: UUID, interval: int, start: datetime, end: datetime
    ) -> tuple[IntervalSeries, np.ndarray, dict[date, int]]:
        """The slots of [start, end) as recorded, which failed ones were left for a
        person by a finding about a whole delivery, and the version of each day read."""
        step = timedelta(minutes=interval)
        count = (end - start) // step
        values = np.full(count, np.nan)
        statuses = np.zeros(count, dtype=np.uint8)
        qualities = np.zeros(count, dtype=np.uint8)
        for_a_person = np.zeros(count, dtype=bool)
        versions: dict[date, int] = {}
        day = start.date()
        while day_start(day) < end:
            day_id = ChannelDay.id_for(channel_id, day)
            events = self.readings.history_of(day_id)
            if events:
                version = events[-1].originator_version
                channel_day: ChannelDay = self.readings.repository.get(day_id, version=version)
                versions[day] = version
                offset = (day_start(day) - start) // step
                first, last = max(0, -offset), min(len(channel_day.values), count - offset)
                if first < last:
                    target = slice(offset + first, offset + last)
                    values[target] = channel_day.values[first:last]
                    statuses[target] = channel_day.statuses[first:last]
                    qualities[target] = channel_day.qualities[first:last]
                    flags = _left_for_a_person(events, len(channel_day.values))
                    for_a_person[target] = flags[first:last]
            day += timedelta(days=1)
        series = IntervalSeries(start, interval, values, statuses, qualities)
        return series, for_a_person, versions

    def _unchanged_day(self, review: ChannelReview, day: date) -> ChannelDay:
        """The day as the review read it: a day it found nothing of is opened anew."""
        read = review.day_versions.get(day)
        try:
            channel_day: ChannelDay = self.readings.repository.get(
                ChannelDay.id_for(review.channel_id, day)
            )
        except AggregateNotFoundError:
            if read is None:
                return ChannelDay.open(review.channel_id, day, review.series.interval_minutes)
            raise
        if channel_day.version != read:
            raise ConcurrentEdit("channel day", f"{review.channel_key} {day}", " (intervals)")
        return channel_day


def _left_for_a_person(events: Sequence[Any], slots: int) -> np.ndarray:
    """Slots whose last delivery failed them only by a finding about the whole delivery
    (no finding named the slot), and that nobody settled since."""
    flags = np.zeros(slots, dtype=bool)
    for event in events:
        if isinstance(event, ChannelDay.IntervalsRecorded):
            window = np.arange(event.first_slot, event.first_slot + len(event.values))
            window = window[~np.isin(window, event.held_slots)]
            fails = [f for f in event.findings if f.get("severity") == "fail"]
            pointed = [slot for f in fails for slot in f.get("slots") or ()]
            whole = any(not f.get("slots") for f in fails)
            flags[window] = whole & ~np.isin(window, pointed)
        elif isinstance(event, ChannelDay.SlotsRevised):
            flags[list(event.slots)] = False
    return flags


def _counts(qualities: np.ndarray) -> dict[str, int]:
    counted = np.bincount(qualities.astype(np.int64), minlength=len(QUALITIES))
    return {name: int(counted[index]) for index, name in enumerate(QUALITIES)}
