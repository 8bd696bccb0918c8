"""A channel's intervals through the API, with over 10 million intervals stored.

    .venv/bin/python -m benchmarks.channel_view --build        # build the named database
    .venv/bin/python -m benchmarks.channel_view --reuse        # measure on it (builds if absent)
    .venv/bin/python -m benchmarks.channel_view --drop         # drop it
    .venv/bin/python -m benchmarks.channel_view --channels 50 --days 40   # small, throwaway

Data: ``--channels`` 15-min channels x ``--days`` days (default 1,000 x 105 = 10.08 million
intervals), in the event store as the Readings application records them (one
``ChannelDay`` per channel and day: ``Opened`` + ``IntervalsRecorded`` with 4 intervals
missing on every tenth day, estimated two days later by ``IntervalsEstimated``), saved 200
aggregates per ``save``. Recorded times are simulated (delivered the night after the day,
estimated two nights later) so that as-of reads meet real versions. The read models are
filled by ``COPY`` with exactly the rows their projections would write (checked against
the event store before timing), and their tracking positions set to the last
notification: replaying 200,000 events through the projections would take hours (see
docs/PERFORMANCE.md, "Ingest").

Measured: the 3,000-interval query (31.25 days of one channel, random channel and window)
through the API route as it is (the event store), through proposed routes reading the
interval read model (FastAPI's encoder, a ``JSONResponse``, or JSON concatenated by
PostgreSQL), and in process without HTTP; the as-of query of a month (the 31 days
before a random recorded time, as known then) through the API route as it is, through a
proposed route reading all the month's events in two queries, and in process. Baselines
in the same run: a raw SQL select of the same 3,000 rows, and ``GET /healthz`` (the
HTTP floor). HTTP: uvicorn in its own process on 127.0.0.1, httpx with keep-alive, a
bearer token (checked on every request), timed to the response's last byte. Before
timing, the answers of every path are compared on samples.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID

import httpx
import numpy as np
import psycopg2
from eventsourcing.persistence import StoredEvent
from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, Response
from psycopg2 import sql
from sqlalchemy import Engine, func, select, text

from adapters.loadshapes import load_shape
from adapters.persistence.factory import dispose_datastore, shared_datastore
from adapters.persistence.recorder import to_microseconds
from adapters.persistence.scratch import scratch_postgres_database
from adapters.security.passwords import Argon2PasswordHasher
from application.vee_workflow import ESTIMATOR
from benchmarks.as_of import Row, machine
from domain.channel import Channel
from domain.channel_day import ChannelDay
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality
from interfaces.api.reading_routes import MAX_INTERVAL_SPAN, _channel_id
from interfaces.api.registry_routes import AsOf, Install, Reader, aware
from interfaces.installation import Installation

NAMED_DATABASE = "hes_bench_channel_view"
FIRST_DAY = date(2025, 9, 1)
QUERY_INTERVALS = 3_000
DAYS_PER_SAVE = 200
TARGET_P95_MS, AS_OF_TARGET_P95_MS = 20.0, 50.0
DEVICE = Provenance("hes-collector", "load profile read", "device")
SETUP = Provenance("benchmark", "set-up", "system")
DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PASSWORD = "benchmark-reader-password"


def engine_of(url: str) -> Engine:
    engine = shared_datastore(url).engine
    assert isinstance(engine, Engine)  # a datastore made from a URL has an engine
    return engine


def channel_key(number: int) -> str:
    return f"SP-{number:06d}:A+"


class SimulatedClock:
    def __init__(self) -> None:
        self.now = datetime(2000, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def recorded_by(clock: SimulatedClock) -> Iterator[None]:
    events = (ChannelDay.Opened, ChannelDay.IntervalsRecorded, ChannelDay.IntervalsEstimated)
    with ExitStack() as stack:
        for event_class in events:
            stack.enter_context(
                mock.patch.object(event_class, "create_timestamp", staticmethod(clock))
            )
        yield


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def build(url: str, data_dir: Path, channels: int, days: int, seed: int) -> dict[str, float]:
    """The event store through the Readings application, the read models by COPY."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    install = Installation.open(data_dir, url, hasher=Argon2PasswordHasher.cheap_for_tests())
    try:
        install.security.enrol("reader", PASSWORD, ["auditor"], SETUP)
        for first in range(0, channels, 1_000):
            items = [
                ("channel", {"channel_key": channel_key(n), "service_point_id": f"SP-{n:06d}",
                             "kind": "metered", "unit": "kWh", "interval_minutes": 15,
                             "meter_channel": "1.0.1.29.0.255"}, date(2025, 1, 1))
                for n in range(first, min(first + 1_000, channels))
            ]  # fmt: skip
            install.registry.register_all(items, SETUP)
        install.read_models.catch_up()  # registry read models, the real way
        timings["registry"] = time.perf_counter() - started
        rng = np.random.default_rng(seed)
        levels = rng.uniform(1_500, 8_000, channels) / 1000.0
        ids = [Channel.id_for(channel_key(n)) for n in range(channels)]
        clock = SimulatedClock()
        shape = load_shape("h25")
        pending: dict[date, list[tuple[ChannelDay, int]]] = {}
        estimated: list[tuple[UUID, int, float]] = []
        event_seconds = copy_seconds = 0.0
        engine = engine_of(url)
        raw = engine.raw_connection()
        try:
            for number in range(days + 2):
                day = FIRST_DAY + timedelta(days=number)
                began = time.perf_counter()
                recorded, rows = (
                    record_day(install, clock, shape, levels, ids, day, rng, pending)
                    if number < days
                    else ([], None)
                )
                estimated += estimate_day(install, clock, day, pending)
                save_in_chunks(install, recorded)
                event_seconds += time.perf_counter() - began
                if rows is not None:
                    began = time.perf_counter()
                    copy_day(raw, rows, ids, day)
                    copy_seconds += time.perf_counter() - began
            began = time.perf_counter()
            apply_estimates(raw, estimated)
            set_positions(install)
            copy_seconds += time.perf_counter() - began
        finally:
            raw.close()
        began = time.perf_counter()
        vacuum_analyze(url)
        timings["event store"] = event_seconds
        timings["read models"] = copy_seconds
        timings["vacuum analyze"] = time.perf_counter() - began
    finally:
        install.close()
    timings["whole build"] = time.perf_counter() - started
    return timings


