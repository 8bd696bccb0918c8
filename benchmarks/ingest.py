"""The full interval pipeline on PostgreSQL: ingest blocks, validate, estimate, store, project.

    .venv/bin/python -m benchmarks.ingest [--channels 300] [--days 35] [--block-days 1]
        [--days-per-save 100] [--history-days 28] [--processes 1] [--sample 100] [--profile]

Blocks arrive decoded (numpy arrays, as a collector hands them over): ``--channels``
channels of 15-min kWh, one delivery per channel and ``--block-days`` days, for ``--days``
days. Values follow the BDEW h25 household shape, a level per channel and +-20 % noise
per interval; 2 % of deliveries lose 1-8 intervals, 0.3 % lose six hours, 0.5 % carry a
spike. Each batch (all channels' deliveries of one block period, as a daily collection
run hands them over) goes through ``BulkIngest.ingest`` (the installation's rule set and
estimation plan, 28 days of history from the interval read model, billing's external
periods), then every read model following Readings catches up (interval view, VEE
exceptions): the pipeline is done when the read models show the batch.

Baselines in the same run, on the same database: a plain binary ``COPY`` of the same
intervals as rows into a table of one row per interval (primary key channel and start),
and on a sample of fresh deliveries the one-by-one ``VeeWorkflow.process`` against the
bulk path.
``--processes 2`` shares each batch's channels out to two ingest processes (own
connections); the read models catch up in the main process once both have saved.
``--profile`` profiles the batches that have a full history (one process only).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import multiprocessing
import os
import pstats
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, text

from adapters.interval_history import BulkExternalPeriods, IntervalViewHistory
from adapters.loadshapes import load_shape
from adapters.persistence.factory import shared_datastore
from adapters.persistence.scratch import scratch_postgres_database
from adapters.persistence.store import locate_store
from application.bulk_ingest import BulkIngest
from application.readings import Readings
from application.registry import Registry
from application.vee_workflow import Delivery, VeeWorkflow
from benchmarks.as_of import machine
from benchmarks.scratch_stores import DEFAULT_ADMIN_DSN
from domain.channel import Channel
from domain.provenance import Provenance
from projections.read_models import ReadModels

FIRST_DAY = date(2026, 1, 5)
TARGET_PER_SECOND = 300_000
DEVICE = Provenance("hes-collector", "load profile read", "device")
SETUP = Provenance("benchmark", "set-up", "system")


def engine_of(url: str) -> Engine:
    engine = shared_datastore(url).engine
    assert isinstance(engine, Engine)  # a datastore made from a URL has an engine
    return engine


def channel_key(number: int) -> str:
    return f"SP-{number:06d}:A+"


@dataclass
class Workload:
    channels: int
    days: int
    block_days: int
    seed: int
    levels: np.ndarray = field(init=False)  # kWh a year per channel

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.levels = rng.uniform(1_500, 8_000, self.channels)

    def batches(
        self, first_day: date = FIRST_DAY, days: int | None = None
    ) -> Iterator[list[Delivery]]:
        """One batch per block period: every channel's delivery for it."""
        for offset in range(0, days or self.days, self.block_days):
            yield self.batch(first_day + timedelta(days=offset), range(self.channels))

    def batch(self, first: date, channels: range) -> list[Delivery]:
        rng = np.random.default_rng([self.seed, first.toordinal(), channels.start])
        shape = load_shape("h25")
        profile = np.concatenate(
            [shape.quarter_hours(first + timedelta(days=n)) for n in range(self.block_days)]
        )
        width = len(profile)
        values = profile * (self.levels[channels.start : channels.stop, None] / 1000.0)
        values = values * rng.uniform(0.8, 1.2, values.shape)
        count = len(channels)
        short = rng.random(count) < 0.02
        long = rng.random(count) < 0.003
        spike = rng.random(count) < 0.005
        for row in np.flatnonzero(short):
            at = int(rng.integers(0, width - 8))
            values[row, at : at + int(rng.integers(1, 9))] = np.nan
        for row in np.flatnonzero(long):
            at = int(rng.integers(0, width - 24))
            values[row, at : at + 24] = np.nan
        for row in np.flatnonzero(spike):
            values[row, int(rng.integers(0, width))] *= 40
        statuses = np.zeros(width, dtype=np.uint8)
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        return [
            Delivery(channel_key(number), start, values[row], statuses)
            for row, number in enumerate(channels)
        ]


