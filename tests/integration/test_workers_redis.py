"""Real worker processes on real Redis and PostgreSQL: kill one, lose Redis, stop one.

Each test gets its own Redis database number (HES_TEST_REDIS_URL, default db 13) and
key namespace, and empties it afterwards. Losing Redis is simulated with FLUSHDB on
that database: everything our queues keep is gone, as after FLUSHALL, without touching
anyone else's data. When Redis is down these tests fail; they never skip.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import redis

from adapters.queue.broker import DramatiqTaskQueue, QueueSettings
from application.operations import Operations
from domain.provenance import Provenance
from tests.backends import postgres_database

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("HES_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
OLGA = Provenance("olga", "test run", "api")
ADA = Provenance("ada", "maintenance window", "api")
FAST = [
    "--heartbeat-seconds", "0.3",
    "--lost-after-seconds", "2",
    "--poll-seconds", "0.2",
    "--reconcile-seconds", "1",
    "--reconcile-grace-seconds", "0.5",
    "--queue-heartbeat-timeout-ms", "2000",
    "--queue-maintenance-chance", "200000",
]  # fmt: skip


@dataclass
class Cluster:
    database_url: str
    namespace: str
    client: redis.Redis
    operations: Operations
    logs: Path
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_worker(self, name: str, threads: int = 2) -> subprocess.Popen[bytes]:
        command = [
            sys.executable, "-m", "interfaces.cli.operations", "worker",
            "--name", name, "--threads", str(threads), "--bare",
            "--redis-url", REDIS_URL, "--namespace", self.namespace,
            "--database-url", self.database_url, "--data-dir", str(self.logs), *FAST,
        ]  # fmt: skip
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.workers[name] = process
        wait_for(lambda: self.server_status(name) == "processing", f"{name} to start", 20)
        return process

    def server_status(self, name: str) -> str | None:
        try:
            server = self.operations.server(name)
        except LookupError:
            return None
        return server.status if server.enabled else f"{server.status} (stopped)"

    def events(self, aggregate_id: UUID) -> list[Any]:
        return list(self.operations.history_of(aggregate_id))

    def names(self, aggregate_id: UUID) -> list[str]:
        return [type(event).__name__ for event in self.events(aggregate_id)]

    def state(self, task_id: UUID) -> str:
        return self.operations.task(task_id).state

    def messages_held(self) -> int:
        keys = list(self.client.scan_iter(match=f"{self.namespace}:*.msgs"))
        return sum(self.client.hlen(key) for key in keys if not key.endswith(b".XQ.msgs"))

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]


def wait_for(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({error}); start redis-server")
    namespace = f"hes-test-{uuid.uuid4().hex[:8]}"
    with postgres_database() as url:
        queue = DramatiqTaskQueue(QueueSettings(url=REDIS_URL, namespace=namespace))
        store_env = {
            "PERSISTENCE_MODULE": "adapters.persistence.factory:HesFactory",
            "SQLALCHEMY_URL": url,
        }
        operations = Operations(env=store_env, task_queue=queue)
        found = Cluster(url, namespace, client, operations, tmp_path)
        try:
            yield found
        finally:
            for process in found.workers.values():
                if process.poll() is None:
                    process.kill()
                    process.wait(10)
            operations.close()
            queue.close()
            for key in client.scan_iter(match=f"{namespace}:*"):
                client.delete(key)


def test_a_worker_killed_mid_task_leaves_the_task_to_another_and_it_completes_once(
    cluster: Cluster,
) -> None:
    doomed = cluster.start_worker("srv-a")
    task_id = cluster.operations.create_task(
        "noop", "M-1", {"sleep_seconds": 2}, datetime.now(UTC), OLGA
    )
    wait_for(lambda: cluster.state(task_id) == "running", "the task to run on srv-a", 15)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    cluster.start_worker("srv-b")

    wait_for(lambda: cluster.state(task_id) == "succeeded", "the task to succeed on srv-b", 30)
    # The killed worker's own message comes back too (dramatiq's heartbeat timeout); wait
    # until it is handled, then count: it must have changed nothing.
    wait_for(lambda: cluster.messages_held() == 0, "every message to be handled", 30)
    history = cluster.events(task_id)
    assert [type(e).__name__ for e in history] == [
        "ScheduledAndQueued",
        "Started",
        "Interrupted",
        "Queued",
        "Started",
        "Succeeded",
    ], cluster.log("srv-b")
    started = [e for e in history if type(e).__name__ == "Started"]
    assert [e.server for e in started] == ["srv-a", "srv-b"]
    assert history[-1].dispatch == 2
    lost = cluster.names(cluster.operations.server("srv-a").id)
    assert lost[-1] == "Lost"


def test_after_redis_loses_its_data_every_pending_task_runs_once(cluster: Cluster) -> None:
    cluster.start_worker("srv-a", threads=2)
    tasks = [
        cluster.operations.create_task(
            "noop", f"M-{i}", {"sleep_seconds": 0.15}, datetime.now(UTC), OLGA
        )
        for i in range(40)
    ]
    wait_for(
        lambda: sum(cluster.state(t) == "succeeded" for t in tasks[:10]) >= 3,
        "a few tasks to finish",
        20,
    )
    cluster.client.flushdb()  # the queues, acks, heartbeats and lease: all gone

    wait_for(
        lambda: all(cluster.state(t) == "succeeded" for t in tasks), "every task to finish", 60
    )
    wait_for(lambda: cluster.messages_held() == 0, "every message to be handled", 20)
    histories = {t: cluster.names(t) for t in tasks}
    assert all(names.count("Started") == 1 for names in histories.values()), histories
    assert all(names.count("Succeeded") == 1 for names in histories.values())
    requeued = [t for t in tasks if any(e.actor == "hes-reconciler" for e in cluster.events(t))]
    assert requeued, "the flush left nothing to reconcile: the test proves nothing"


def test_stopping_a_server_sends_its_work_to_the_others_and_restarting_brings_it_back(
    cluster: Cluster,
) -> None:
    a = cluster.start_worker("srv-a")
    b = cluster.start_worker("srv-b")
    cluster.operations.stop_server("srv-a", ADA)
    wait_for(lambda: cluster.server_status("srv-a") == "paused (stopped)", "srv-a to stop", 15)

    now = datetime.now(UTC)
    first = [cluster.operations.create_task("noop", f"A-{i}", {}, now, OLGA) for i in range(8)]
    wait_for(lambda: all(cluster.state(t) == "succeeded" for t in first), "first batch", 30)
    assert {cluster.events(t)[1].server for t in first} == {"srv-b"}

    cluster.operations.restart_server("srv-a", ADA)
    wait_for(lambda: cluster.server_status("srv-a") == "processing", "srv-a to restart", 15)
    cluster.operations.stop_server("srv-b", ADA)
    wait_for(lambda: cluster.server_status("srv-b") == "paused (stopped)", "srv-b to stop", 15)
    second = [cluster.operations.create_task("noop", f"B-{i}", {}, now, OLGA) for i in range(8)]
    wait_for(lambda: all(cluster.state(t) == "succeeded" for t in second), "second batch", 30)
    assert {cluster.events(t)[1].server for t in second} == {"srv-a"}

    for process in (a, b):
        process.send_signal(signal.SIGTERM)
    assert [process.wait(30) for process in (a, b)] == [0, 0]
    assert cluster.names(cluster.operations.server("srv-a").id) == [
        "Registered",
        "Started",
        "StopRequested",
        "ProcessingStopped",
        "RestartRequested",
        "ProcessingRestarted",
        "ShutDown",
    ]
