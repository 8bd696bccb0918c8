"""``BulkIngest``: the VEE workflow for many deliveries at once (see the package)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import numpy as np
from eventsourcing.persistence import IntegrityError

from application.bulk_ingest.judging import validated
from application.bulk_ingest.lookups import RegistryLookups
from application.bulk_ingest.plans import BatchContext, Chunk, Planned, waves
from application.bulk_ingest.reads import BatchReads
from application.bulk_ingest.series_parts import empty_series, overlay, window_slice
from application.bulk_ingest.sources import (
    HistorySource,
    ReadingsHistory,
)
from application.readings import BlockOutcome, Readings
from application.registry import Registry
from application.vee_judgement import Judgement, all_validated, judge
from application.vee_workflow import (
    Delivery,
    DeliveryOutcome,
    ExternalPeriodSource,
    VeeWorkflow,
    credited_outages,
    validation_context,
)
from domain.channel_day import ChannelDay, day_start
from domain.provenance import Provenance
from domain.vee.estimation import build_plan
from domain.vee.rules.validation import clear_rows
from domain.vee.series import (
    EstimationMethod,
    IntervalSeries,
    RegisterRead,
    ValidationContext,
)


@dataclass
class IngestTimings:
    """Seconds spent per stage, summed over ``ingest`` calls (for benchmarks)."""

    lookup: float = 0.0  # registry settings, rule sets, existing channel days
    history: float = 0.0
    judge: float = 0.0  # validate, estimate, validate again, stage the events
    store: float = 0.0
    retried_chunks: int = 0
    without_history: int = 0  # deliveries judged from their history's daily usage alone


class BulkIngest:
    def __init__(
        self,
        registry: Registry,
        readings: Readings,
        history: HistorySource | None = None,
        *,
        history_days: int = 28,
        methods: Sequence[EstimationMethod] | None = None,
        external_periods: ExternalPeriodSource | None = None,
        days_per_save: int = 100,
    ) -> None:
        self.registry = registry
        self.readings = readings
        self.history = history or ReadingsHistory(readings)
        self.history_days = history_days
        self.methods = list(methods) if methods is not None else build_plan()
        self.external_periods = external_periods
        self.days_per_save = days_per_save
        self.timings = IngestTimings()
        self._one_by_one = VeeWorkflow(
            registry,
            readings,
            history_days=history_days,
            methods=self.methods,
            external_periods=external_periods,
        )
        self.lookups = RegistryLookups(registry, self._one_by_one)
        self.reads = BatchReads(readings, self.history, history_days, external_periods)

    def ingest(
        self, deliveries: Sequence[Delivery], provenance: Provenance
    ) -> list[DeliveryOutcome]:
        """Validates, estimates and stores every delivery; outcomes in the given order."""
        started = time.perf_counter()
        plans = self.lookups.planned(deliveries)
        # Everything is read before anything is stored: the read model is then as fresh
        # as it will be during this batch, and a chunk's writes concern its channels only.
        days = self.reads.existing_days(plans)
        looked_up = time.perf_counter()
        periods = self.reads.period_windows(plans)
        registers = self.readings.stored_register_reads(
            {plan.channel_id for plan in plans},
            min(plan.start for plan in plans),
            max(plan.end for plan in plans),
        )
        usage = self.reads.daily_usage(plans)
        self.timings.lookup += looked_up - started
        self.timings.history += time.perf_counter() - looked_up
        # With daily usage at hand, the deliveries no rule fires on are judged from it;
        # full histories are read for the others only (their estimates need like days).
        began = time.perf_counter()
        light = self._judged_without_history(plans, days, usage, periods, registers)
        read = time.perf_counter()
        windows = self.reads.history_windows([plan for plan in plans if plan.index not in light])
        self.timings.judge += read - began
        self.timings.history += time.perf_counter() - read
        batch = BatchContext(windows, light, periods, registers)
        outcomes: list[DeliveryOutcome | None] = [None] * len(deliveries)
        for chunk in self._chunks(plans, days):
            for plan, outcome in self._ingest_chunk(chunk, batch, provenance):
                outcomes[plan.index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    # -- planning ------------------------------------------------------------------

    def _chunks(
        self, plans: list[Planned], days: dict[UUID, dict[UUID, ChannelDay]]
    ) -> Iterator[Chunk]:
        by_channel: dict[UUID, list[Planned]] = {}
        for plan in plans:
            by_channel.setdefault(plan.channel_id, []).append(plan)
        chunk, count = Chunk(days=days), 0
        for channel_plans in by_channel.values():
            chunk.plans.extend(channel_plans)
            count += sum(len(list(plan.days())) for plan in channel_plans)
            if count >= self.days_per_save:
                yield chunk
                chunk, count = Chunk(days=days), 0
        if chunk.plans:
            yield chunk

    # -- one chunk -----------------------------------------------------------------

    def _ingest_chunk(
        self, chunk: Chunk, batch: BatchContext, provenance: Provenance
    ) -> list[tuple[Planned, DeliveryOutcome]]:
        started = time.perf_counter()
        results = []
        for wave in waves(chunk.plans):
            # A wave holds at most one delivery a channel: their contexts do not depend
            # on one another, so the rules screen them together.
            judgements = {p.index: batch.light[p.index] for p in wave if p.index in batch.light}
            rest = [plan for plan in wave if plan.index not in judgements]
            contexts = [
                self._context(plan, chunk.days, batch.windows[(plan.channel_id, plan.interval)],
                              batch.periods, batch.registers)
                for plan in rest
            ]  # fmt: skip
            for plan, context, findings in zip(
                rest, contexts, validated(rest, contexts), strict=True
            ):
                judgements[plan.index] = judge(context, plan.rules, self.methods, findings)
            for plan in wave:
                stored = self._stage(chunk, plan, judgements[plan.index], provenance)
                results.append((plan, judgements[plan.index].outcome(stored)))
        judged = time.perf_counter()
        try:
            self.readings.save(*chunk.staged.values())
            self.history.remember(chunk.staged.values())
        except IntegrityError:
            # Someone wrote one of these days meanwhile: redo the chunk from the store.
            self.timings.retried_chunks += 1
            results = [(p, self._one_by_one.process(p.delivery, provenance)) for p in chunk.plans]
        self.timings.judge += judged - started
        self.timings.store += time.perf_counter() - judged
        return results

    def _judged_without_history(
        self,
        plans: list[Planned],
        days: dict[UUID, dict[UUID, ChannelDay]],
        usage: Mapping[tuple[UUID, datetime], np.ndarray],
        periods: Mapping[str, list[tuple[str, datetime, datetime]]],
        registers: Mapping[UUID, list[RegisterRead]],
    ) -> dict[int, Judgement]:
        """By plan index, the deliveries no rule fires on, judged from their history's
        daily usage alone (validated whole); the others are left to the full path."""
        by_rules: dict[int, list[Planned]] = {}
        for plan in plans:
            if (plan.channel_id, plan.start) in usage:
                by_rules.setdefault(id(plan.rules), []).append(plan)
        judged: dict[int, Judgement] = {}
        for group in by_rules.values():
            contexts = [self._context(plan, days, None, periods, registers) for plan in group]
            totals = [usage[(plan.channel_id, plan.start)] for plan in group]
            clear = clear_rows(contexts, group[0].rules, totals)
            for plan, passed in zip(group, clear.tolist(), strict=True):
                if passed:
                    judged[plan.index] = all_validated(len(plan.values))
        self.timings.without_history += len(judged)
        return judged

    def _context(
        self,
        plan: Planned,
        days: dict[UUID, dict[UUID, ChannelDay]],
        window: IntervalSeries | None,
        periods: Mapping[str, list[tuple[str, datetime, datetime]]],
        registers: Mapping[UUID, list[RegisterRead]],
    ) -> ValidationContext:
        """The delivery's context; without its history when ``window`` is None."""
        start, end = plan.start, plan.end
        history_start = start - timedelta(days=self.history_days)
        history = None if window is None else window_slice(window, history_start, start)
        previously = empty_series(start, plan.interval, len(plan.values))
        for channel_day in days.get(plan.channel_id, {}).values():
            # What this batch already holds is newer than any read: lay it over.
            if history is not None:
                overlay(history, channel_day, raw=False)
            overlay(previously, channel_day, raw=True)
        point = str(plan.settings.get("service_point_id") or "")
        return validation_context(
            plan.delivery, start, plan.interval, plan.settings, history, previously,
            registers.get(plan.channel_id, ()),
            credited_outages(periods.get(point, ()), start, end),
        )  # fmt: skip

    def _stage(
        self, chunk: Chunk, plan: Planned, judgement: Judgement, provenance: Provenance
    ) -> BlockOutcome:
        """``Readings.record_block`` without the save: the block split over its days."""
        step = timedelta(minutes=plan.interval)
        validation = judgement.validation
        new_intervals, recorded_days, offset = 0, 0, 0
        while offset < len(plan.values):
            moment = plan.start + step * offset
            day = moment.date()
            first_slot = (moment - day_start(day)) // step
            count = min(len(plan.values) - offset, 1440 // plan.interval - first_slot)
            day_id = ChannelDay.id_for(plan.channel_id, day)
            days = chunk.days_of(plan.channel_id)
            if day_id not in days:
                days[day_id] = ChannelDay.open(plan.channel_id, day, plan.interval)
            channel_day = days[day_id]
            block = slice(offset, offset + count)
            part = validation.part(offset, count, first_slot)
            if channel_day.record(
                first_slot,
                plan.values[block],
                plan.statuses[block],
                provenance,
                qualities=part.qualities,
                findings=part.findings,
            ):
                for slots, estimated, method in part.estimates:
                    channel_day.estimate(slots, estimated, method, part.estimator)
                chunk.staged[day_id] = channel_day
                new_intervals += count
                recorded_days += 1
            offset += count
        return BlockOutcome(intervals=new_intervals, recorded_days=recorded_days)
