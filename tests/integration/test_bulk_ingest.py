"""Bulk ingest stores exactly what the one-by-one VEE workflow stores, on both backends.

The same registry set-up, the same earlier days and the same batch of deliveries go to two
stores: one delivery at a time through ``VeeWorkflow.process`` into one, all at once
through ``BulkIngest.ingest`` into the other. Every channel day must end up with the same
values, qualities, meter status, raw values, versions and events, and every delivery with
the same outcome. The batch has gaps, spikes, a block over two midnights, a repeat, a
re-delivery with other values, a re-delivery over a person's edit, two deliveries of one
channel that lean on each other (history, previously delivered) and billing's outage
credit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from eventsourcing.application import AggregateNotFoundError

from adapters.interval_history import BulkExternalPeriods, IntervalViewHistory
from adapters.loadshapes import load_shape
from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from application.bulk_ingest import BulkIngest, HistorySource, ReadingsHistory
from application.readings import Readings
from application.registry import Registry
from application.vee_workflow import Delivery, DeliveryOutcome, ExternalPeriodSource, VeeWorkflow
from domain.channel import Channel
from domain.channel_day import ChannelDay
from domain.provenance import Provenance
from domain.vee.rule_set import DEFAULT_RULE_SET
from domain.vee.series import RegisterRead
from projections.external_periods import ExternalPeriodProjection, ExternalPeriodView
from projections.interval_view import IntervalProjection, IntervalView
from projections.runner import PollingProjectionRunner
from tests.backends import store_for

DEVICE = Provenance("hes-collector", "load profile read", "device")
SETUP = Provenance("test", "set-up", "system")
PERSON = Provenance("olga", "site visit", "ui", "FIELD_READ")
DAY = date(2026, 3, 4)  # a Wednesday
KEYS = ("SP-1:A+", "SP-2:A+", "SP-3:A+", "SP-4:A+", "SP-5:A+")
DAYS = [DAY + timedelta(days=offset) for offset in range(-12, 5)]


def start_of(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def household(day: date, scale: float = 3.5) -> np.ndarray:
    # The profile repeats itself every working day; a level per day makes it matter
    # which days an estimate leaned on.
    return load_shape("h25").quarter_hours(day) * scale * (1 + 0.05 * (day.toordinal() % 7))


def delivery(key: str, start: datetime, values: np.ndarray) -> Delivery:
    return Delivery(key, start, values, np.zeros(len(values), dtype=np.uint8))


CREDITED = (start_of(DAY + timedelta(days=1), 2), start_of(DAY + timedelta(days=1), 5))


def earlier_days() -> list[Delivery]:
    """Ten days of four channels before the batch; one with a gap nobody could fill."""
    deliveries = []
    for back in range(10, 0, -1):
        day = DAY - timedelta(days=back)
        for key, scale in (("SP-1:A+", 3.5), ("SP-2:A+", 5.0), ("SP-4:A+", 4.0), ("SP-5:A+", 4.0)):
            values = household(day, scale)
            if key == "SP-1:A+" and back == 3:
                values[24:48] = np.nan
            deliveries.append(delivery(key, start_of(day), values))
    return deliveries


def the_batch() -> list[Delivery]:
    spiky = household(DAY)
    spiky[60:63] = np.nan  # 15:00-15:45, after the next day's gap: a like day for it
    spiky[80] *= 40
    strict = household(DAY, 5.0)
    strict[10:12] = np.nan
    strict[70] *= 40
    two_midnights = np.concatenate([household(DAY + timedelta(days=n)) for n in range(3)])[48:240]
    two_midnights[56:68] = np.nan  # 02:00-05:00 on DAY + 1: CREDITED
    next_day = household(DAY + timedelta(days=1))
    next_day[24:48] = np.nan  # like days: from history and from this very batch
    changed = strict.copy()
    changed[60:64] *= 1.5
    over_the_edit = household(DAY - timedelta(days=1)) * 1.1
    gapped = household(DAY, 4.0)
    gapped[30:34] = np.nan
    return [
        delivery("SP-1:A+", start_of(DAY), spiky),
        delivery("SP-2:A+", start_of(DAY), strict),
        delivery("SP-3:A+", start_of(DAY, 12), two_midnights),
        delivery("SP-1:A+", start_of(DAY + timedelta(days=1)), next_day),
        delivery("SP-1:A+", start_of(DAY), spiky),  # the same again: nothing recorded
        delivery("SP-2:A+", start_of(DAY), changed),  # other values: duplicate delivery
        delivery("SP-1:A+", start_of(DAY - timedelta(days=1)), over_the_edit),
        delivery("SP-3:A+", start_of(DAY + timedelta(days=3)), household(DAY + timedelta(3))),
        # One delivery each: SP-4's is judged from its history's daily usage alone, SP-5's
        # gap sends it to the full path (its like days come from the history read then).
        delivery("SP-4:A+", start_of(DAY), household(DAY, 4.0)),
        delivery("SP-5:A+", start_of(DAY), gapped),
    ]


@dataclass
class Side:
    store: StoreLocation
    registry: Registry
    readings: Readings
    periods: ExternalPeriodView

    def close(self) -> None:
        self.registry.close()
        self.readings.close()


def opened(store: StoreLocation) -> Side:
    env = store.application_env()
    periods = ExternalPeriodView(shared_datastore(store.url))
    side = Side(store, Registry(env=env), Readings(env=env), periods)
    credit = {"period_key": "CREDIT-1", "service_point_id": "SP-3", "kind": "outage_credit",
              "starts_at": CREDITED[0].isoformat(), "ends_at": CREDITED[1].isoformat()}  # fmt: skip
    side.registry.register("external_period", credit, DAY, SETUP)
    PollingProjectionRunner(
        side.registry, ExternalPeriodProjection(periods, side.registry)
    ).catch_up()
    rules = [spec.as_dict() for spec in DEFAULT_RULE_SET.rules if spec.rule != "spike"]
    rules.append({"rule": "spike", "params": {}, "severity": "fail"})
    side.registry.register("validation_rule_set", {"name": "strict", "rules": rules}, DAY, SETUP)
    for key in KEYS:
        attributes = {"channel_key": key, "service_point_id": key.split(":")[0],
                      "kind": "metered", "unit": "kWh", "interval_minutes": 15,
                      "meter_channel": "1.0.1.29.0.255"}  # fmt: skip
        if key == "SP-2:A+":
            attributes["rule_set"] = "strict"
        side.registry.register("channel", attributes, date(2026, 1, 1), SETUP)
    return side


def prepare(side: Side) -> None:
    """The earlier days, one by one, and a person's edit of the day before the batch."""
    workflow = VeeWorkflow(side.registry, side.readings, external_periods=side.periods)
    for earlier in earlier_days():
        workflow.process(earlier, DEVICE)
    # A field read around the batch's last day of SP-3, 5 kWh beyond what its intervals add
    # up to: the stored registers reach both paths' sum check.
    last = DAY + timedelta(days=3)
    advance = Decimal(str(round(float(household(last).sum()), 6))) + 5
    reads = [
        RegisterRead(start_of(last), Decimal(1000)),
        RegisterRead(start_of(last + timedelta(1)), 1000 + advance),
    ]
    side.readings.record_register_reads(Channel.id_for("SP-3:A+"), reads, PERSON)


