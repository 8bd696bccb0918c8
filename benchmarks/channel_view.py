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
then built by their projections from zero (``ReadModels.catch_up``: the time it takes is
what a store migrating from the former per-interval table spends once), then
``VACUUM ANALYZE`` (what autovacuum would have done by then).

Measured: the 3,000-interval query (31.25 days of one channel, random channel and window)
through the API route (the interval read model after its freshness check, JSON from the
day rows' arrays) and in process; the as-of query of a month (the 31 days before a random
recorded time, as known then) through the API route (the event store, two queries) and
in process. Baselines in the same run: a raw SQL select of the same day rows, and
``GET /healthz`` (the HTTP floor). HTTP: uvicorn in its own process on 127.0.0.1, httpx
with keep-alive, a bearer token (checked on every request), timed to the response's last
byte. Before timing, the API's answers are compared with the event store's on samples.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
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
from eventsourcing.application import AggregateNotFoundError
from psycopg2 import sql
from sqlalchemy import Engine

from adapters.loadshapes import load_shape
from adapters.persistence.factory import dispose_datastore, shared_datastore
from adapters.persistence.scratch import scratch_postgres_database
from adapters.security.passwords import Argon2PasswordHasher
from application.readings import Readings
from application.vee_workflow import ESTIMATOR
from benchmarks.as_of import Row, machine
from domain.channel import Channel
from domain.channel_day import ChannelDay
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality
from interfaces.api.interval_json import intervals_json
from interfaces.installation import Installation
from projections.interval_days import DayBlock
from projections.interval_view import IntervalView

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
    """The event store through the Readings application, the read models by their
    projections from zero."""
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
        install.read_models.catch_up()  # registry read models
        timings["registry"] = time.perf_counter() - started
        rng = np.random.default_rng(seed)
        levels = rng.uniform(1_500, 8_000, channels) / 1000.0
        ids = [Channel.id_for(channel_key(n)) for n in range(channels)]
        clock = SimulatedClock()
        shape = load_shape("h25")
        pending: dict[date, list[tuple[ChannelDay, int]]] = {}
        began = time.perf_counter()
        for number in range(days + 2):
            day = FIRST_DAY + timedelta(days=number)
            recorded = (
                record_day(clock, shape, levels, ids, day, rng, pending) if number < days else []
            )
            estimate_day(install, clock, day, pending)
            save_in_chunks(install, recorded)
        timings["event store"] = time.perf_counter() - began
        began = time.perf_counter()
        install.read_models.catch_up()
        timings["read models from zero"] = time.perf_counter() - began
        began = time.perf_counter()
        vacuum_analyze(url)
        timings["vacuum analyze"] = time.perf_counter() - began
    finally:
        install.close()
    timings["whole build"] = time.perf_counter() - started
    return timings


def record_day(
    clock: SimulatedClock,
    shape: Any,
    levels: np.ndarray,
    ids: list[UUID],
    day: date,
    rng: np.random.Generator,
    pending: dict[date, list[tuple[ChannelDay, int]]],
) -> list[ChannelDay]:
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
    return aggregates


def estimate_day(
    install: Installation,
    clock: SimulatedClock,
    day: date,
    pending: dict[date, list[tuple[ChannelDay, int]]],
) -> None:
    """Two nights later the missing hour is estimated (a third version of the day)."""
    due = pending.pop(day, [])
    clock.now = midnight(day) + timedelta(days=1, hours=2)
    with recorded_by(clock):
        for channel_day, gap in due:
            value = float(np.nanmean(channel_day.values))
            channel_day.estimate(
                range(gap, gap + 4), np.full(4, value), "linear_interpolation", ESTIMATOR
            )
    save_in_chunks(install, [channel_day for channel_day, _ in due])


def save_in_chunks(install: Installation, aggregates: list[ChannelDay]) -> None:
    for first in range(0, len(aggregates), DAYS_PER_SAVE):
        install.readings.save(*aggregates[first : first + DAYS_PER_SAVE])


def vacuum_analyze(url: str) -> None:
    """What autovacuum would have done by then: planner statistics, visibility map."""
    engine = engine_of(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def serve(data_dir: str, url: str, port: int) -> None:
    """The API in its own process, as uvicorn would run it."""
    import uvicorn

    from interfaces.api.app import create_app

    install = Installation.open(data_dir, url, hasher=Argon2PasswordHasher.cheap_for_tests())
    app = create_app(install, with_pages=False)
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
            "SELECT DISTINCT channel_id FROM interval_days ORDER BY 1")]  # fmt: skip
        first, last, intervals = connection.exec_driver_sql(
            "SELECT min(first_second), max(first_second), sum(written_count) FROM interval_days"
        ).one()
        events = connection.exec_driver_sql("SELECT count(*) FROM readings_events").scalar_one()
    first_day = datetime.fromtimestamp(first, UTC).date()
    days = (last - first) // 86_400 + 1
    return channels, first_day, days, int(intervals), int(events)