def record_day(
    install: Installation,
    clock: SimulatedClock,
    shape: Any,
    levels: np.ndarray,
    ids: list[UUID],
    day: date,
    rng: np.random.Generator,
    pending: dict[date, list[tuple[ChannelDay, int]]],
) -> tuple[list[ChannelDay], np.ndarray]:
    """Every channel's day, delivered the next night; every tenth day misses an hour."""
    clock.now = midnight(day) + timedelta(days=1, hours=1)
    values = shape.quarter_hours(day) * levels[:, None] * rng.uniform(0.8, 1.2, (len(ids), 96))
    statuses = np.zeros(96, dtype=np.uint8)
    missing = rng.random(len(ids)) < 0.1
    gaps = rng.integers(0, 92, len(ids))
    aggregates = []
    with recorded_by(clock):
        for row, channel_id in enumerate(ids):
            delivered = values[row].copy()
            qualities = np.full(96, ReadingQuality.VALIDATED, dtype=np.uint8)
            if missing[row]:
                delivered[gaps[row] : gaps[row] + 4] = np.nan
                qualities[gaps[row] : gaps[row] + 4] = ReadingQuality.MISSING
                pending.setdefault(day + timedelta(days=2), [])
            channel_day = ChannelDay.open(channel_id, day, 15)
            channel_day.record(0, delivered, statuses, DEVICE, qualities=qualities)
            aggregates.append(channel_day)
            if missing[row]:
                pending[day + timedelta(days=2)].append((channel_day, int(gaps[row])))
            values[row] = delivered
    return aggregates, values


