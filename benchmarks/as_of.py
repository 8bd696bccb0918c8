"""As-of reads of one long-lived registry aggregate, with and without snapshots.

    .venv/bin/python -m benchmarks.as_of [--backend sqlite|postgres|both] [--years 10]
                                         [--samples 200] [--samples-without 40]

One meter gets one Changed event a day for ``--years`` years (3,650 for 10), each with
its own ``effective_from`` day. Recorded times are simulated: the meter's event classes
take their timestamps from a clock that advances one day per change, so the recorded
history really spans the years (the real ``register``/``change`` commands run; the
events are saved 30 at a time). What an as-of read costs depends on the version it
reaches, not on the wall-clock distance, so this is the shape of ten years of history.

Each backend gets two fresh databases built identically: one by the ``Registry`` as it
is (a snapshot every 50 events, taken during the build), one by a ``Registry`` with
snapshotting off. Baselines measured in the same run: the raw SQL select of all the
aggregate's event rows, and ``repository.get(id)`` of the latest version.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID

from sqlalchemy import func, select, text

from adapters.persistence.factory import dispose_datastore
from adapters.persistence.scratch import scratch_postgres_database
from adapters.persistence.store import locate_store
from application.registry import Registry
from domain.meter import Meter
from domain.provenance import Provenance

SERIAL = "BENCH-0001"
FIRST_DAY = date(2016, 1, 1)
FIRST_RECORDED = datetime(2016, 1, 1, 9, 0, tzinfo=UTC)
EVENTS_PER_SAVE = 30
ROTATION = ("ct_ratio", "pt_ratio", "pulse_multiplier", "comm_address")
PROVENANCE = Provenance("benchmark", "simulated daily change", "system")
TARGET_P95_MS = 50.0
BASELINE_SAMPLES = 50
SLOW_BASELINE_SAMPLES = 10
DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


class RegistryWithoutSnapshots(Registry):
    """The same tables (same name), but nothing snapshotted and no snapshot store."""

    name = "Registry"
    snapshotting_intervals = {}


class SimulatedClock:
    """Stands in for ``create_timestamp`` so recorded times span the simulated years."""

    def __init__(self) -> None:
        self.now = FIRST_RECORDED

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def recorded_by(clock: SimulatedClock) -> Iterator[None]:
    with ExitStack() as stack:
        for event_class in (Meter.Registered, Meter.Changed):
            stack.enter_context(
                mock.patch.object(event_class, "create_timestamp", staticmethod(clock))
            )
        yield


@dataclass
class History:
    meter_id: UUID
    recorded: list[datetime] = field(default_factory=list)  # index v-1: version v
    days: int = 0
    build_seconds: float = 0.0
    snapshots: int = 0


def change_for(day_number: int) -> dict[str, str]:
    name = ROTATION[day_number % len(ROTATION)]
    if name == "comm_address":
        return {name: f"10.{day_number // 65536}.{day_number // 256 % 256}.{day_number % 256}"}
    return {name: f"{1 + day_number / 1000:.3f}"}


def build(registry: Registry, years: int) -> History:
    clock = SimulatedClock()
    days = years * 365
    started = time.perf_counter()
    with recorded_by(clock):
        attributes = {"serial": SERIAL, "meter_type": "E350", "ct_ratio": "1", "pt_ratio": "1"}
        registry.register("meter", attributes, FIRST_DAY, PROVENANCE)
        meter = registry.get("meter", SERIAL)
        history = History(meter.id, [clock.now], days)
        for day_number in range(1, days + 1):
            clock.now = FIRST_RECORDED + timedelta(days=day_number, minutes=day_number % 480)
            meter.change(change_for(day_number), FIRST_DAY + timedelta(days=day_number), PROVENANCE)
            history.recorded.append(clock.now)
            if day_number % EVENTS_PER_SAVE == 0:
                registry.save(meter)
        registry.save(meter)
    history.build_seconds = time.perf_counter() - started
    if registry.snapshots is not None:
        table = registry.snapshots.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
        count = select(func.count()).where(table.c.originator_id == meter.id)
        with engine_of(registry).connect() as connection:
            history.snapshots = int(connection.execute(count).scalar_one())
    return history


def engine_of(registry: Registry) -> Any:
    return registry.recorder.datastore.engine  # type: ignore[attr-defined]


@dataclass
class Row:
    backend: str
    what: str
    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        if len(self.samples_ms) < 2:
            return self.samples_ms[0]
        return statistics.quantiles(self.samples_ms, n=100, method="inclusive")[94]

    @property
    def max(self) -> float:
        return max(self.samples_ms)


def timed(calls: list[Callable[[], object]]) -> list[float]:
    calls[0]()  # warm-up: connection pool, statement caches, imports
    samples = []
    for call in calls:
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def raw_select(registry: Registry, meter_id: UUID, expected_rows: int) -> Callable[[], object]:
    table = registry.recorder.events_record_cls.__table__  # type: ignore[attr-defined]
    query = (
        select(table.c.originator_version, table.c.topic, table.c.state)
        .where(table.c.originator_id == meter_id)
        .order_by(table.c.originator_version)
    )
    engine = engine_of(registry)

    def call() -> object:
        with engine.connect() as connection:
            rows = connection.execute(query).fetchall()
        if len(rows) != expected_rows:
            raise AssertionError(f"raw select found {len(rows)} rows, not {expected_rows}")
        return rows

    return call


def as_of_read(registry: Registry, at: datetime, day: date) -> tuple[int, dict[str, Any]]:
    meter = registry.get("meter", SERIAL, as_of=at)
    return meter.version, meter.attributes_on(day)


@dataclass(frozen=True)
class Sample:
    at: datetime
    day: date


def draw_samples(history: History, count: int, seed: int) -> list[Sample]:
    rng = random.Random(seed)
    first, last = history.recorded[0], history.recorded[-1]
    return [
        Sample(
            first + (last - first) * rng.random(),
            FIRST_DAY + timedelta(rng.randrange(history.days + 1)),
        )
        for _ in range(count)
    ]


def check_answers(
    history: History, samples: list[Sample], with_snapshots: Registry, without: Registry
) -> None:
    """Refuses to time wrong answers: versions reached and values must agree."""
    for sample in samples:
        expected_version = bisect_right(history.recorded, sample.at)
        fast = as_of_read(with_snapshots, sample.at, sample.day)
        slow = as_of_read(without, sample.at, sample.day)
        if fast != slow or fast[0] != expected_version:
            raise AssertionError(f"as-of answers differ at {sample}: {fast} != {slow}")


@contextmanager
def databases(backend: str, admin_dsn: str) -> Iterator[tuple[str, str]]:
    if backend == "postgres":
        with (
            scratch_postgres_database(admin_dsn, "hes_bench") as first,
            scratch_postgres_database(admin_dsn, "hes_bench") as second,
        ):
            yield first, second
    else:
        with tempfile.TemporaryDirectory() as directory:
            urls = [locate_store(Path(directory) / name).url for name in ("with", "without")]
            try:
                yield urls[0], urls[1]
            finally:
                for url in urls:
                    dispose_datastore(url)


def open_registry(cls: type[Registry], url: str, snapshotting: bool) -> Registry:
    env = {
        "PERSISTENCE_MODULE": "adapters.persistence.factory:HesFactory",
        "SQLALCHEMY_URL": url,
        "IS_SNAPSHOTTING_ENABLED": "y" if snapshotting else "n",
    }
    return cls(env=env)


def run_backend(backend: str, args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    with databases(backend, args.postgres_dsn) as (url_with, url_without):
        with_snapshots = open_registry(Registry, url_with, snapshotting=True)
        without = open_registry(RegistryWithoutSnapshots, url_without, snapshotting=False)
        history = build(with_snapshots, args.years)
        plain = build(without, args.years)
        if plain.recorded != history.recorded:
            raise AssertionError("the two databases were not built identically")
        events = len(history.recorded)
        samples = draw_samples(history, args.samples, seed=args.seed)
        check_answers(history, samples[: args.samples_without], with_snapshots, without)
        meter_id = history.meter_id
        rows = [
            Row(
                backend,
                f"raw SQL select of all {events:,} event rows",
                timed([raw_select(with_snapshots, meter_id, events)] * BASELINE_SAMPLES),
            ),
            Row(
                backend,
                "repository.get(id), latest, snapshots",
                timed([lambda: with_snapshots.repository.get(meter_id)] * BASELINE_SAMPLES),
            ),
            Row(
                backend,
                "repository.get(id), latest, no snapshots",
                timed([lambda: without.repository.get(meter_id)] * SLOW_BASELINE_SAMPLES),
            ),
            Row(
                backend,
                "recorded-time index lookup (version_at)",
                timed([_index_lookup(with_snapshots, meter_id, s) for s in samples]),
            ),
            Row(
                backend,
                "as-of get + attributes_on, snapshots",
                timed([_reader(with_snapshots, s) for s in samples]),
            ),
            Row(
                backend,
                "as-of get + attributes_on, no snapshots",
                timed([_reader(without, s) for s in samples[: args.samples_without]]),
            ),
        ]
        notes = [
            f"{backend}: built {events:,} events in {events // EVENTS_PER_SAVE + 1} saves: "
            f"{history.build_seconds:.1f} s with snapshotting ({history.snapshots} snapshots "
            f"taken during the build), {plain.build_seconds:.1f} s without",
            f"{backend}: {database_version(with_snapshots)}",
        ]
        for registry in (with_snapshots, without):
            registry.close()
    return rows, notes


def _reader(registry: Registry, sample: Sample) -> Callable[[], object]:
    return lambda: as_of_read(registry, sample.at, sample.day)


def _index_lookup(registry: Registry, meter_id: UUID, sample: Sample) -> Callable[[], object]:
    return lambda: registry.recorded_time_index.version_at(meter_id, sample.at)


def database_version(registry: Registry) -> str:
    engine = engine_of(registry)
    if engine.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with engine.connect() as connection:
        return "PostgreSQL " + str(connection.execute(text("SHOW server_version")).scalar_one())


def machine() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {model}, load average {load}; "
        f"Python {platform.python_version()}, "
        f"eventsourcing {package_version('eventsourcing')}, "
        f"eventsourcing-sqlalchemy {package_version('eventsourcing-sqlalchemy')}"
    )


def print_report(rows: list[Row], notes: list[str], args: argparse.Namespace) -> None:
    baselines = {row.backend: row.p50 for row in rows if row.what.startswith("raw SQL")}
    days = args.years * 365
    last_day = FIRST_DAY + timedelta(days=days)
    print(f"As-of reads: one meter, {days:,} daily changes over {args.years} years")
    print(
        f"Recorded times simulated one a day from {FIRST_DAY} to {last_day}; as-of times "
        f"drawn uniformly in that span, effective dates uniformly over the same days "
        f"(seed {args.seed})"
    )
    print(machine())
    for note in notes:
        print(note)
    print()
    header = (
        f"{'backend':<9} {'measurement':<42} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    )
    print(header + f" {'p50 / raw SQL':>14}")
    print("-" * (len(header) + 15))
    for row in rows:
        ratio = row.p50 / baselines[row.backend]
        print(
            f"{row.backend:<9} {row.what:<42} {len(row.samples_ms):>4} {row.p50:>8.2f} "
            f"{row.p95:>8.2f} {row.max:>8.2f} {ratio:>13.1f}x"
        )
    print()
    print(f"Target: p95 < {TARGET_P95_MS:.0f} ms")
    for row in rows:
        if row.what.startswith("as-of"):
            verdict = "met" if row.p95 < TARGET_P95_MS else "MISSED"
            print(f"  {row.backend:<9} {row.what:<42} p95 {row.p95:8.2f} ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description="As-of reads with and without snapshots.")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--samples", type=int, default=200, help="as-of reads with snapshots")
    parser.add_argument(
        "--samples-without",
        type=int,
        default=40,
        help="as-of reads without snapshots (each replays from the start)",
    )
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("HES_BENCH_POSTGRES_DSN", DEFAULT_ADMIN_DSN),
        help="where to create (and drop) the benchmark's PostgreSQL databases",
    )
    args = parser.parse_args()
    args.samples_without = min(args.samples_without, args.samples)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    rows: list[Row] = []
    notes: list[str] = []
    started = time.perf_counter()
    for backend in backends:
        backend_rows, backend_notes = run_backend(backend, args)
        rows += backend_rows
        notes += backend_notes
    print_report(rows, notes, args)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
