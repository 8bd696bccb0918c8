"""The VEE workflow: every delivery is validated, estimated and stored by itself.

read -> validate (the channel's rule set in force on the data's day) -> estimate the
missing and failed intervals (the estimation plan, then validated again) -> store the
block, its findings and estimates in one transaction. What fails and cannot be
estimated stays failed or missing, with the rule, the intervals and the suggestion, for
a person (the exception queue is a read model of exactly that).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
from eventsourcing.application import AggregateNotFoundError

from application.readings import Readings
from application.register_reads import with_stored
from application.registry import Registry
from application.vee_judgement import ESTIMATOR as ESTIMATOR  # re-exported
from application.vee_judgement import DeliveryOutcome, judge
from domain.channel import Channel
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality
from domain.vee.estimation import build_plan
from domain.vee.rule_set import DEFAULT_RULE_SET, RuleSetVersion
from domain.vee.series import (
    EstimationMethod,
    IntervalSeries,
    PowerOutage,
    RegisterRead,
    ValidationContext,
)


class ExternalPeriodSource(Protocol):
    """Outage credits and curtailments reported by billing, by service point."""

    def periods(
        self, service_point_id: str, start: datetime, end: datetime
    ) -> list[tuple[str, datetime, datetime]]: ...


@dataclass(frozen=True)
class Delivery:
    """One block of intervals with what the meter said besides (registers, outages)."""

    channel_key: str
    start: datetime
    values: np.ndarray
    statuses: np.ndarray
    registers: tuple[RegisterRead, ...] = ()
    outages: tuple[PowerOutage, ...] = ()
    disconnections: tuple[tuple[datetime, datetime | None], ...] = ()
    clock_deviation_seconds: float | None = None


class VeeWorkflow:
    def __init__(
        self,
        registry: Registry,
        readings: Readings,
        *,
        history_days: int = 28,
        methods: Sequence[EstimationMethod] | None = None,
        external_periods: ExternalPeriodSource | None = None,
    ) -> None:
        self.external_periods = external_periods
        self.registry = registry
        self.readings = readings
        self.history_days = history_days
        self.methods = list(methods) if methods is not None else build_plan()

    def process(self, delivery: Delivery, provenance: Provenance) -> DeliveryOutcome:
        start = delivery.start.astimezone(UTC)
        channel: Channel = self.registry.get("channel", delivery.channel_key)
        settings = channel.attributes_on(start.date())
        interval = int(settings["interval_minutes"])
        channel_id = Channel.id_for(delivery.channel_key)
        end = start + timedelta(minutes=interval) * len(delivery.values)
        history_start = start - timedelta(days=self.history_days)
        history, previously, stored_reads = self.readings.delivery_context(
            channel_id, interval, history_start, start, end
        )
        context = validation_context(
            delivery, start, interval, settings, history, previously, stored_reads,
            self.outages_credited(settings, start, end),
        )  # fmt: skip
        rules = self.rule_set_on(settings.get("rule_set"), start).build()
        judgement = judge(context, rules, self.methods)
        series = context.series
        stored = self.readings.record_block(
            channel_id, interval, start, series.values, series.statuses, provenance,
            validation=judgement.validation,
        )  # fmt: skip
        return judgement.outcome(stored)

    def outages_credited(
        self, settings: dict[str, Any], start: datetime, end: datetime
    ) -> tuple[PowerOutage, ...]:
        """Billing's credited outages of the channel's service point over [start, end)."""
        point = settings.get("service_point_id")
        if self.external_periods is None or not point:
            return ()
        return credited_outages(self.external_periods.periods(point, start, end), start, end)

    def rule_set_on(self, name: str | None, start: datetime) -> RuleSetVersion:
        """The version of the named rule set (the default without one) in force at start."""
        if not name:
            return DEFAULT_RULE_SET
        try:
            rule_set = self.registry.get("validation_rule_set", name)
        except LookupError:
            return DEFAULT_RULE_SET
        try:
            version: RuleSetVersion = rule_set.version_on(start.date())
        except AggregateNotFoundError:
            return DEFAULT_RULE_SET
        return version


def credited_outages(
    periods: Iterable[tuple[str, datetime, datetime]], start: datetime, end: datetime
) -> tuple[PowerOutage, ...]:
    """Outages billing credited the customer for (of ``periods``, billing's periods of
    the service point) count as outages the meter saw, where they touch [start, end)."""
    return tuple(
        PowerOutage(first, last)
        for kind, first, last in periods
        if kind == "outage_credit" and first < end and last > start
    )


def validation_context(
    delivery: Delivery,
    start: datetime,
    interval: int,
    settings: dict[str, Any],
    history: IntervalSeries | None,
    previously: IntervalSeries,
    stored_reads: Sequence[RegisterRead],
    credited: tuple[PowerOutage, ...],
) -> ValidationContext:
    """What the rules see of one delivery, on either path: its intervals (raw, or
    missing where NaN), the history, the values delivered before, its register reads
    with those stored before, its outages with billing's credited ones."""
    values = np.asarray(delivery.values, dtype=np.float64)
    end = start + timedelta(minutes=interval) * len(values)
    qualities = np.where(np.isnan(values), ReadingQuality.MISSING, ReadingQuality.RAW)
    return ValidationContext(
        series=IntervalSeries(
            start,
            interval,
            values,
            np.asarray(delivery.statuses, dtype=np.uint8),
            qualities.astype(np.uint8),
        ),
        history=history,
        # With the register reads recorded before (a field read, the midnights of an
        # earlier read), so the sum check sees them whichever way data came.
        registers=with_stored(delivery.registers, stored_reads, start, end),
        outages=delivery.outages + credited,
        disconnections=delivery.disconnections,
        clock_deviation_seconds=delivery.clock_deviation_seconds,
        previously_delivered=previously,
        unit=str(settings.get("unit") or "kWh"),
    )