def edit(side: Side) -> None:
    # 06:00-07:00 of two like days of the gap the batch's DAY + 1 delivery has; the
    # batch delivers the first again (held slots), the second is history only.
    moments = {
        start_of(DAY - timedelta(days=back), 6) + timedelta(minutes=15 * n): 0.4
        for back in (1, 2)
        for n in range(4)
    }
    side.readings.edit_intervals(Channel.id_for("SP-1:A+"), moments, PERSON)


class MissesExistingDays:
    """A history source that wrongly says no day exists: the save must conflict."""

    def __init__(self, inner: HistorySource) -> None:
        self.inner = inner

    def series(self, *args: Any) -> Any:
        return self.inner.series(*args)

    def recorded_days(self, day_ids: Any) -> set[UUID]:
        return set()

    def remember(self, channel_days: Any) -> None:
        self.inner.remember(channel_days)


@pytest.fixture
def one_by_one(backend: str, tmp_path: Path) -> Iterator[Side]:
    with store_for(backend, tmp_path / "one_by_one") as location:
        side = opened(location)
        prepare(side)
        edit(side)
        workflow = VeeWorkflow(side.registry, side.readings, external_periods=side.periods)
        side.outcomes = [workflow.process(item, DEVICE) for item in the_batch()]  # type: ignore[attr-defined]
        yield side
        side.close()