@dataclass
class Stage:
    what: str
    intervals: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.intervals / self.seconds if self.seconds else 0.0


@dataclass
class Pipeline:
    url: str
    args: argparse.Namespace
    registry: Registry = field(init=False)
    readings: Readings = field(init=False)
    read_models: ReadModels = field(init=False)
    bulk: BulkIngest = field(init=False)

    def __post_init__(self) -> None:
        store = locate_store(None, self.url)
        env = store.application_env()
        self.registry, self.readings = Registry(env=env), Readings(env=env)
        self.read_models = ReadModels(store, self.registry, self.readings)
        history = IntervalViewHistory(self.read_models.intervals, self.readings)
        self.bulk = BulkIngest(
            self.registry,
            self.readings,
            history,
            history_days=self.args.history_days,
            external_periods=BulkExternalPeriods(self.read_models.external_periods),
            days_per_save=self.args.days_per_save,
        )

    def register(self, channels: int) -> float:
        started = time.perf_counter()
        for first in range(0, channels, 1_000):
            items = [
                ("channel", {"channel_key": channel_key(n), "service_point_id": channel_key(n)[:9],
                             "kind": "metered", "unit": "kWh", "interval_minutes": 15,
                             "meter_channel": "1.0.1.29.0.255"}, date(2025, 1, 1))
                for n in range(first, min(first + 1_000, channels))
            ]  # fmt: skip
            self.registry.register_all(items, SETUP)
        self.read_models.catch_up()
        return time.perf_counter() - started

    def close(self) -> None:
        self.read_models.stop()
        self.registry.close()
        self.readings.close()


class Ingesters:
    """``--processes`` > 1: each worker process ingests every n-th channel of each batch,
    on its own connections and applications; the batch is done when all have saved."""

    def __init__(self, url: str, args: argparse.Namespace) -> None:
        context = multiprocessing.get_context("spawn")  # no pooled connections inherited
        self.pipes = []
        self.workers = []
        for share in range(args.processes):
            ours, theirs = context.Pipe()
            worker = context.Process(
                target=ingest_worker, args=(url, vars(args), share, theirs), daemon=True
            )
            worker.start()
            self.pipes.append(ours)
            self.workers.append(worker)
        for pipe in self.pipes:
            pipe.recv()  # ready

    def send_all(self, batches: int) -> None:
        """Every batch number to every worker at once: each goes through them on its own."""
        for pipe in self.pipes:
            for number in range(batches):
                pipe.send(number)

    def ingest(self, number: int) -> dict[str, float]:
        for pipe in self.pipes:
            pipe.send(number)
        timings: dict[str, float] = {}
        for pipe in self.pipes:
            for what, seconds in pipe.recv().items():
                timings[what] = timings.get(what, 0.0) + seconds
        return timings

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for worker in self.workers:
            worker.join(30)


def ingest_worker(url: str, settings: dict[str, Any], share: int, pipe: Any) -> None:
    args = argparse.Namespace(**settings)
    pipeline = Pipeline(url, args)
    workload = Workload(args.channels, args.days, args.block_days, args.seed)
    pipe.send("ready")
    while (number := pipe.recv()) is not None:
        first = FIRST_DAY + timedelta(days=number * args.block_days)
        batch = workload.batch(first, range(args.channels))[share :: args.processes]
        before, cpu = dataclasses.asdict(pipeline.bulk.timings), time.process_time()
        pipeline.bulk.ingest(batch, DEVICE)
        after = dataclasses.asdict(pipeline.bulk.timings)
        spent = {what: after[what] - before[what] for what in after}
        pipe.send({**spent, "cpu": time.process_time() - cpu})
    pipeline.close()


