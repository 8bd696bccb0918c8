"""Bulk ingest: the VEE workflow for many deliveries at once, many channel days per save.

The stored result is the one ``VeeWorkflow.process`` gives for the same deliveries one by
one, in the given order (tests/integration/test_bulk_ingest.py holds the two together);
only the cost differs:

- channel settings and rule-set versions are read once per channel and kept while the
  registry records nothing new; built rules are kept per rule-set version (building a
  set costs more than running it);
- everything a batch needs is read before anything is stored, in a few queries: which
  delivered days exist (those are loaded), the history of every channel from a
  ``HistorySource`` (the interval read model, ``adapters/interval_history.py``), and
  billing's periods. The channel days the batch holds in memory are laid over the
  history, so a later delivery sees an earlier one of the same batch as the one-by-one
  workflow would;
- the ``ChannelDay`` aggregates of a chunk of channels go in ONE ``save``: the event
  store takes a table lock per insert, so fewer, bigger inserts are what scales.

A chunk holds whole channels, so every delivery is still stored whole or not at all, and
a chunk's writes concern no other chunk's history. If a chunk's save meets a concurrent
writer (a version conflict), it is rolled back and its deliveries go through
``VeeWorkflow.process`` one by one, which re-reads everything. A batch is checked whole
(known channels, aligned starts) before anything is stored.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, cast, runtime_checkable
from uuid import UUID

import numpy as np
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.block_validation import BlockEstimate, BlockValidation
from application.readings import BlockOutcome, Readings
from application.register_reads import with_stored
from application.registry import Registry
from application.vee_workflow import (
    ESTIMATOR,
    Delivery,
    DeliveryOutcome,
    ExternalPeriodSource,
    VeeWorkflow,
)
from domain.channel import Channel
from domain.channel_day import BlockOutOfDay, ChannelDay, day_start
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality
from domain.vee.estimation import build_plan
from domain.vee.estimation.plan import estimate_gaps, find_gaps, with_estimates
from domain.vee.rule_set import RuleSetVersion
from domain.vee.rules.validation import clear_rows, failed_slots, validate, validate_many
from domain.vee.series import (
    EstimationMethod,
    Finding,
    IntervalSeries,
    PowerOutage,
    RegisterRead,
    ValidationContext,
    ValidationRule,
)


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


@runtime_checkable
class DailyUsageSource(HistorySource, Protocol):
    """A history source that can also give each day's usage alone (NaN: not complete)."""

    def daily_usage(
        self, channel_ids: Sequence[UUID], interval_minutes: int, start: datetime, end: datetime
    ) -> Mapping[UUID, np.ndarray]:
        """Per channel, each whole UTC day's total in [start, end) when every slot has a
        value, else NaN; a channel it cannot tell about is left out."""
        ...


@dataclass
class _BatchContext:
    """What a batch read before storing anything, shared by its chunks."""

    windows: Mapping[tuple[UUID, int], IntervalSeries]  # full histories, where needed
    light: Mapping[int, Judgement]  # by plan index: judged from daily usage alone
    periods: Mapping[str, list[tuple[str, datetime, datetime]]]
    registers: Mapping[UUID, list[RegisterRead]]


@runtime_checkable
class ExternalPeriodsInBulk(ExternalPeriodSource, Protocol):
    """An external period source that can answer for many service points at once."""

    def periods_by_point(
        self, service_point_ids: Collection[str], start: datetime, end: datetime
    ) -> Mapping[str, list[tuple[str, datetime, datetime]]]:
        """Per service point, what ``periods`` gives for it (points without any: absent)."""
        ...


@dataclass
class IngestTimings:
    """Seconds spent per stage, summed over ``ingest`` calls (for benchmarks)."""

    lookup: float = 0.0  # registry settings, rule sets, existing channel days
    history: float = 0.0
    judge: float = 0.0  # validate, estimate, validate again, stage the events
    store: float = 0.0
    retried_chunks: int = 0
    without_history: int = 0  # deliveries judged from their history's daily usage alone


@dataclass
class _Planned:
    """One delivery resolved against the registry, ready to judge."""

    index: int
    delivery: Delivery
    channel_id: UUID
    interval: int
    start: datetime
    values: np.ndarray
    statuses: np.ndarray
    settings: dict[str, Any]
    rules: list[ValidationRule]

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.interval) * len(self.values)

    def days(self) -> Iterator[date]:
        day = self.start.date()
        while day_start(day) < self.end:
            yield day
            day += timedelta(days=1)