@pytest.mark.parametrize(
    "source", ["read model", "read model behind", "event store", "wrong about existing days"]
)
def test_a_batch_is_stored_as_the_one_by_one_workflow_stores_it(
    store: StoreLocation, one_by_one: Side, source: str
) -> None:
    side = opened(store)
    try:
        view = IntervalView(shared_datastore(store.url))
        runner = PollingProjectionRunner(side.readings, IntervalProjection(view))
        prepare(side)
        if source == "read model behind":
            runner.catch_up()  # the edit below is not projected: that day must be re-read
        edit(side)
        if source == "read model":
            runner.catch_up()
        history: HistorySource = IntervalViewHistory(view, side.readings)
        periods: ExternalPeriodSource = BulkExternalPeriods(side.periods)
        if source == "event store":
            history, periods = ReadingsHistory(side.readings), side.periods
        if source == "wrong about existing days":
            history = MissesExistingDays(history)
        bulk = BulkIngest(
            side.registry, side.readings, history, external_periods=periods, days_per_save=3
        )

        outcomes = bulk.ingest(the_batch(), DEVICE)

        assert [summary(o) for o in outcomes] == [summary(o) for o in one_by_one.outcomes]  # type: ignore[attr-defined]
        for key in KEYS:
            for day in DAYS:
                assert stored_day(side.readings, key, day) == stored_day(
                    one_by_one.readings, key, day
                ), f"{key} {day}"
        assert (bulk.timings.retried_chunks > 0) == (source == "wrong about existing days")
        # The read model gives daily usage: SP-4's clean delivery is judged from it alone.
        light = source in ("read model", "read model behind")
        assert bulk.timings.without_history == (1 if light else 0)
    finally:
        side.close()


def test_the_batch_exercises_what_it_claims(one_by_one: Side) -> None:
    """Guards the comparison above against a batch that tests nothing."""
    outcomes: list[DeliveryOutcome] = one_by_one.outcomes  # type: ignore[attr-defined]
    rules = {f["rule"] for o in outcomes for f in o.findings}
    assert {"gap", "spike", "duplicate_delivery", "sum_check"} <= rules
    assert [f["rule"] for f in outcomes[7].findings] == ["sum_check"]  # the stored registers
    assert outcomes[4].stored.intervals == 0  # the repeat
    assert outcomes[2].stored.recorded_days == 3  # over two midnights
    assert outcomes[3].estimated == 24  # like days, one of them from this batch
    assert outcomes[2].estimated == 12  # the credited outage
    sp1_before = one_by_one.readings.day_versions(Channel.id_for("SP-1:A+"), DAY - timedelta(1))
    assert any(getattr(event, "held_slots", None) for event in sp1_before)


def stored_day(readings: Readings, key: str, day: date) -> dict[str, Any] | None:
    try:
        channel_day: ChannelDay = readings.repository.get(
            ChannelDay.id_for(Channel.id_for(key), day)
        )
    except AggregateNotFoundError:
        return None
    events = readings.day_versions(Channel.id_for(key), day)
    return {
        "version": channel_day.version,
        "values": exact(channel_day.values),
        "raw": exact(channel_day.raw),
        "qualities": channel_day.qualities.tolist(),
        "statuses": channel_day.statuses.tolist(),
        "billed": channel_day.billed.tolist(),
        "events": [event_summary(event) for event in events],
    }


def event_summary(event: Any) -> tuple[Any, ...]:
    fields = ("first_slot", "findings", "held_slots", "slots", "method", "quality", "actor")
    arrays = tuple(exact(getattr(event, name)) for name in ("values", "qualities", "statuses")
                   if hasattr(event, name))  # fmt: skip
    return (type(event).__name__, *(getattr(event, name, None) for name in fields), *arrays)


def summary(outcome: DeliveryOutcome) -> tuple[Any, ...]:
    return (
        outcome.stored,
        outcome.validated,
        outcome.failed,
        outcome.estimated,
        outcome.for_a_person,
        outcome.findings,
    )


def exact(array: np.ndarray) -> list[Any]:
    """Comparable as a list, NaN included (NaN != NaN would fail equal lists)."""
    return [None if isinstance(v, float) and np.isnan(v) else v for v in np.asarray(array).tolist()]