def run_batches(
    pipeline: Pipeline,
    workload: Workload,
    profiler: cProfile.Profile | None,
    profile_from: int,
    ingesters: Ingesters | None,
) -> tuple[list[dict[str, float]], float]:
    """Every batch through ingest and projection; per batch: intervals and seconds."""
    per_batch = []
    started = time.perf_counter()
    for number, batch in enumerate(workload.batches()):
        if profiler and number == profile_from:
            profiler.enable()  # only the batches with a full history
        began = time.perf_counter()
        if ingesters is None:
            pipeline.bulk.ingest(batch, DEVICE)
        else:
            for what, seconds in ingesters.ingest(number).items():
                setattr(pipeline.bulk.timings, what, getattr(pipeline.bulk.timings, what) + seconds)
        ingested = time.perf_counter()
        pipeline.read_models.catch_up()
        projected = time.perf_counter()
        per_batch.append(
            {
                "intervals": float(sum(len(d.values) for d in batch)),
                "ingest": ingested - began,
                "project": projected - ingested,
            }
        )
        print(
            f"  batch {len(per_batch):3d}: {per_batch[-1]['intervals']:,.0f} intervals, ingest "
            f"{ingested - began:6.2f} s, project {projected - ingested:6.2f} s",
            flush=True,
        )
    return per_batch, time.perf_counter() - started