def estimate_day(
    install: Installation,
    clock: SimulatedClock,
    day: date,
    pending: dict[date, list[tuple[ChannelDay, int]]],
) -> list[tuple[UUID, int, float]]:
    """Two nights later the missing hour is estimated (a third version of the day)."""
    due = pending.pop(day, [])
    clock.now = midnight(day) + timedelta(days=1, hours=2)
    estimated: list[tuple[UUID, int, float]] = []
    with recorded_by(clock):
        for channel_day, gap in due:
            value = float(np.nanmean(channel_day.values))
            channel_day.estimate(
                range(gap, gap + 4), np.full(4, value), "linear_interpolation", ESTIMATOR
            )
            estimated.extend((channel_day.id, slot, value) for slot in range(gap, gap + 4))
    save_in_chunks(install, [channel_day for channel_day, _ in due])
    return estimated


def save_in_chunks(install: Installation, aggregates: list[ChannelDay]) -> None:
    for first in range(0, len(aggregates), DAYS_PER_SAVE):
        install.readings.save(*aggregates[first : first + DAYS_PER_SAVE])


def copy_day(raw: Any, values: np.ndarray, ids: list[UUID], day: date) -> None:
    """The rows the interval projection writes for a recorded day (before its estimates)."""
    record = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("channel", "V16"), ("l2", ">i4"),
                       ("start", ">i8"), ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"),
                       ("status", ">i4"), ("l5", ">i4"), ("quality", "S9"), ("l6", ">i4"),
                       ("version", ">i4")])  # fmt: skip
    count = len(ids) * 96
    rows = np.zeros(count, dtype=record)
    rows["fields"], rows["l1"], rows["l2"], rows["l3"], rows["l4"] = 6, 16, 8, 8, 4
    rows["l6"], rows["version"] = 4, 2
    rows["channel"] = np.repeat(np.array([i.bytes for i in ids], dtype="V16"), 96)
    rows["start"] = int(midnight(day).timestamp()) + np.tile(np.arange(96) * 900, len(ids))
    flat = values.reshape(-1)
    rows["value"] = np.nan_to_num(flat, nan=0.0)
    rows["l5"], rows["quality"] = 9, b"validated"
    # A missing value is a NULL (length -1) and the quality "missing" (7 bytes): those
    # rows are not fixed-width, so they go in a second, text COPY below.
    present = ~np.isnan(flat)
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    cursor = raw.cursor()
    body = header + rows[present].tobytes() + struct.pack(">h", -1)
    cursor.copy_expert("COPY interval_values FROM STDIN WITH (FORMAT binary)", io.BytesIO(body))
    absent = np.flatnonzero(~present)
    lines = "".join(
        f"{ids[i // 96]}\t{int(rows['start'][i])}\t\\N\t0\tmissing\t2\n" for i in absent.tolist()
    )
    cursor.copy_expert("COPY interval_values FROM STDIN", io.StringIO(lines))
    first_second = int(midnight(day).timestamp())
    days = "".join(f"{ChannelDay.id_for(i, day)}\t{i}\t{day.isoformat()}\t15\n" for i in ids)
    cursor.copy_expert("COPY channel_days FROM STDIN", io.StringIO(days))
    exception_days = "".join(
        f"{ChannelDay.id_for(i, day)}\t{i}\t{first_second}\t900\n" for i in ids
    )
    cursor.copy_expert("COPY vee_exception_days FROM STDIN", io.StringIO(exception_days))
    raw.commit()


def apply_estimates(raw: Any, estimated: list[tuple[UUID, int, float]]) -> None:
    """Estimated intervals as the projection's revision upsert leaves them."""
    cursor = raw.cursor()
    text = "".join(f"{day_id}\t{slot}\t{value!r}\n" for day_id, slot, value in estimated)
    cursor.execute("CREATE TEMP TABLE estimated (day_id uuid, slot int, value float8)")
    cursor.copy_expert("COPY estimated FROM STDIN", io.StringIO(text))
    cursor.execute(
        "UPDATE interval_values v SET value = e.value, quality = 'estimated', day_version = 3 "
        "FROM estimated e JOIN channel_days d ON d.day_id = e.day_id "
        "WHERE v.channel_id = d.channel_id "
        "AND v.start_at = extract(epoch FROM d.day::date)::bigint + e.slot * 900"
    )
    raw.commit()


