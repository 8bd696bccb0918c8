"""Two real ``scheduler`` processes on one store: one fires, the other waits and takes over.

The processes share a fast fake clock (``HES_SCHEDULER_CLOCK``: one minute per second)
and a cycle due every minute, so a few seconds cover several due times.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from adapters.persistence.store import StoreLocation
from adapters.scheduler import clock_from_env
from adapters.scheduler_lock import FileLock, PostgresAdvisoryLock, scheduler_lock
from adapters.scheduling_sources import open_scheduling
from application.registry import KINDS, Registry
from domain.cycle import Cycle
from domain.provenance import Provenance
from tests.backends import store_for

ROOT = Path(__file__).resolve().parents[2]
SETUP = Provenance("olga", "cycle set up", "api")
SPEED = 60.0  # fake seconds per real second


@pytest.fixture(autouse=True)
def registry_knows_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, "cycle", Cycle)  # until application/registry.py lists it


def a_future_midnight() -> datetime:
    return datetime.combine(date.today() + timedelta(days=10), datetime.min.time(), tzinfo=UTC)


class SchedulerProcess:
    def __init__(
        self, store: StoreLocation, env: dict[str, str], log: Path, record_only: bool = True
    ) -> None:
        arguments = ["--data-dir", str(store.data_dir), *(["--record-only"] * record_only)]
        if not store.is_sqlite:
            arguments += ["--database-url", store.url]
        self.log = log
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "interfaces.cli.scheduling", "scheduler"),
                *("--tick", "0.1", "--standby-poll", "0.1", *arguments),
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    @property
    def identity(self) -> str:
        return f"{os.uname().nodename}:{self.process.pid}"

    def wait_for(self, words: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while words not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {words!r} in the log:\n{self.log.read_text()}")
            time.sleep(0.05)

    def stop(self, how: int) -> int:
        if self.process.poll() is None:
            self.process.send_signal(how)
        return self.process.wait(timeout=30)


def every_minute_from(midnight: datetime, store: StoreLocation) -> dict[str, str]:
    """Registers the cycle; returns the environment of schedulers with the fast clock."""
    registry = Registry(env=store.application_env())
    registry.register(
        "cycle",
        {
            "cycle_key": "EVERY-MINUTE",
            "name": "every minute",
            "timezone": "UTC",
            "schedule": {"kind": "every", "minutes": 1},
            "task_chain": ["read_meter"],
            "meters": ["M1", "M2"],
        },
        midnight.date(),  # in force from the fake clock's first minute on
        SETUP,
    )
    registry.close()
    clock_setting = f"{(midnight - timedelta(seconds=5)).isoformat()},{time.time()},{SPEED}"
    return {
        **os.environ,
        "HES_SCHEDULER_CLOCK": clock_setting,
        "HES_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def two_schedulers(
    store: StoreLocation, tmp_path: Path
) -> Iterator[tuple[SchedulerProcess, SchedulerProcess, Callable[[], datetime]]]:
    env = every_minute_from(a_future_midnight(), store)
    first = SchedulerProcess(store, env, tmp_path / "first.log")
    first.wait_for("active")
    second = SchedulerProcess(store, env, tmp_path / "second.log")
    try:
        yield first, second, clock_from_env(env)
    finally:
        for process in (first, second):
            process.stop(signal.SIGKILL)


def test_one_scheduler_fires_the_other_takes_over_and_no_due_time_fires_twice(
    store: StoreLocation,
    two_schedulers: tuple[SchedulerProcess, SchedulerProcess, Callable[[], datetime]],
) -> None:
    first, second, clock = two_schedulers
    second.wait_for("standby")
    time.sleep(3)  # about three due times
    first.stop(signal.SIGKILL)  # no clean release: the lock goes with the session
    second.wait_for("active")
    time.sleep(3)
    assert second.stop(signal.SIGTERM) == 0
    end = clock()

    registry = Registry(env=store.application_env())
    scheduling, _ = open_scheduling(store, registry)
    firings = scheduling.firings("EVERY-MINUTE", end - timedelta(days=1), end)
    dues = [firing.due for firing in firings]
    by = [firing.fired_by for firing in firings]
    switch = by.index(second.identity)

    assert dues == [dues[0] + timedelta(minutes=n) for n in range(len(dues))]  # none missed
    assert dues[0] == a_future_midnight() and len(dues) >= 5
    assert by == [first.identity] * switch + [second.identity] * (len(by) - switch)
    assert switch >= 2  # the standby fired nothing while the first one was alive
    assert "stopped" in second.log.read_text()
    lock = scheduler_lock(store)
    assert lock.try_acquire()  # the clean stop released it
    lock.release()


def test_the_scheduler_creates_the_tasks_of_each_due_time_in_operations(
    sqlite_store: StoreLocation, tmp_path: Path
) -> None:
    from application.operations import Operations
    from domain.task import Task

    midnight = a_future_midnight()
    env = every_minute_from(midnight, sqlite_store)
    env.pop("HES_REDIS_URL", None)  # no queue: tasks wait, queued, in the store
    scheduler = SchedulerProcess(sqlite_store, env, tmp_path / "tasks.log", record_only=False)
    scheduler.wait_for("fired EVERY-MINUTE due " + midnight.isoformat())
    assert scheduler.stop(signal.SIGTERM) == 0

    operations = Operations(env=sqlite_store.application_env())
    for serial in ("M1", "M2"):
        key = Task.cycle_key_of("EVERY-MINUTE", midnight, serial, "read_meter")
        task = operations.task(Task.id_for(key))
        assert (task.target, task.task_type, task.cycle_key) == (
            serial,
            "read_meter",
            "EVERY-MINUTE",
        )
    assert "2 targets, 2 new read_meter tasks" in scheduler.log.read_text()


def test_only_one_holder_of_the_scheduler_lock_at_a_time(store: StoreLocation) -> None:
    first, second = scheduler_lock(store), scheduler_lock(store)

    assert first.try_acquire() and first.still_held()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


@pytest.mark.postgres
def test_a_scheduler_whose_session_died_knows_it_lost_the_lock(tmp_path: Path) -> None:
    with store_for("postgres", tmp_path) as store:
        lost_session_is_noticed(store.url)


def lost_session_is_noticed(url: str) -> None:
    lock = PostgresAdvisoryLock(url)
    assert lock.try_acquire()
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE 'hes-scheduler%' AND pid <> pg_backend_pid() "
                "AND datname = current_database()"
            )
        )
    engine.dispose()

    assert not lock.still_held()
    other = PostgresAdvisoryLock(url)
    assert other.try_acquire()  # a standby takes over
    other.release()
    lock.release()


def test_the_file_lock_says_who_holds_it(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "scheduler.lock")
    assert lock.try_acquire()

    assert lock.holder() == f"{os.uname().nodename}:{os.getpid()}"
    lock.release()
