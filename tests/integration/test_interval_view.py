"""The interval read model (one row per channel day) on SQLite and PostgreSQL: it holds
what the event store holds, whatever the runner's batches, and a store with the former
per-interval tables rebuilds it from zero."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import numpy as np
import pytest
from sqlalchemy import BigInteger, Column, MetaData, Table, Text, Uuid, insert, select

from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from application.block_validation import BlockValidation
from application.readings import Readings
from application.registry import Registry
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality
from projections.interval_view import IntervalProjection, IntervalView
from projections.read_models import ReadModels
from projections.runner import PollingProjectionRunner
from projections.vee_exceptions import VeeExceptionProjection, VeeExceptionView

DEVICE = Provenance("hes-collector", "load profile read", "device")
CLERK = Provenance("carol", "customer photo", "ui", reason_code="CUSTOMER_READ")
CHANNEL = UUID(int=7)  # any channel id: the view needs no registry
DAY = datetime(2026, 3, 1, tzinfo=UTC)
SPAN = (DAY, DAY + timedelta(days=3))


@pytest.fixture
def readings(store: StoreLocation) -> Iterator[Readings]:
    found = Readings(env=store.application_env())
    yield found
    found.close()


def at(day: int, slot: int) -> datetime:
    return DAY + timedelta(days=day, minutes=15 * slot)


def record_history(readings: Readings) -> None:
    """Blocks, a re-delivery over midnight, estimates, billing, an edit, an acceptance,
    and a late re-delivery that is held where people decided (its status bits differ)."""
    values = np.linspace(0.1, 9.6, 96)
    values[10:14] = np.nan
    statuses = np.zeros(96, dtype=np.uint8)
    statuses[20] = 0x80
    readings.record_block(CHANNEL, 15, at(0, 0), values, statuses, DEVICE)
    readings.record_block(
        CHANNEL, 15, at(0, 92), np.array([1.0, -0.0, 1e-5, 3.0, 4.0, 5.0]), np.zeros(6), DEVICE
    )
    readings.estimate_intervals(
        CHANNEL, {at(0, slot): 0.25 for slot in range(10, 14)}, "linear_interpolation", DEVICE
    )
    readings.mark_billed(CHANNEL, [at(0, 10), at(0, 11)], DEVICE)
    readings.edit_intervals(CHANNEL, {at(0, 30): 7.5, at(1, 1): 2.5}, CLERK)
    readings.accept_as_is(CHANNEL, [at(0, 40)], CLERK)
    again = values.copy()
    again[8:34] += 1.0
    readings.record_block(CHANNEL, 15, at(0, 8), again[8:34], np.full(26, 0x20), DEVICE)


def test_the_read_model_holds_what_the_event_store_holds(
    store: StoreLocation, readings: Readings
) -> None:
    record_history(readings)
    view = IntervalView(shared_datastore(store.url))
    PollingProjectionRunner(readings, IntervalProjection(view)).catch_up()

    assert view.known_intervals(CHANNEL, *SPAN) == readings.intervals(CHANNEL, *SPAN)
    days = readings.days_as_of(CHANNEL, *SPAN)
    blocks = view.day_blocks(CHANNEL, *SPAN)
    assert [block.day_id for block in blocks] == [day.id for day in days]
    for block, day in zip(blocks, days, strict=True):
        assert block.version == day.version
        assert np.array_equal(block.values, day.values, equal_nan=True)
        assert np.array_equal(block.raw, day.raw, equal_nan=True)
        assert np.array_equal(block.statuses, day.statuses)
        assert np.array_equal(block.qualities, day.qualities)
        assert np.array_equal(block.billed, day.billed)
    # Held slots keep the person's value but take the delivered status bits, as the
    # aggregate does; the first day's last data version is the late re-delivery.
    assert blocks[0].values[30] == 7.5 and blocks[0].statuses[30] == 0x20
    assert blocks[0].data_version == days[0].version


def test_every_batching_of_the_events_gives_the_same_rows(
    store: StoreLocation, readings: Readings
) -> None:
    record_history(readings)
    rows = []
    for batch_size in (500, 1, 3):
        view = IntervalView(shared_datastore(store.url))
        view.reset()
        PollingProjectionRunner(
            readings, IntervalProjection(view), batch_size=batch_size
        ).catch_up()
        with view.transaction(commit=False) as session:
            rows.append(
                [
                    dict(row)
                    for row in session.execute(select(*view.tables).order_by("day_id")).mappings()
                ]
            )

    assert rows[0] and rows[1] == rows[0] and rows[2] == rows[0]


def test_the_written_intervals_and_the_summary_come_from_the_day_rows(
    store: StoreLocation, readings: Readings
) -> None:
    readings.record_block(
        CHANNEL, 15, at(0, 94), np.array([1.0, np.nan, 3.0]), np.array([0, 0x80, 0]), DEVICE
    )
    readings.estimate_intervals(CHANNEL, {at(1, 5): 0.5}, "value_fill", DEVICE)
    view = IntervalView(shared_datastore(store.url))
    PollingProjectionRunner(readings, IntervalProjection(view)).catch_up()

    rows = view.intervals(CHANNEL, *SPAN)

    assert [(row["start"], row["value"], row["quality"]) for row in rows] == [
        (at(0, 94), 1.0, "raw"),
        (at(0, 95), None, "missing"),
        (at(1, 0), 3.0, "raw"),
        (at(1, 5), 0.5, "estimated"),
    ]
    assert view.latest_interval(CHANNEL) == rows[-1]
    assert view.summary() == [
        {"channel_id": CHANNEL, "intervals": 4, "first": at(0, 94), "last": at(1, 5)}
    ]


def test_a_store_with_the_former_interval_tables_rebuilds_the_day_rows_from_zero(
    store: StoreLocation, readings: Readings
) -> None:
    record_history(readings)
    datastore = shared_datastore(store.url)
    former = MetaData()
    tracking = Table(
        "interval_view_tracking",
        former,
        Column("application_name", Text(), primary_key=True),
        Column("notification_id", BigInteger(), primary_key=True),
    )
    values = Table(
        "interval_values",
        former,
        Column("channel_id", Uuid(), primary_key=True),
        Column("start_at", BigInteger(), primary_key=True),
    )
    assert datastore.engine is not None
    former.create_all(datastore.engine)
    position = readings.recorder.max_notification_id()
    with datastore.transaction(commit=True) as session:
        session.execute(
            insert(tracking).values(application_name="Readings", notification_id=position)
        )
        session.execute(insert(values).values(channel_id=CHANNEL, start_at=0))

    registry = Registry(env=store.application_env())
    read_models = ReadModels(store, registry, readings)
    try:
        assert read_models.intervals.lags(readings.name, "readings_events")
        fresh = read_models.fresh_intervals()

        assert fresh.known_intervals(CHANNEL, *SPAN) == readings.intervals(CHANNEL, *SPAN)
        assert not read_models.intervals.lags(readings.name, "readings_events")
        with datastore.transaction(commit=False) as session:  # left as they were
            assert session.execute(select(values.c.start_at)).scalars().all() == [0]
    finally:
        read_models.stop()
        registry.close()


def failed_block(readings: Readings, day: int, failed: list[int], rule: str) -> None:
    qualities = np.full(8, ReadingQuality.VALIDATED, dtype=np.uint8)
    qualities[failed] = ReadingQuality.FAILED
    finding = {"rule": rule, "severity": "fail", "slots": failed, "message": "m", "suggestion": "s"}
    validation = BlockValidation(qualities, [finding], DEVICE)
    values = np.arange(8.0) + day + len(failed)  # a re-delivery differs
    readings.record_block(
        CHANNEL, 15, at(day, 0), values, np.zeros(8), DEVICE, validation=validation
    )


def test_every_batching_of_the_events_gives_the_same_exception_queue(
    store: StoreLocation, readings: Readings
) -> None:
    failed_block(readings, 0, [1, 2, 3], "spike")
    failed_block(readings, 1, [4], "absolute_limits")
    failed_block(readings, 0, [2, 5], "negative_consumption")  # re-delivered: 1 and 3 settle
    readings.edit_intervals(CHANNEL, {at(0, 5): 1.0}, CLERK)
    queues = []
    for batch_size in (500, 1, 2):
        view = VeeExceptionView(shared_datastore(store.url))
        view.reset()
        runner = PollingProjectionRunner(
            readings, VeeExceptionProjection(view), batch_size=batch_size
        )
        runner.catch_up()
        queues.append(view.exceptions(channel_id=CHANNEL))

    assert [(row["start"], row["rule"]) for row in queues[0]] == [
        (at(1, 4), "absolute_limits"),
        (at(0, 2), "negative_consumption"),
    ]
    assert queues[1] == queues[0] and queues[2] == queues[0]