@dataclass
class _Chunk:
    """Whole channels whose days are saved together; ``days`` holds the batch's aggregates
    (by channel: a channel's days are only ever touched by its own chunk)."""

    days: dict[UUID, dict[UUID, ChannelDay]]
    plans: list[_Planned] = field(default_factory=list)
    staged: dict[UUID, ChannelDay] = field(default_factory=dict)

    def days_of(self, channel_id: UUID) -> dict[UUID, ChannelDay]:
        return self.days.setdefault(channel_id, {})


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
        self._built: dict[str, list[ValidationRule]] = {}
        self._registry_position: int | None = None
        self._channels: dict[str, Channel] = {}
        self._rule_sets: dict[tuple[str | None, date], list[ValidationRule]] = {}
        self._one_by_one = VeeWorkflow(
            registry,
            readings,
            history_days=history_days,
            methods=self.methods,
            external_periods=external_periods,
        )

    def ingest(
        self, deliveries: Sequence[Delivery], provenance: Provenance
    ) -> list[DeliveryOutcome]:
        """Validates, estimates and stores every delivery; outcomes in the given order."""
        started = time.perf_counter()
        plans = self._planned(deliveries)
        # Everything is read before anything is stored: the read model is then as fresh
        # as it will be during this batch, and a chunk's writes concern its channels only.
        days = self._existing_days(plans)
        looked_up = time.perf_counter()
        periods = self._period_windows(plans)
        registers = self.readings.stored_register_reads(
            {plan.channel_id for plan in plans},
            min(plan.start for plan in plans),
            max(plan.end for plan in plans),
        )
        usage = self._daily_usage(plans)
        self.timings.lookup += looked_up - started
        self.timings.history += time.perf_counter() - looked_up
        # With daily usage at hand, the deliveries no rule fires on are judged from it;
        # full histories are read for the others only (their estimates need like days).
        began = time.perf_counter()
        light = self._judged_without_history(plans, days, usage, periods, registers)
        read = time.perf_counter()
        windows = self._history_windows([plan for plan in plans if plan.index not in light])
        self.timings.judge += read - began
        self.timings.history += time.perf_counter() - read
        batch = _BatchContext(windows, light, periods, registers)
        outcomes: list[DeliveryOutcome | None] = [None] * len(deliveries)
        for chunk in self._chunks(plans, days):
            for plan, outcome in self._ingest_chunk(chunk, batch, provenance):
                outcomes[plan.index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    # -- planning ------------------------------------------------------------------

    def _planned(self, deliveries: Sequence[Delivery]) -> list[_Planned]:
        self._follow_registry()
        channels, rule_sets = self._channels, self._rule_sets
        self._load_channels({delivery.channel_key for delivery in deliveries} - channels.keys())
        plans = []
        for index, delivery in enumerate(deliveries):
            if delivery.start.tzinfo is None:
                raise BlockOutOfDay("interval times must be timezone-aware")
            start = delivery.start.astimezone(UTC)
            key = delivery.channel_key
            if key not in channels:
                channels[key] = self.registry.get("channel", key)  # raises: unknown channel
            settings = channels[key].attributes_on(start.date())
            interval = int(settings["interval_minutes"])
            if 1440 % interval or (start - day_start(start.date())) % timedelta(minutes=interval):
                raise BlockOutOfDay(f"{start.isoformat()} is not on a {interval} min boundary")
            name = settings.get("rule_set")
            if (name, start.date()) not in rule_sets:
                version = self._one_by_one._rule_set(name, start)
                rule_sets[(name, start.date())] = self._rules(version)
            plans.append(
                _Planned(
                    index=index,
                    delivery=delivery,
                    channel_id=Channel.id_for(key),
                    interval=interval,
                    start=start,
                    values=np.asarray(delivery.values, dtype=np.float64),
                    statuses=np.asarray(delivery.statuses, dtype=np.uint8),
                    settings=settings,
                    rules=rule_sets[(name, start.date())],
                )
            )
        return plans

    def _follow_registry(self) -> None:
        """Drops what the registry recorded something new for since the last batch.

        Registry reads cost milliseconds each, so channels are kept across batches; a
        channel's own events say when its copy is stale (a new rule-set version may
        concern any day: the rule sets are read afresh)."""
        position = self.registry.recorder.max_notification_id()
        if position == self._registry_position:
            return
        changed: set[UUID] | None = set()
        after = self._registry_position
        while after is not None and changed is not None and after < (position or 0):
            found = self.registry.recorder.select_notifications(
                start=after, limit=1_000, inclusive_of_start=False
            )
            if not found or len(changed) > 10_000:
                changed = None  # a whole new registry, or nothing readable: start afresh
                break
            changed.update(cast(UUID, n.originator_id) for n in found)
            after = found[-1].id
        if after is None or changed is None:
            self._channels.clear()
        else:
            for key in [k for k in self._channels if Channel.id_for(k) in changed]:
                del self._channels[key]
        self._rule_sets.clear()
        self._registry_position = position

    def _load_channels(self, keys: Collection[str]) -> None:
        """The channels not kept yet, in one read (unknown ones are left out)."""
        ids = {Channel.id_for(key): key for key in keys}
        for channel_id, channel in self.registry.get_many_as_of(list(ids), None).items():
            if isinstance(channel, Channel):
                self._channels[ids[channel_id]] = channel

    def _rules(self, version: RuleSetVersion) -> list[ValidationRule]:
        # Rules are stateless (parameters only), so one built set serves every delivery.
        key = version.to_json()
        if key not in self._built:
            self._built[key] = version.build()
        return self._built[key]

    def _chunks(
        self, plans: list[_Planned], days: dict[UUID, dict[UUID, ChannelDay]]
    ) -> Iterator[_Chunk]:
        by_channel: dict[UUID, list[_Planned]] = {}
        for plan in plans:
            by_channel.setdefault(plan.channel_id, []).append(plan)
        chunk, count = _Chunk(days=days), 0
        for channel_plans in by_channel.values():
            chunk.plans.extend(channel_plans)
            count += sum(len(list(plan.days())) for plan in channel_plans)
            if count >= self.days_per_save:
                yield chunk
                chunk, count = _Chunk(days=days), 0
        if chunk.plans:
            yield chunk

    # -- one chunk -----------------------------------------------------------------

    def _ingest_chunk(
        self, chunk: _Chunk, batch: _BatchContext, provenance: Provenance
    ) -> list[tuple[_Planned, DeliveryOutcome]]:
        started = time.perf_counter()
        results = []
        for wave in _waves(chunk.plans):
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
                rest, contexts, _validated(rest, contexts), strict=True
            ):
                judgements[plan.index] = judge(context, plan.rules, self.methods, findings)
            for plan in wave:
                stored = self._stage(chunk, plan, judgements[plan.index], provenance)
                results.append((plan, judgements[plan.index].outcome(stored)))
        judged = time.perf_counter()
        try:
            self.readings.save(*chunk.staged.values())
            remember = getattr(self.history, "remember", None)
            if remember is not None:  # the history may not show them until its model catches up
                remember(chunk.staged.values())
        except IntegrityError:
            # Someone wrote one of these days meanwhile: redo the chunk from the store.
            self.timings.retried_chunks += 1
            results = [(p, self._one_by_one.process(p.delivery, provenance)) for p in chunk.plans]
        self.timings.judge += judged - started
        self.timings.store += time.perf_counter() - judged
        return results

    def _judged_without_history(
        self,
        plans: list[_Planned],
        days: dict[UUID, dict[UUID, ChannelDay]],
        usage: Mapping[tuple[UUID, datetime], np.ndarray],
        periods: Mapping[str, list[tuple[str, datetime, datetime]]],
        registers: Mapping[UUID, list[RegisterRead]],
    ) -> dict[int, Judgement]:
        """By plan index, the deliveries no rule fires on, judged from their history's
        daily usage alone (validated whole); the others are left to the full path."""
        by_rules: dict[int, list[_Planned]] = {}
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
                    judged[plan.index] = _all_validated(len(plan.values))
        self.timings.without_history += len(judged)
        return judged

    def _daily_usage(self, plans: list[_Planned]) -> dict[tuple[UUID, datetime], np.ndarray]:
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
        by_interval: dict[int, list[_Planned]] = {}
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

    def _existing_days(self, plans: list[_Planned]) -> dict[UUID, dict[UUID, ChannelDay]]:
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

    def _history_windows(self, plans: list[_Planned]) -> dict[tuple[UUID, int], IntervalSeries]:
        """One read per interval length: from the earliest history start to the last start."""
        reach = timedelta(days=self.history_days)
        by_interval: dict[int, list[_Planned]] = {}
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

    def _period_windows(
        self, plans: list[_Planned]
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

    def _context(
        self,
        plan: _Planned,
        days: dict[UUID, dict[UUID, ChannelDay]],
        window: IntervalSeries | None,
        periods: Mapping[str, list[tuple[str, datetime, datetime]]],
        registers: Mapping[UUID, list[RegisterRead]],
    ) -> ValidationContext:
        """The delivery's context; without its history when ``window`` is None."""
        start, end = plan.start, plan.end
        history_start = start - timedelta(days=self.history_days)
        history = None if window is None else _slice(window, history_start, start)
        previously = _empty(start, plan.interval, len(plan.values))
        for channel_day in days.get(plan.channel_id, {}).values():
            # What this batch already holds is newer than any read: lay it over.
            if history is not None:
                _overlay(history, channel_day, raw=False)
            _overlay(previously, channel_day, raw=True)
        point = str(plan.settings.get("service_point_id") or "")
        credited = tuple(
            PowerOutage(first, last)
            for kind, first, last in periods.get(point, ())
            if kind == "outage_credit" and first < end and last > start
        )
        incoming_qualities = np.where(
            np.isnan(plan.values), ReadingQuality.MISSING, ReadingQuality.RAW
        ).astype(np.uint8)
        delivery = plan.delivery
        return ValidationContext(
            series=IntervalSeries(
                start, plan.interval, plan.values, plan.statuses, incoming_qualities
            ),
            history=history,
            registers=with_stored(
                delivery.registers, registers.get(plan.channel_id, ()), start, end
            ),
            outages=delivery.outages + credited,
            disconnections=delivery.disconnections,
            clock_deviation_seconds=delivery.clock_deviation_seconds,
            previously_delivered=previously,
            unit=str(plan.settings.get("unit") or "kWh"),
        )

    def _stage(
        self, chunk: _Chunk, plan: _Planned, judgement: Judgement, provenance: Provenance
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


@dataclass(frozen=True)
class Judgement:
    """What validation and estimation made of one delivery, before it is stored."""

    validation: BlockValidation
    validated: int
    failed: int
    estimated: int
    for_a_person: int

    def outcome(self, stored: BlockOutcome) -> DeliveryOutcome:
        return DeliveryOutcome(
            stored=stored,
            validated=self.validated,
            failed=self.failed,
            estimated=self.estimated,
            for_a_person=self.for_a_person,
            findings=list(self.validation.findings),  # type: ignore[arg-type]
        )


def _waves(plans: Sequence[_Planned]) -> list[list[_Planned]]:
    """The plans in delivery order, cut so that each channel's n-th delivery is in wave n
    (a later delivery of a channel sees what the earlier ones staged)."""
    waves: list[list[_Planned]] = []
    seen: dict[UUID, int] = {}
    for plan in sorted(plans, key=lambda p: p.index):
        number = seen[plan.channel_id] = seen.get(plan.channel_id, -1) + 1
        if number == len(waves):
            waves.append([])
        waves[number].append(plan)
    return waves


def _validated(
    plans: Sequence[_Planned], contexts: Sequence[ValidationContext]
) -> list[list[Finding]]:
    """``validate`` of each context, deliveries under one rule set screened together."""
    by_rules: dict[int, list[int]] = {}
    for row, plan in enumerate(plans):
        by_rules.setdefault(id(plan.rules), []).append(row)
    findings: list[list[Finding]] = [[] for _ in plans]
    for rows in by_rules.values():
        found = validate_many([contexts[row] for row in rows], plans[rows[0]].rules)
        for row, row_findings in zip(rows, found, strict=True):
            findings[row] = row_findings
    return findings


def judge(
    context: ValidationContext,
    rules: Sequence[ValidationRule],
    methods: Sequence[EstimationMethod],
    findings: list[Finding] | None = None,
) -> Judgement:
    """Validate, estimate, validate the estimates again: ``VeeWorkflow.process``'s steps
    between reading and storing, step for step (the equality test holds them together).
    ``findings``: the rules' findings on ``context`` when they are known already."""
    values = context.series.values
    if findings is None:
        findings = validate(context, rules)
    if not findings and np.isfinite(values).all():
        # Nothing fired and nothing is missing: every slot is validated, nothing to
        # estimate (what the steps below come to, in a tenth of the time).
        return _all_validated(len(values))
    failing = failed_slots(context, findings)
    qualities = np.where(np.isnan(values), ReadingQuality.MISSING, ReadingQuality.VALIDATED).astype(
        np.uint8
    )
    qualities[sorted(failing)] = ReadingQuality.FAILED
    # Only intervals a rule points at (and missing ones) are estimated; a finding about
    # the whole block leaves its values for a person.
    to_estimate = qualities.copy()
    to_estimate[sorted(failing - _pointed_at(findings))] = ReadingQuality.VALIDATED
    judged = dataclasses.replace(
        context, series=dataclasses.replace(context.series, qualities=to_estimate)
    )
    estimates = estimate_gaps(judged, find_gaps(judged.series), methods)
    if estimates:
        # Estimated data is validated again; an estimate that fails is not used.
        filled = dataclasses.replace(judged, series=with_estimates(judged.series, estimates))
        refused = _pointed_at(validate(filled, rules))
        estimates = [e for e in estimates if not refused.intersection(e.slots)]
    estimated = {slot for estimate in estimates for slot in estimate.slots}
    unusable = set(np.flatnonzero(qualities != ReadingQuality.VALIDATED).tolist())
    return Judgement(
        validation=BlockValidation(
            qualities=qualities,
            findings=[_stored(finding) for finding in findings],
            estimator=ESTIMATOR,
            estimates=[BlockEstimate(e.slots, e.values, e.method) for e in estimates],
        ),
        validated=int(np.sum(qualities == ReadingQuality.VALIDATED)),
        failed=len(failing),
        estimated=len(estimated),
        for_a_person=len(unusable - estimated),
    )


def _all_validated(length: int) -> Judgement:
    return Judgement(
        validation=BlockValidation(
            qualities=np.full(length, ReadingQuality.VALIDATED, dtype=np.uint8),
            findings=[],
            estimator=ESTIMATOR,
            estimates=[],
        ),
        validated=length,
        failed=0,
        estimated=0,
        for_a_person=0,
    )


def _pointed_at(findings: Sequence[Finding]) -> set[int]:
    """Slots named by failing findings (not those concerning the whole block)."""
    return {slot for f in findings if f.severity == "fail" for slot in f.slots}


def _stored(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "slots": list(finding.slots),
        "message": finding.message,
        "suggestion": finding.suggestion,
        "detail": dict(finding.detail),
    }


def _empty(start: datetime, interval: int, count: int) -> IntervalSeries:
    return IntervalSeries(
        start,
        interval,
        np.full(count, np.nan),
        np.zeros(count, dtype=np.uint8),
        np.zeros(count, dtype=np.uint8),
    )


def _slice(window: IntervalSeries, start: datetime, end: datetime) -> IntervalSeries:
    """Slots [start, end) of ``window`` as writable copies (NaN / MISSING outside it)."""
    count = (end - start) // window.step
    result = _empty(start, window.interval_minutes, count)
    offset = (start - window.start) // window.step
    first, last = max(0, -offset), min(count, len(window) - offset)
    if first < last:
        source = slice(offset + first, offset + last)
        result.values[first:last] = window.values[source]
        result.statuses[first:last] = window.statuses[source]
        result.qualities[first:last] = window.qualities[source]
    return result


def _overlay(series: IntervalSeries, channel_day: ChannelDay, *, raw: bool) -> None:
    """Copies the day's slots that fall in ``series`` over it, as ``Readings.series`` would."""
    offset = (day_start(date.fromisoformat(channel_day.day)) - series.start) // series.step
    first, last = max(0, -offset), min(len(channel_day.values), len(series) - offset)
    if first < last:
        target = slice(offset + first, offset + last)
        source = channel_day.raw if raw else channel_day.values
        series.values[target] = source[first:last]
        series.statuses[target] = channel_day.statuses[first:last]
        series.qualities[target] = channel_day.qualities[first:last]