def run_overlapped(
    pipeline: Pipeline, workload: Workload, ingesters: Ingesters
) -> tuple[list[dict[str, float]], float]:
    """``--overlap``: the projections run beside the ingest, as in production (the
    ingest processes go on to the next batch at once; the main process catches the read
    models up meanwhile). Done when the read models show the last batch."""
    batches = -(-workload.days // workload.block_days)
    per_batch = [{"intervals": 0.0, "ingest": 0.0, "project": 0.0} for _ in range(batches)]
    for number, offset in enumerate(range(0, workload.days, workload.block_days)):
        first = workload.batch(FIRST_DAY + timedelta(days=offset), range(1))[0]
        per_batch[number]["intervals"] = float(workload.channels * len(first.values))
    started, postgres_cpu, main_cpu = time.perf_counter(), postgres_seconds(), time.process_time()
    ingesters.send_all(batches)
    reported = [0] * len(ingesters.pipes)
    projecting, ingest_cpu = 0.0, 0.0
    while min(reported) < batches:
        began = time.perf_counter()
        caught = pipeline.read_models.catch_up()
        projecting += time.perf_counter() - began
        for share, pipe in enumerate(ingesters.pipes):
            while reported[share] < batches and pipe.poll():
                timings = pipe.recv()
                ingest_cpu += timings.pop("cpu")
                for what, seconds in timings.items():
                    setattr(
                        pipeline.bulk.timings, what, getattr(pipeline.bulk.timings, what) + seconds
                    )
                per_batch[reported[share]]["ingest"] += sum(
                    timings[what] for what in ("lookup", "history", "judge", "store")
                )
                reported[share] += 1
        if not caught:
            time.sleep(0.005)
    began = time.perf_counter()
    while pipeline.read_models.catch_up():
        pass
    projecting += time.perf_counter() - began
    seconds = time.perf_counter() - started
    per_batch[-1]["project"] = projecting  # the projections' busy time, all batches
    print(f"  {batches} batches ingested and projected side by side in {seconds:.2f} s", flush=True)
    days = workload.channels * workload.days
    cpu = {
        "ingest processes": ingest_cpu,
        "projections (main process)": time.process_time() - main_cpu,
        "PostgreSQL (all its processes)": postgres_seconds() - postgres_cpu,
    }
    print(f"  CPU during the pipeline ({seconds * os.cpu_count():.1f} core-seconds there were):")  # type: ignore[operator]
    for what, spent in cpu.items():
        print(f"    {what:<32} {spent:6.1f} s  {spent / days * 1e6:6.0f} us a channel day")
    total = sum(cpu.values())
    print(f"    {'all':<32} {total:6.1f} s  {total / days * 1e6:6.0f} us a channel day", flush=True)
    return per_batch, seconds


def postgres_seconds() -> float:
    """CPU seconds PostgreSQL's processes have used (Linux /proc; 0 where unreadable)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split()
        except OSError:
            continue
        if fields[1] == "(postgres)":
            total += sum(int(value) for value in fields[13:17])
    return total / os.sysconf("SC_CLK_TCK")


def sample_comparison(pipeline: Pipeline, workload: Workload, size: int) -> list[Stage]:
    """Fresh deliveries of the day after the run: one by one, then in bulk, each projected."""
    day = FIRST_DAY + timedelta(days=workload.days)
    size = min(size, workload.channels // 2)
    one_by_one = workload.batch(day, range(0, size))
    in_bulk = workload.batch(day, range(size, 2 * size))
    workflow = VeeWorkflow(
        pipeline.registry, pipeline.readings, external_periods=pipeline.read_models.external_periods
    )
    started = time.perf_counter()
    for delivery in one_by_one:
        workflow.process(delivery, DEVICE)
    pipeline.read_models.catch_up()
    middle = time.perf_counter()
    pipeline.bulk.ingest(in_bulk, DEVICE)
    pipeline.read_models.catch_up()
    ended = time.perf_counter()
    intervals = sum(len(d.values) for d in one_by_one)
    return [
        Stage(
            f"one by one (VeeWorkflow) + project, {size} deliveries", intervals, middle - started
        ),
        Stage(f"BulkIngest + project, {size} other deliveries", intervals, ended - middle),
    ]


def copy_baseline(url: str, workload: Workload) -> Stage:
    """The same number of intervals, as rows, by binary COPY into a table of one row each."""
    engine = engine_of(url)
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE TABLE copy_baseline (channel_id uuid, start_at bigint, value double precision,"
            " meter_status integer NOT NULL, quality text NOT NULL, day_version integer NOT NULL,"
            " PRIMARY KEY (channel_id, start_at))"
        ))  # fmt: skip
    started = time.perf_counter()
    intervals = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for batch in workload.batches():
            buffer = binary_copy(batch)
            intervals += sum(len(d.values) for d in batch)
            cursor.copy_expert("COPY copy_baseline FROM STDIN WITH (FORMAT binary)", buffer)
            raw.commit()
    finally:
        raw.close()
    return Stage("COPY of the same intervals as rows", intervals, time.perf_counter() - started)


def binary_copy(batch: list[Delivery]) -> io.BytesIO:
    """PostgreSQL's binary COPY format built with numpy: a fixed-width record per interval."""
    quality = b"validated"
    record = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("channel", "S16"), ("l2", ">i4"),
                       ("start", ">i8"), ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"),
                       ("status", ">i4"), ("l5", ">i4"), ("quality", f"S{len(quality)}"),
                       ("l6", ">i4"), ("version", ">i4")])  # fmt: skip
    rows = np.zeros(sum(len(d.values) for d in batch), dtype=record)
    position = 0
    for delivery in batch:
        count = len(delivery.values)
        part = rows[position : position + count]
        part["channel"] = Channel.id_for(delivery.channel_key).bytes
        part["start"] = int(delivery.start.timestamp()) + 900 * np.arange(count)
        part["value"] = delivery.values
        part["status"] = delivery.statuses
        position += count
    rows["fields"], rows["l1"], rows["l2"], rows["l3"], rows["l4"] = 6, 16, 8, 8, 4
    rows["l5"], rows["quality"], rows["l6"], rows["version"] = len(quality), quality, 4, 2
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    return io.BytesIO(header + rows.tobytes() + struct.pack(">h", -1))


def print_report(
    args: argparse.Namespace,
    notes: list[str],
    stages: list[Stage],
    breakdown: dict[str, float],
) -> None:
    baseline = stages[0].per_second
    print()
    print(f"{'measurement':<58} {'intervals':>11} {'s':>8} {'intervals/s':>12} {'/ COPY':>7}")
    print("-" * 100)
    for stage in stages:
        print(
            f"{stage.what:<58} {stage.intervals:>11,} {stage.seconds:>8.1f} "
            f"{stage.per_second:>12,.0f} {stage.per_second / baseline:>6.2f}x"
        )
    print()
    total = sum(breakdown.values())
    shared = " (seconds summed over the ingest processes)" if args.processes > 1 else ""
    print(f"where the pipeline's time went (all batches){shared}:")
    for what, seconds in breakdown.items():
        print(f"  {what:<58} {seconds:8.1f} s {100 * seconds / total:5.1f} %")
    for note in notes:
        print(note)
    print()
    pipeline = stages[1]
    verdict = "met" if pipeline.per_second >= TARGET_PER_SECOND else "MISSED"
    print(
        f"Target: >= {TARGET_PER_SECOND:,} intervals/s for the full pipeline: "
        f"{pipeline.per_second:,.0f} intervals/s ({pipeline.per_second * 3600 / 1e9:.2f} billion "
        f"an hour): {verdict}"
    )


