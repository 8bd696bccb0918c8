"""The read-model history while its projection lags (as when it runs in another process
beside the ingest): exact, and cheap when only the tail of the log is unprojected.

Days the view has not caught up with come from what the ingest just saved when that is
still the event store's version, else from the event store in one read; a view far
behind is checked day by day. Every answer is compared with the event store's own.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import numpy as np
import pytest
from sqlalchemy import text

import adapters.interval_history as interval_history
from adapters.interval_day_rows import day_id_of
from adapters.interval_history import IntervalViewHistory
from adapters.persistence.factory import shared_datastore
from application.bulk_ingest import BulkIngest, ReadingsHistory
from domain.channel import Channel
from projections.interval_view import IntervalProjection, IntervalView
from projections.runner import PollingProjectionRunner
from tests.integration.test_bulk_ingest import (
    DAY,
    DEVICE,
    KEYS,
    PERSON,
    Side,
    delivery,
    household,
    start_of,
)

CHANNELS = [Channel.id_for(key) for key in KEYS]


def ingest_days(
    side: Side, history: IntervalViewHistory, runner: PollingProjectionRunner, days: int
) -> None:
    """``days`` daily batches; the view catches up after all but the last."""
    bulk = BulkIngest(side.registry, side.readings, history, days_per_save=2)
    for offset in range(days):
        day = DAY + timedelta(days=offset)
        bulk.ingest([delivery(key, start_of(day), household(day)) for key in KEYS], DEVICE)
        if offset < days - 1:
            runner.catch_up()


def assert_as_the_event_store_has_it(side: Side, history: IntervalViewHistory, days: int) -> None:
    start, end = start_of(DAY - timedelta(days=2)), start_of(DAY + timedelta(days=days + 1))
    got = history.series(CHANNELS, 15, start, end)
    expected = ReadingsHistory(side.readings).series(CHANNELS, 15, start, end)
    for channel in CHANNELS:
        assert np.array_equal(got[channel].values, expected[channel].values, equal_nan=True)
        assert np.array_equal(got[channel].statuses, expected[channel].statuses)
        assert np.array_equal(got[channel].qualities, expected[channel].qualities)


def assert_usage_as_the_event_store_has_it(
    side: Side, history: IntervalViewHistory, days: int
) -> None:
    start, end = start_of(DAY - timedelta(days=2)), start_of(DAY + timedelta(days=days + 1))
    usage = history.daily_usage(CHANNELS, 15, start, end)
    expected = ReadingsHistory(side.readings).series(CHANNELS, 15, start, end)
    for channel in CHANNELS:
        by_day = expected[channel].values.reshape(-1, 96)
        missing = np.isnan(by_day).any(axis=1)
        totals = np.where(missing, np.nan, np.where(missing[:, None], 0, by_day).sum(axis=1))
        assert np.allclose(usage[channel], totals, rtol=1e-12, equal_nan=True)
        assert (~missing).sum() == days  # the days delivered, and the days around them


def lagging(side: Side) -> tuple[IntervalViewHistory, PollingProjectionRunner]:
    view = IntervalView(shared_datastore(side.store.url))
    return IntervalViewHistory(view, side.readings), PollingProjectionRunner(
        side.readings, IntervalProjection(view)
    )


def test_days_the_view_lacks_come_from_what_the_ingest_saved(side: Side) -> None:
    history, runner = lagging(side)
    ingest_days(side, history, runner, days=3)

    assert history.view.lags(side.readings.name, "readings_events")
    assert_as_the_event_store_has_it(side, history, days=3)
    assert_usage_as_the_event_store_has_it(side, history, days=3)
    assert history.days_read_from_store == 0


def test_a_day_changed_by_someone_else_since_is_read_from_the_event_store(side: Side) -> None:
    history, runner = lagging(side)
    ingest_days(side, history, runner, days=3)
    last = DAY + timedelta(days=2)
    side.readings.edit_intervals(CHANNELS[0], {start_of(last, 6): 9.5}, PERSON)

    assert_as_the_event_store_has_it(side, history, days=3)
    assert history.days_read_from_store == 1
    assert_usage_as_the_event_store_has_it(side, history, days=3)


def test_a_view_far_behind_is_checked_day_by_day_and_still_exact(
    side: Side, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, runner = lagging(side)
    ingest_days(side, history, runner, days=3)
    monkeypatch.setattr(interval_history, "_TAIL", 1)  # more than one unprojected day
    elsewhere = IntervalViewHistory(history.view, side.readings)  # remembers nothing

    assert_as_the_event_store_has_it(side, elsewhere, days=3)
    assert elsewhere.days_read_from_store == len(KEYS)
    assert_usage_as_the_event_store_has_it(side, elsewhere, days=3)


def test_a_caught_up_view_reads_nothing_from_the_event_store(side: Side) -> None:
    history, runner = lagging(side)
    ingest_days(side, history, runner, days=2)
    runner.catch_up()

    assert_as_the_event_store_has_it(side, history, days=2)
    assert_usage_as_the_event_store_has_it(side, history, days=2)
    assert history.days_read_from_store == 0
    assert not history.view.lags(side.readings.name, "readings_events")


def test_a_day_id_ending_in_zero_bytes_survives_the_rows_fixed_width_field() -> None:
    day_id = UUID(bytes=bytes(range(1, 14)) + b"\x00\x00\x00")
    packed = np.array([day_id.bytes], dtype="S16")  # what the rows hold: numpy strips zeros

    assert day_id_of(packed[0]) == day_id


def test_rows_from_before_day_usage_was_recorded_make_their_channels_read_in_full(
    side: Side,
) -> None:
    history, runner = lagging(side)
    ingest_days(side, history, runner, days=2)
    runner.catch_up()
    engine = shared_datastore(side.store.url).engine
    with engine.begin() as connection:  # type: ignore[union-attr]
        for column in ("day_complete", "day_total"):  # the table as an older release made it
            connection.execute(text(f"ALTER TABLE interval_days DROP COLUMN {column}"))

    upgraded = IntervalViewHistory(IntervalView(shared_datastore(side.store.url)), side.readings)
    start, end = start_of(DAY - timedelta(days=2)), start_of(DAY + timedelta(days=3))

    assert upgraded.daily_usage(CHANNELS, 15, start, end) == {}  # unknown: read in full
    assert_as_the_event_store_has_it(side, upgraded, days=2)
    upgraded.view.reset()
    PollingProjectionRunner(side.readings, IntervalProjection(upgraded.view)).catch_up()
    assert_usage_as_the_event_store_has_it(side, upgraded, days=2)


def test_a_view_too_far_behind_is_caught_up_first_when_the_history_can(
    side: Side, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, runner = lagging(side)
    ingest_days(side, history, runner, days=3)
    monkeypatch.setattr(interval_history, "_TAIL", 1)
    caught_up = IntervalViewHistory(history.view, side.readings, catch_up=runner.catch_up)

    assert_as_the_event_store_has_it(side, caught_up, days=3)
    assert caught_up.days_read_from_store == 0  # nothing replayed: the view has them now
    assert not history.view.lags(side.readings.name, "readings_events")
