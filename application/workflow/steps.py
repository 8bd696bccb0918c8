"""The use cases behind the chain's task types: validate, estimate and export a target.

A target is a meter serial (every metered channel it feeds) or a channel key. Each use
case answers a JSON-able result for the task monitor; ``"follow_on": False`` with a
``stopped`` reason stops the cycle's chain where a person must decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from application.errors import UnknownAggregate
from application.workflow.exports import DayFigures, Exports, HeldBack, final_day
from application.workflow.period import Period
from application.workflow.review import ChannelReview, PeriodReview
from domain.channel import Channel

DEFAULT_REVISIT_DAYS = 31
EXCEPTIONS = "GET /api/v1/vee/exceptions?channel="


class MeterChannels(Protocol):
    def metered_channels(self, serial: str) -> list[str] | None:
        """Keys of the metered channels the meter feeds; None when it is not known."""
        ...


class ChangedDays(Protocol):
    def days_to_export(self, channel_id: UUID, first: date, last: date) -> list[date]:
        """Recorded days in [first, last] never exported, or changed since."""
        ...


class WorkflowSteps:
    def __init__(
        self,
        review: PeriodReview,
        exports: Exports,
        meters: MeterChannels,
        changed_days: ChangedDays | None = None,
    ) -> None:
        self.review = review
        self.exports = exports
        self.meters = meters
        self.changed_days = changed_days

    def channels_of(self, target: str) -> list[str]:
        """The channel itself, or the metered channels of the meter ``target``."""
        if self.review.registry.exists("channel", target):
            return [target]
        found = self.meters.metered_channels(target)
        if found is None:
            raise UnknownAggregate("meter or channel", target)
        return found

    def validate(self, target: str, period: Period) -> dict[str, Any]:
        """What the period's intervals are, and whether a person must look first."""
        reviews = [self.review.review(key, period) for key in self.channels_of(target)]
        result = _reviewed(period, reviews)
        read = [review for review in reviews if review.has_data]
        if not read:
            return _stopped(result, f"nothing was recorded for {target} in the period")
        if waiting := [review for review in read if review.waiting]:
            return _stopped(result, _waiting(waiting))
        return result

    def estimate(self, target: str, period: Period) -> dict[str, Any]:
        """Estimates what is still missing or failed where a method applies now."""
        reviews = [self.review.review(key, period) for key in self.channels_of(target)]
        estimated = self.review.record_estimates(reviews)
        result = {
            "period": period.as_dict(),
            "estimated": estimated,
            "channels": [
                {
                    "channel": review.channel_key,
                    "estimated": review.estimable,
                    "methods": _methods(review),
                    "waiting_for_a_person": review.waiting,
                }
                for review in reviews
            ],
        }
        if waiting := [review for review in reviews if review.waiting]:
            return _stopped(result, _waiting(waiting))
        return result

    def export(
        self,
        target: str,
        period: Period,
        *,
        revisit_days: int = DEFAULT_REVISIT_DAYS,
        cycle_key: str = "",
        due_at: datetime | None = None,
        task: str = "",
    ) -> dict[str, Any]:
        """Makes the period's final days ready for billing, and days of the last
        ``revisit_days`` that were held back or changed since they were exported."""
        ready: list[DayFigures] = []
        held: list[HeldBack] = []
        for key in self.channels_of(target):
            channel_id = Channel.id_for(key)
            unit = self._unit(key, period.start.date())
            for day in self._days_to_export(channel_id, period, revisit_days):
                found = final_day(self.review.readings, channel_id, key, day, unit)
                if isinstance(found, DayFigures):
                    ready.append(found)
                else:
                    held.append(found)
        exported = self.exports.export_days(ready, cycle_key=cycle_key, due_at=due_at, task=task)
        return {
            "period": period.as_dict(),
            "exported": [figures.as_dict() for figures in exported],
            "already_exported": len(ready) - len(exported),
            "held_back": [day.as_dict() for day in held],
        }

    # -- internals ------------------------------------------------------------------

    def _days_to_export(self, channel_id: UUID, period: Period, revisit_days: int) -> list[date]:
        last = (period.until - timedelta(days=1)).date()  # the last day that has ended
        days = {day for day in period.days() if day <= last}
        if self.changed_days is not None and revisit_days > 0:
            first = last - timedelta(days=revisit_days - 1)
            days.update(self.changed_days.days_to_export(channel_id, first, last))
        return sorted(days)

    def _unit(self, channel_key: str, day: date) -> str:
        channel: Channel = self.review.registry.get("channel", channel_key)
        return str(channel.attributes_on(day).get("unit") or "kWh")


def _reviewed(period: Period, reviews: Sequence[ChannelReview]) -> dict[str, Any]:
    totals: dict[str, int] = {}
    for review in reviews:
        for name, count in review.counts().items():
            totals[name] = totals.get(name, 0) + count
    return {
        "period": period.as_dict(),
        "intervals": totals,
        "estimable": sum(review.estimable for review in reviews),
        "waiting_for_a_person": sum(review.waiting for review in reviews),
        "channels": [review.summary() for review in reviews],
    }


def _stopped(result: dict[str, Any], reason: str) -> dict[str, Any]:
    return {**result, "follow_on": False, "stopped": reason}


def _waiting(reviews: Sequence[ChannelReview]) -> str:
    parts = "; ".join(
        f"{review.channel_key}: {review.waiting} (see {EXCEPTIONS}{review.channel_key})"
        for review in reviews
    )
    total = sum(review.waiting for review in reviews)
    return (
        f"{total} intervals wait for a person (failed or missing, and no estimation method "
        f"applies): {parts}; edit them or accept them as they are"
    )


def _methods(review: ChannelReview) -> dict[str, int]:
    methods: dict[str, int] = {}
    for estimate in review.estimates:
        methods[estimate.method] = methods.get(estimate.method, 0) + len(estimate.slots)
    return methods