def run(args: argparse.Namespace) -> None:
    workload = Workload(args.channels, args.days, args.block_days, args.seed)
    notes: list[str] = []
    with scratch_postgres_database(args.postgres_dsn, "hes_bench") as url:
        pipeline = Pipeline(url, args)
        notes.append(
            f"registered {args.channels:,} channels in {pipeline.register(args.channels):.1f} s"
        )
        profiler = cProfile.Profile() if args.profile else None
        batches = -(-args.days // args.block_days)
        full_history = min(batches, -(-args.history_days // args.block_days))
        ingesters = Ingesters(url, args) if args.processes > 1 or args.overlap else None
        if args.overlap and ingesters is not None:
            per_batch, seconds = run_overlapped(pipeline, workload, ingesters)
        else:
            per_batch, seconds = run_batches(pipeline, workload, profiler, full_history, ingesters)
        if ingesters:
            ingesters.close()
        if profiler:
            profiler.disable()
        intervals = int(sum(b["intervals"] for b in per_batch))
        steady = per_batch[full_history:]
        timings = pipeline.bulk.timings
        breakdown = {
            "lookup (registry, rule sets, existing channel days)": timings.lookup,
            "history (read model + freshness check, billing periods)": timings.history,
            "validate + estimate + validate again + stage events": timings.judge,
            "store (one save per chunk of channel days)": timings.store,
            "project (interval view, VEE exceptions)": sum(b["project"] for b in per_batch),
        }
        stages = [copy_baseline(url, workload)]
        stages.append(Stage(f"full pipeline, {len(per_batch)} batches", intervals, seconds))
        if len(per_batch) > len(steady) and not args.overlap:
            stages.append(
                Stage(
                    f"  of which the last {len(steady)} batches (full history)",
                    int(sum(b["intervals"] for b in steady)),
                    sum(b["ingest"] + b["project"] for b in steady),
                )
            )
        stages += sample_comparison(pipeline, workload, args.sample)
        notes.append(f"chunks retried after a conflict: {int(timings.retried_chunks)}")
        pipeline.close()
    print(
        f"\nIngest: {args.channels:,} channels x {args.days} days of 15-min intervals, "
        f"{args.block_days} day(s) per delivery, {args.days_per_save} channel days per save, "
        f"{args.history_days} days of history, {args.processes} ingest process(es)"
        + (", projections beside the ingest" if args.overlap else "")
    )
    print(machine())
    print_report(args, notes, stages, breakdown)
    if profiler:
        print("\nprofile of the batches with a full history (top 40 by own time):")
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime")).print_stats(
            int(os.environ.get("TOP", "40"))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="The full VEE ingest pipeline on PostgreSQL.")
    parser.add_argument("--channels", type=int, default=300)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--block-days", type=int, default=1)
    parser.add_argument("--days-per-save", type=int, default=100)
    parser.add_argument("--history-days", type=int, default=28)
    parser.add_argument(
        "--processes", type=int, default=1, help="ingest processes (channels shared out)"
    )
    parser.add_argument(
        "--overlap",
        action="store_true",
        help="project beside the ingest (ingest in --processes worker processes)",
    )
    parser.add_argument("--sample", type=int, default=100, help="deliveries one by one vs bulk")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--profile", action="store_true", help="cProfile the batches")
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("HES_BENCH_POSTGRES_DSN", DEFAULT_ADMIN_DSN),
        help="where to create (and drop) the benchmark's PostgreSQL database",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    run(args)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