def vacuum_analyze(url: str) -> None:
    """What autovacuum would have done by then: planner statistics, visibility map."""
    engine = engine_of(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def set_positions(install: Installation) -> None:
    """The read models fed by Readings are now where their projections would be."""
    position = install.readings.recorder.max_notification_id()
    for view in (install.read_models.intervals, install.read_models.vee_exceptions):
        with view.transaction(commit=True) as session:
            previous = view.max_tracking_id(install.readings.name)
            view.advance_tracking(session, install.readings.name, previous, position or 0)


# -- the proposed route: the read model when no as_of is asked for --------------------


def proposed_router(prefix: str, *, encoding: str) -> APIRouter:
    """``GET /channels/{channel}/intervals`` as proposed for interfaces/api/reading_routes.py.

    Without ``as_of`` it answers from the interval read model, after catching the read
    models up if their position is behind the Readings application's last notification.
    ``encoding``: "fastapi" (a dict, FastAPI's ``jsonable_encoder``), "json" (a
    ``JSONResponse``), or "sql" (PostgreSQL builds the intervals' JSON: no Python object
    per interval).
    """
    router = APIRouter(prefix=prefix)

    @router.get("/channels/{channel}/intervals")
    def channel_intervals(
        channel: str, install: Install, who: Reader, start: datetime, end: datetime,
        as_of: AsOf = None,
    ) -> Any:  # fmt: skip
        begin, finish, moment = aware(start), aware(end), aware(as_of)
        assert begin is not None and finish is not None
        if finish <= begin:
            raise HTTPException(422, "end must be after start")
        if finish - begin > MAX_INTERVAL_SPAN:
            raise HTTPException(422, "ask for at most 366 days of intervals at once")
        channel_id = _channel_id(channel)
        readings, view = install.readings, install.read_models.intervals
        if moment is None:
            if not caught_up(view, readings):
                install.read_models.catch_up()  # answers never lag what was recorded
            if encoding == "sql":
                count, intervals = intervals_json(view, channel_id, begin, finish)
                head = {"channel_id": str(channel_id), "start": begin.isoformat(),
                        "end": finish.isoformat(), "as_of": datetime.now(UTC).isoformat(),
                        "count": count}  # fmt: skip
                text = json.dumps(head)[:-1] + f', "intervals": {intervals}}}'
                return Response(text, media_type="application/json")
            rows = [
                r for r in view.intervals(channel_id, begin, finish) if r["quality"] != "missing"
            ]
        else:
            rows = as_of_in_two_queries(readings, channel_id, begin, finish, moment)
        body = {
            "channel_id": str(channel_id),
            "start": begin.isoformat(),
            "end": finish.isoformat(),
            "as_of": (moment or datetime.now(UTC)).isoformat(),
            "count": len(rows),
            "intervals": [{**row, "start": row["start"].isoformat()} for row in rows],
        }
        return JSONResponse(body) if encoding == "json" else body

    return router


def caught_up(view: Any, readings: Any) -> bool:
    """The view's position is the Readings application's last notification (one query)."""
    query = text(
        f"SELECT (SELECT max(notification_id) FROM {view.tracking_table_name}"
        " WHERE application_name = :name),"
        f" (SELECT max(id) FROM {readings.recorder.events_table_name})"
    )
    with view.transaction(commit=False) as session:
        position, last = session.execute(query, {"name": readings.name}).one()
    return bool(position == last)


def intervals_json(view: Any, channel_id: UUID, start: datetime, end: datetime) -> tuple[int, str]:
    """The known intervals as JSON objects, concatenated by PostgreSQL (a proposed
    IntervalView method): no Python object per interval. ``float8`` prints its shortest
    exact form (PostgreSQL 12+), as Python's ``repr``; an integral value prints without
    ".0", which JSON does not tell apart."""
    query = text(
        "SELECT count(*), '[' || coalesce(string_agg("
        "'{\"start\":\"' || replace((to_timestamp(start_at) AT TIME ZONE 'UTC')::text, ' ', 'T')"
        " || '+00:00\",\"value\":' || coalesce(value::text, 'null')"
        " || ',\"meter_status\":' || meter_status || ',\"quality\":\"' || quality || '\"}',"
        " ',' ORDER BY start_at), '') || ']' "
        "FROM interval_values WHERE channel_id = :channel AND start_at >= :start"
        " AND start_at < :end AND quality <> 'missing'"
    )
    bounds = {"channel": channel_id, "start": int(start.timestamp()), "end": int(end.timestamp())}
    with view.transaction(commit=False) as session:
        count, intervals = session.execute(query, bounds).one()
    return int(count), str(intervals)


def as_of_in_two_queries(
    readings: Any, channel_id: UUID, start: datetime, end: datetime, as_of: datetime
) -> list[dict[str, Any]]:
    """``Readings.intervals(..., as_of=...)`` in two queries for all the days (a prototype
    of a proposed change): the versions recorded by ``as_of`` from the recorded-time
    index, then the days' events, replayed here up to those versions (days are short
    streams; a long one would start from its snapshot)."""
    recorder = readings.recorder
    days, day = {}, start.date()
    while midnight(day) < end:
        days[ChannelDay.id_for(channel_id, day)] = day
        day += timedelta(days=1)
    times, events = recorder.recorded_times, recorder.events_record_cls.__table__
    recorded = (
        select(times.c.originator_id, func.max(times.c.originator_version))
        .where(times.c.originator_id.in_(list(days)))
        .where(times.c.recorded_at_us <= to_microseconds(as_of))
        .group_by(times.c.originator_id)
    )
    with recorder.datastore.transaction(commit=False) as session:
        versions = dict(session.execute(recorded).all())
        query = (
            select(events.c.originator_id, events.c.originator_version, events.c.topic,
                   events.c.state)
            .where(events.c.originator_id.in_(list(versions)))
            .order_by(events.c.originator_id, events.c.originator_version)
        )  # fmt: skip
        found = session.execute(query).all() if versions else []
    aggregates: dict[UUID, Any] = {}
    for originator_id, version, topic, state in found:
        if version > versions[originator_id]:
            continue  # recorded after as_of
        stored = StoredEvent(originator_id, version, topic, bytes(state))
        event = readings.mapper.to_domain_event(stored)
        aggregates[originator_id] = event.mutate(aggregates.get(originator_id))
    rows: list[dict[str, Any]] = []
    for day_id in sorted(aggregates, key=lambda found_id: days[found_id]):
        rows.extend(
            row
            for row in aggregates[day_id].rows()
            if row["quality"] != "missing" and start <= row["start"] < end
        )
    return rows


def serve(data_dir: str, url: str, port: int) -> None:
    """The API in its own process, as uvicorn would run it, plus the proposed routes."""
    import uvicorn

    from interfaces.api.app import create_app

    install = Installation.open(data_dir, url, hasher=Argon2PasswordHasher.cheap_for_tests())
    app = create_app(install, with_pages=False)
    for encoding in ("fastapi", "json", "sql"):
        app.include_router(proposed_router(f"/proposed-{encoding}/v1", encoding=encoding))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def api_server(data_dir: Path, url: str, token: str) -> Iterator[httpx.Client]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # spawn, not fork: a forked child would share this process's pooled connections.
    process = multiprocessing.get_context("spawn").Process(
        target=serve, args=(str(data_dir), url, port), daemon=True
    )
    process.start()
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    try:
        for _ in range(600):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the API did not start")
        yield client
    finally:
        client.close()
        process.terminate()
        process.join(10)


# -- measuring -------------------------------------------------------------------------


def timed(calls: list[Callable[[], object]]) -> list[float]:
    calls[0]()  # warm-up: connections, statement caches
    samples = []
    for call in calls:
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def shape_of(url: str) -> tuple[list[UUID], date, int, int, int]:
    """Channels, first day and days stored; intervals in the read model; events."""
    engine = engine_of(url)
    with engine.connect() as connection:
        channels = [UUID(str(row[0])) for row in connection.exec_driver_sql(
            "SELECT DISTINCT channel_id FROM channel_days ORDER BY 1")]  # fmt: skip
        first, last = connection.exec_driver_sql(
            "SELECT min(day), max(day) FROM channel_days"
        ).one()
        intervals = connection.exec_driver_sql("SELECT count(*) FROM interval_values").scalar_one()
        events = connection.exec_driver_sql("SELECT count(*) FROM readings_events").scalar_one()
    first_day = date.fromisoformat(first)
    days = (date.fromisoformat(last) - first_day).days + 1
    return channels, first_day, days, int(intervals), int(events)


def measure(url: str, data_dir: Path, samples: int, seed: int) -> tuple[list[Row], list[str]]:
    channels, first_day, days, intervals, events = shape_of(url)
    notes = [
        f"stored: {intervals:,} intervals in the read model, {events:,} events "
        f"({len(channels):,} channels x {days} days from {first_day})"
    ]
    rng = random.Random(seed)
    span = timedelta(minutes=15 * QUERY_INTERVALS)
    windows = []
    for _ in range(samples):
        start = midnight(first_day) + timedelta(minutes=15 * rng.randrange((days - 32) * 96))
        windows.append((rng.choice(channels), start, start + span))
    recorded_from = midnight(first_day) + timedelta(days=32, hours=1)
    as_ofs = []
    for _ in range(samples):
        at = recorded_from + (timedelta(days=days - 32)) * rng.random()
        month_end = midnight(at.date())
        as_ofs.append((rng.choice(channels), month_end - timedelta(days=31), month_end, at))
    install = Installation.open(data_dir, url, hasher=Argon2PasswordHasher.cheap_for_tests())
    try:
        token = install.security.issue_token("reader", "benchmark", SETUP)
        view, readings = install.read_models.intervals, install.readings
        engine = engine_of(url)
        raw = engine.raw_connection()
        with api_server(data_dir, url, token) as client:
            check_answers(client, readings, windows[:5], as_ofs[:5])
            rows = run_measurements(client, raw, view, readings, windows, as_ofs)
        raw.close()
    finally:
        install.close()
    return rows, notes


def run_measurements(
    client: httpx.Client,
    raw: Any,
    view: Any,
    readings: Any,
    windows: list[tuple[UUID, datetime, datetime]],
    as_ofs: list[tuple[UUID, datetime, datetime, datetime]],
) -> list[Row]:
    slow = max(20, len(windows) // 2)  # the event-store paths take longer per sample

    def select(channel: UUID, start: datetime, end: datetime) -> Callable[[], object]:
        def call() -> object:
            with raw.cursor() as cursor:
                cursor.execute(
                    "SELECT start_at, value, meter_status, quality FROM interval_values "
                    "WHERE channel_id = %s AND start_at >= %s AND start_at < %s ORDER BY start_at",
                    (str(channel), int(start.timestamp()), int(end.timestamp())),
                )
                return cursor.fetchall()

        return call

    def get(prefix: str, channel: UUID, start: datetime, end: datetime,
            at: datetime | None = None) -> Callable[[], object]:  # fmt: skip
        params = {"start": start.isoformat(), "end": end.isoformat()}
        if at is not None:
            params["as_of"] = at.isoformat()

        def call() -> object:
            response = client.get(f"{prefix}/channels/{channel}/intervals", params=params)
            response.raise_for_status()
            return response.content  # to the last byte; the client's parse is not timed

        return call

    def health() -> object:
        return client.get("/healthz").content

    query = f"{QUERY_INTERVALS:,}-interval query"
    return [
        Row("API", "floor: GET /healthz (SELECT 1, no token)", timed([health] * len(windows))),
        Row("baseline", f"raw SQL select of the {QUERY_INTERVALS:,} rows (read model)",
            timed([select(*w) for w in windows])),
        Row("in process", f"{query}: IntervalView.intervals (read model)",
            timed([partial(view.intervals, *w) for w in windows])),
        Row("in process", f"{query}: Readings.intervals (event store)",
            timed([partial(readings.intervals, *w) for w in windows[:slow]])),
        Row("API", f"{query}: route as it is (event store)",
            timed([get("/api/v1", *w) for w in windows[:slow]])),
        Row("API", f"{query}: read model, dict (FastAPI encodes)",
            timed([get("/proposed-fastapi/v1", *w) for w in windows])),
        Row("API", f"{query}: read model, JSONResponse",
            timed([get("/proposed-json/v1", *w) for w in windows])),
        Row("API", f"{query}: read model, JSON built by SQL",
            timed([get("/proposed-sql/v1", *w) for w in windows])),
        Row("in process", "as-of month: Readings.intervals(as_of)",
            timed([partial(readings.intervals, *a) for a in as_ofs[:slow]])),
        Row("in process", "as-of month: two queries (prototype)",
            timed([partial(as_of_in_two_queries, readings, *a) for a in as_ofs])),
        Row("API", "as-of month: route as it is (event store)",
            timed([get("/api/v1", *a) for a in as_ofs[:slow]])),
        Row("API", "as-of month: proposed route (two queries)",
            timed([get("/proposed-fastapi/v1", *a) for a in as_ofs])),
    ]  # fmt: skip


def check_answers(
    client: httpx.Client,
    readings: Any,
    windows: list[tuple[UUID, datetime, datetime]],
    as_ofs: list[tuple[UUID, datetime, datetime, datetime]],
) -> None:
    """Refuses to time wrong answers: the read model must say what the event store says."""
    fields = ("start", "value", "meter_status", "quality")
    for channel, start, end in windows:
        params = {"start": start.isoformat(), "end": end.isoformat()}
        response = client.get(f"/api/v1/channels/{channel}/intervals", params=params)
        response.raise_for_status()
        as_is = response.json()
        for prefix in ("/proposed-fastapi/v1", "/proposed-json/v1", "/proposed-sql/v1"):
            response = client.get(f"{prefix}/channels/{channel}/intervals", params=params)
            response.raise_for_status()
            proposed = response.json()
            if [{k: r[k] for k in fields} for r in as_is["intervals"]] != proposed["intervals"]:
                raise AssertionError(f"read model and event store differ for {channel} {start}")
        if not QUERY_INTERVALS - 8 <= as_is["count"] <= QUERY_INTERVALS:
            raise AssertionError(f"{as_is['count']} intervals, not about {QUERY_INTERVALS}")
    for channel, start, end, at in as_ofs:
        params = {"start": start.isoformat(), "end": end.isoformat(), "as_of": at.isoformat()}
        answer = client.get(f"/api/v1/channels/{channel}/intervals", params=params).json()
        expected = readings.intervals(channel, start, end, as_of=at)
        if answer["count"] != len(expected) or not expected:
            raise AssertionError(f"as-of answer of {answer['count']} rows for {channel} at {at}")
        if as_of_in_two_queries(readings, channel, start, end, at) != expected:
            raise AssertionError(f"the two-query as-of read differs for {channel} at {at}")
        proposed = client.get(f"/proposed-fastapi/v1/channels/{channel}/intervals", params=params)
        if proposed.json()["intervals"] != answer["intervals"]:
            raise AssertionError(f"the proposed as-of route differs for {channel} at {at}")


def print_report(rows: list[Row], notes: list[str]) -> None:
    baseline = next(row.p50 for row in rows if row.backend == "baseline")
    print(machine())
    for note in notes:
        print(note)
    print()
    header = f"{'via':<11} {'measurement':<58} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    print(header + f" {'p50 / SQL':>10}")
    print("-" * (len(header) + 11))
    for row in rows:
        print(
            f"{row.backend:<11} {row.what:<58} {len(row.samples_ms):>4} {row.p50:>8.2f} "
            f"{row.p95:>8.2f} {row.max:>8.2f} {row.p50 / baseline:>9.1f}x"
        )
    print()
    print(f"Targets: {QUERY_INTERVALS:,} intervals through the API p95 < {TARGET_P95_MS:.0f} ms; "
          f"as-of month p95 < {AS_OF_TARGET_P95_MS:.0f} ms")  # fmt: skip
    for row in rows:
        if row.backend == "API" and not row.what.startswith("floor"):
            target = AS_OF_TARGET_P95_MS if row.what.startswith("as-of") else TARGET_P95_MS
            verdict = "met" if row.p95 < target else "MISSED"
            print(f"  {row.what:<58} p95 {row.p95:8.2f} ms: {verdict}")


# -- databases -------------------------------------------------------------------------


def named_url(admin_dsn: str) -> str:
    params = psycopg2.extensions.parse_dsn(admin_dsn)
    return (
        f"postgresql+psycopg2://{params.get('user', 'postgres')}@"
        f"{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{NAMED_DATABASE}"
    )


def admin(admin_dsn: str, statement: sql.Composable) -> list[Any]:
    connection = psycopg2.connect(admin_dsn)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def named_exists(admin_dsn: str) -> bool:
    found = admin(admin_dsn, sql.SQL("SELECT 1 FROM pg_database WHERE datname = {}").format(
        sql.Literal(NAMED_DATABASE)))  # fmt: skip
    return bool(found)


def drop_named(admin_dsn: str) -> None:
    dispose_datastore(named_url(admin_dsn))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    admin(admin_dsn, drop.format(sql.Identifier(NAMED_DATABASE)))


def build_named(args: argparse.Namespace, data_dir: Path) -> dict[str, float]:
    drop_named(args.postgres_dsn)
    admin(args.postgres_dsn, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(NAMED_DATABASE)))
    data_dir.mkdir(parents=True, exist_ok=True)
    return build(named_url(args.postgres_dsn), data_dir, args.channels, args.days, args.seed)


def print_build(timings: dict[str, float]) -> None:
    print("build: " + ", ".join(f"{what} {seconds:.0f} s" for what, seconds in timings.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description="Channel interval queries through the API.")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--build", action="store_true", help=f"(re)build {NAMED_DATABASE}")
    what.add_argument("--reuse", action="store_true", help=f"measure on {NAMED_DATABASE}")
    what.add_argument("--drop", action="store_true", help=f"drop {NAMED_DATABASE}")
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=105)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--postgres-dsn", default=os.environ.get("HES_BENCH_POSTGRES_DSN", DEFAULT_ADMIN_DSN)
    )
    args = parser.parse_args()
    started = time.perf_counter()
    named_dir = Path(tempfile.gettempdir()) / NAMED_DATABASE
    print(f"Channel view: {machine()}")
    if args.drop:
        drop_named(args.postgres_dsn)
        return
    if args.build or (args.reuse and not named_exists(args.postgres_dsn)):
        print_build(build_named(args, named_dir))
        if args.build:
            print(f"whole run: {time.perf_counter() - started:.0f} s")
            return
    if args.reuse:
        rows, notes = measure(named_url(args.postgres_dsn), named_dir, args.samples, args.seed)
    else:
        with (
            scratch_postgres_database(args.postgres_dsn, "hes_bench") as url,
            tempfile.TemporaryDirectory() as directory,
        ):
            print_build(build(url, Path(directory), args.channels, args.days, args.seed))
            rows, notes = measure(url, Path(directory), args.samples, args.seed)
    print_report(rows, notes)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