def measure(url: str, data_dir: Path, samples: int, seed: int) -> tuple[list[Row], list[str]]:
    channels, first_day, days, intervals, events = shape_of(url)
    notes = [
        f"stored: {intervals:,} intervals in the read model ({len(channels) * days:,} day rows), "
        f"{events:,} events ({len(channels):,} channels x {days} days from {first_day})"
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
            check_answers(client, readings, windows[:10], as_ofs[:10])
            rows = run_measurements(client, raw, view, readings, windows, as_ofs)
        raw.close()
    finally:
        install.close()
    return rows, notes


def run_measurements(
    client: httpx.Client,
    raw: Any,
    view: IntervalView,
    readings: Readings,
    windows: list[tuple[UUID, datetime, datetime]],
    as_ofs: list[tuple[UUID, datetime, datetime, datetime]],
) -> list[Row]:
    slow = max(20, len(windows) // 2)  # the dict-building paths take longer per sample

    def select(channel: UUID, start: datetime, end: datetime) -> Callable[[], object]:
        def call() -> object:
            with raw.cursor() as cursor:
                cursor.execute(
                    "SELECT * FROM interval_days WHERE channel_id = %s AND first_second > %s "
                    "AND first_second < %s ORDER BY first_second",
                    (str(channel), int(start.timestamp()) - 86_400, int(end.timestamp())),
                )
                return cursor.fetchall()

        return call

    def get(channel: UUID, start: datetime, end: datetime,
            at: datetime | None = None) -> Callable[[], object]:  # fmt: skip
        params = {"start": start.isoformat(), "end": end.isoformat()}
        if at is not None:
            params["as_of"] = at.isoformat()

        def call() -> object:
            response = client.get(f"/api/v1/channels/{channel}/intervals", params=params)
            response.raise_for_status()
            return response.content  # to the last byte; the client's parse is not timed

        return call

    def latest_json(channel: UUID, start: datetime, end: datetime) -> Callable[[], object]:
        return lambda: intervals_json(view.day_blocks(channel, start, end), start, end)

    def as_of_json(channel: UUID, start: datetime, end: datetime,
                   at: datetime) -> Callable[[], object]:  # fmt: skip
        def call() -> object:
            days = readings.days_as_of(channel, start, end, at)
            return intervals_json([DayBlock.of(day) for day in days], start, end)

        return call

    def health() -> object:
        return client.get("/healthz").content

    query = f"{QUERY_INTERVALS:,}-interval query"
    return [
        Row("API", "floor: GET /healthz (SELECT 1, no token)", timed([health] * len(windows))),
        Row("baseline", "raw SQL select of the window's day rows (read model)",
            timed([select(*w) for w in windows])),
        Row("in process", f"{query}: day rows + JSON text (read model)",
            timed([latest_json(*w) for w in windows])),
        Row("in process", f"{query}: IntervalView.known_intervals (dicts)",
            timed([partial(view.known_intervals, *w) for w in windows[:slow]])),
        Row("in process", f"{query}: Readings.intervals (event store)",
            timed([partial(readings.intervals, *w) for w in windows[:slow]])),
        Row("API", f"{query}: the route (read model)", timed([get(*w) for w in windows])),
        Row("in process", "as-of month: two queries + JSON text (event store)",
            timed([as_of_json(*a) for a in as_ofs])),
        Row("in process", "as-of month: Readings.intervals(as_of) (dicts)",
            timed([partial(readings.intervals, *a) for a in as_ofs[:slow]])),
        Row("API", "as-of month: the route (event store, two queries)",
            timed([get(*a) for a in as_ofs])),
    ]  # fmt: skip


def check_answers(
    client: httpx.Client,
    readings: Readings,
    windows: list[tuple[UUID, datetime, datetime]],
    as_ofs: list[tuple[UUID, datetime, datetime, datetime]],
) -> None:
    """Refuses to time wrong answers: the API (read model, or the event store in two
    queries) must say what the library's own reads of each channel day say."""
    for channel, start, end in windows:
        params = {"start": start.isoformat(), "end": end.isoformat()}
        answer = client.get(f"/api/v1/channels/{channel}/intervals", params=params).json()
        if answer["intervals"] != day_by_day(readings, channel, start, end, None):
            raise AssertionError(f"read model and event store differ for {channel} {start}")
        if not QUERY_INTERVALS - 8 <= answer["count"] <= QUERY_INTERVALS:
            raise AssertionError(f"{answer['count']} intervals, not about {QUERY_INTERVALS}")
    for channel, start, end, at in as_ofs:
        params = {"start": start.isoformat(), "end": end.isoformat(), "as_of": at.isoformat()}
        answer = client.get(f"/api/v1/channels/{channel}/intervals", params=params).json()
        expected = day_by_day(readings, channel, start, end, at)
        if answer["intervals"] != expected or not expected:
            raise AssertionError(f"as-of answer of {answer['count']} rows for {channel} at {at}")


def day_by_day(
    readings: Readings, channel: UUID, start: datetime, end: datetime, at: datetime | None
) -> list[dict[str, Any]]:
    """The library's way: each day by ``get_as_of`` (snapshot, then events)."""
    rows = []
    day = start.date()
    while midnight(day) < end:
        try:
            channel_day = readings.get_as_of(ChannelDay.id_for(channel, day), at)
        except AggregateNotFoundError:
            channel_day = None
        if channel_day is not None:
            rows += [
                {**row, "start": row["start"].isoformat()}
                for row in channel_day.rows()
                if row["quality"] != "missing" and start <= row["start"] < end
            ]
        day += timedelta(days=1)
    return rows


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
