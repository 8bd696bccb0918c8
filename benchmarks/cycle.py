"""Cycle throughput: creating and queueing a 362,000-meter cycle, and completing tasks.

    .venv/bin/python -m benchmarks.cycle [--meters 362000] [--tasks 20000] [--threads 64]

1. Creation: ``Operations.create_cycle_tasks`` for one due time of a cycle of
   ``--meters`` meters (``read_meter`` tasks, due now: recorded as ScheduledAndQueued,
   1,000 per save) with the messages sent to Redis; timed until the last message is in
   Redis, then checked there. Baseline run alongside: the same tasks saved one per save
   (a sample of ``--baseline`` tasks).
2. Completion: ``--tasks`` no-op tasks through Redis, completed by real ``hes worker``
   processes (one thread group of ``--threads`` threads taking ``noop`` only, no
   dispatcher round), first one worker, then two, each on a fresh database and queue
   namespace. Workers are started and paused by
   an administrator's stop, the tasks queued, then processing restarted; timed until the
   queue holds no message, then the Succeeded events are counted in the store.

Targets (issue "Operations"): creation and queueing under 60 s; two workers at least
1.8 times one. The machine is shared (2 cores); the load average is printed per phase.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import redis
from sqlalchemy import column, func, select, table

from adapters.persistence.factory import shared_datastore
from adapters.persistence.scratch import scratch_postgres_database
from adapters.persistence.store import locate_store
from adapters.queue.broker import DramatiqTaskQueue, QueueSettings
from application.operations import Operations
from domain.provenance import Provenance
from domain.task import Task

ROOT = Path(__file__).resolve().parents[1]
SCHEDULER = Provenance("benchmark", "cycle due", "system", reason_code="CYCLE_DUE")
ADMIN = Provenance("benchmark", "benchmark phase", "system")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


@contextmanager
def installation(redis_url: str, scratch: Path) -> Iterator[tuple[str, str, Operations]]:
    """A fresh PostgreSQL database and Redis namespace; both removed afterwards."""
    namespace = f"hes-bench-{uuid.uuid4().hex[:8]}"
    queue = DramatiqTaskQueue(QueueSettings(url=redis_url, namespace=namespace))
    with scratch_postgres_database(prefix="hes_bench") as url:
        operations = Operations(env=locate_store(scratch, url).application_env(), task_queue=queue)
        try:
            yield url, namespace, operations
        finally:
            operations.close()
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(match=f"{namespace}:*", count=1000):
                client.delete(key)
            queue.close()


def held(client: redis.Redis, namespace: str, queue_name: str) -> int:
    return int(client.hlen(f"{namespace}:{queue_name}.msgs"))


def creation(meters: int, baseline: int, redis_url: str, scratch: Path) -> None:
    targets = [f"BM{index:07d}" for index in range(meters)]
    parameters = {"what": "profile", "days": 1}
    with installation(redis_url, scratch) as (_, namespace, operations):
        started = time.perf_counter()
        due = datetime.now(UTC).replace(microsecond=0)
        created = operations.create_cycle_tasks(
            "bench-daily", due, targets, "read_meter", parameters, SCHEDULER
        )
        elapsed = time.perf_counter() - started
        in_redis = held(redis.Redis.from_url(redis_url), namespace, "normal.read_meter")
        again = time.perf_counter()
        repeated = operations.create_cycle_tasks(
            "bench-daily", due, targets[:2000], "read_meter", parameters, SCHEDULER
        )
        repeat_s = time.perf_counter() - again
        print(
            f"creation: {created:,} tasks created and queued in {elapsed:.1f} s "
            f"= {created / elapsed:,.0f} tasks/s (target: < 60 s); {load()}"
        )
        print(
            f"creation: Redis holds {in_redis:,} messages; a repeat of 2,000 created "
            f"{repeated} in {repeat_s:.1f} s"
        )
    with installation(redis_url, scratch) as (_, _, operations):
        due = datetime.now(UTC)
        started = time.perf_counter()
        for target in targets[:baseline]:
            key = Task.cycle_key_of("bench-daily", due, target, "read_meter")
            task = Task.schedule(key, "read_meter", target, parameters, due, SCHEDULER, now=due)
            operations.save(task)
        one_by_one = baseline / (time.perf_counter() - started)
        print(
            f"baseline: {baseline:,} tasks saved one per save = {one_by_one:,.0f} tasks/s; "
            f"batched is {created / elapsed / one_by_one:.1f}x; {load()}"
        )


def completion(
    tasks: int, workers: int, threads: int, redis_url: str, scratch: Path
) -> tuple[float, float]:
    """(tasks/s, cores busy on the whole machine meanwhile)."""
    client = redis.Redis.from_url(redis_url)
    with installation(redis_url, scratch) as (url, namespace, operations):
        names = [f"bench-{index}" for index in range(workers)]
        processes = [
            start_worker(name, threads, url, redis_url, namespace, scratch) for name in names
        ]
        try:
            for name in names:
                wait_until(lambda n=name: server_state(operations, n) == ("processing", True))
                operations.stop_server(name, ADMIN)
                # Only the no-op queue: no idle consumers of the other twelve task types.
                groups = [{"threads": threads, "task_types": ["noop"]}]
                operations.configure_server(name, groups, ADMIN)
            for name in names:
                wait_until(lambda n=name: server_state(operations, n) == ("paused", False))
            operations.create_cycle_tasks(
                "bench-noop",
                datetime.now(UTC),
                [f"N{i}" for i in range(tasks)],
                "noop",
                {},
                SCHEDULER,
            )
            cpu_before = sum(cpu_seconds(process.pid) for process in processes)
            busy_before = machine_busy_seconds()
            started = time.perf_counter()
            for name in names:
                operations.restart_server(name, ADMIN)
            while held(client, namespace, "bulk.noop"):
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
            worker_cpu = sum(cpu_seconds(process.pid) for process in processes) - cpu_before
            busy = (machine_busy_seconds() - busy_before) / elapsed
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(60)
        succeeded = count_succeeded(url)
        rate = tasks / elapsed
        print(
            f"completion: {workers} worker(s) x {threads} threads: {succeeded:,} of {tasks:,} "
            f"no-op tasks succeeded in {elapsed:.1f} s = {rate:,.0f} tasks/s; {load()}"
        )
        print(
            f"completion:   workers' CPU {worker_cpu * 1000 / tasks:.2f} ms per task; cores "
            f"busy {busy:.2f} of {os.cpu_count()} (every process on the machine, others' too)"
        )
        if succeeded != tasks:
            raise SystemExit(f"only {succeeded} of {tasks} tasks succeeded")
        return rate, busy


def start_worker(
    name: str, threads: int, url: str, redis_url: str, namespace: str, scratch: Path
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "interfaces.cli.operations", "worker", "--name", name,
        "--threads", str(threads), "--bare", "--no-maintenance", "--poll-seconds", "0.1",
        "--redis-url", redis_url, "--namespace", namespace, "--database-url", url,
        "--data-dir", str(scratch),
    ]  # fmt: skip
    log = (scratch / f"{name}.log").open("ab")
    return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds spent by all cores on anything but idle and I/O wait (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def server_state(operations: Operations, name: str) -> tuple[str, bool] | None:
    try:
        server = operations.server(name)
    except LookupError:
        return None
    return server.status, server.enabled


def wait_until(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("a worker did not come up or pause in time")
        time.sleep(0.05)


def count_succeeded(url: str) -> int:
    datastore = shared_datastore(url)
    events = table("operations_events", column("topic"))
    query = select(func.count()).select_from(events).where(events.c.topic == Task.Succeeded.TOPIC)
    with datastore.engine.connect() as connection:  # type: ignore[union-attr]
        return int(connection.execute(query).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--meters", type=int, default=362_000)
    parser.add_argument("--baseline", type=int, default=2_000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--skip-creation", action="store_true")
    parser.add_argument("--skip-completion", action="store_true")
    arguments = parser.parse_args()
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"hes-bench-{uuid.uuid4().hex[:6]}"
    scratch.mkdir(parents=True)
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {load()}")
    if not arguments.skip_creation:
        creation(arguments.meters, arguments.baseline, arguments.redis_url, scratch)
    if not arguments.skip_completion:
        one, busy = completion(arguments.tasks, 1, arguments.threads, arguments.redis_url, scratch)
        two, _ = completion(arguments.tasks, 2, arguments.threads, arguments.redis_url, scratch)
        print(f"completion: 2 workers / 1 worker = {two / one:.2f}x (target: >= 1.8x)")
        # One worker's run already keeps `busy` cores busy (worker, PostgreSQL, Redis):
        # on this machine no second worker can add more than the idle cores allow.
        ceiling = min(2.0, (os.cpu_count() or 1) / busy) if busy else 2.0
        print(f"completion: this machine's ceiling for 2 workers = {ceiling:.2f}x (cores / busy)")


if __name__ == "__main__":
    main()
