"""The housekeeping recipe of docs/OPERATIONS.md: one cycle whose chain archives first and
purges after, run by a real worker (in-process broker): yesterday's raw frames end up in
the archive and the ones past retention are gone, each step once."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from uuid import UUID

import pytest

from adapters.archive import archive_directory
from adapters.dlms.frame_capture import CapturedFrame
from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from adapters.queue.broker import QueueSettings
from adapters.queue.worker import WorkerProcess, WorkerSettings
from adapters.raw_frames import RawFrameStore
from adapters.scheduling_sources import scheduling_of
from adapters.security.passwords import Argon2PasswordHasher
from application.errors import UnknownAggregate
from domain.provenance import Provenance
from domain.task import Task
from interfaces.installation import Installation

SETUP = Provenance("test", "set-up", "system")
SCHEDULER = Provenance("scheduler:test", "cycle due", "system", reason_code="CYCLE_DUE")
CHAIN = ["archive", "purge_raw_frames", "purge_comm_log", "purge_task_log"]
TARGET = "housekeeping"


@pytest.fixture
def installation(store: StoreLocation, monkeypatch: pytest.MonkeyPatch) -> Iterator[Installation]:
    monkeypatch.setenv("HES_RAW_FRAME_RETENTION_DAYS", "3")
    queue = QueueSettings(url="stub://", namespace=f"hk-{uuid.uuid4().hex[:6]}")
    found = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests(), queue=queue
    )
    found.registry.register(
        "cycle",
        {"cycle_key": "HOUSEKEEPING", "name": "daily housekeeping", "timezone": "UTC",
         "schedule": {"kind": "weekly", "days": "daily", "at": "01:30"},
         "task_chain": CHAIN, "meters": [TARGET]},
        dt.date.today() - dt.timedelta(days=30),
        SETUP,
    )  # fmt: skip
    worker = WorkerProcess(store, queue, WorkerSettings(name="hk", threads=2, poll_seconds=0.1))
    worker.operations.follow_on = scheduling_of(found)[0]
    worker.start()
    try:
        yield found
    finally:
        worker.shut_down()
        scheduling_of(found)[0].close()
        found.close()


def finished(installation: Installation, task_id: UUID, timeout: float = 30.0) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            task = installation.operations.task(task_id)
            if task.state in ("succeeded", "failed"):
                return task
        except UnknownAggregate:
            pass
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not finish")


def test_the_housekeeping_chain_archives_then_purges(installation: Installation) -> None:
    engine = shared_datastore(installation.store.url).engine
    now = dt.datetime.now(dt.UTC)
    kept_day = now - dt.timedelta(days=1, hours=2)
    frames = [
        CapturedFrame(at, "HK-1", "127.0.0.1:4059", "s", "sent", "wrapper", "session", b"\x01")
        for at in (now - dt.timedelta(days=5), kept_day)
    ]
    RawFrameStore(engine).append(frames)  # type: ignore[arg-type]
    due = now

    installation.operations.create_cycle_tasks(
        "HOUSEKEEPING", due, [TARGET], "archive", {}, SCHEDULER
    )

    def step(task_type: str) -> Task:
        return finished(
            installation, Task.id_for(Task.cycle_key_of("HOUSEKEEPING", due, TARGET, task_type))
        )

    tasks = {task_type: step(task_type) for task_type in CHAIN}
    assert {name: task.state for name, task in tasks.items()} == dict.fromkeys(CHAIN, "succeeded")
    written = tasks["archive"].result["written"]
    assert [(w["kind"], w["day"], w["rows"]) for w in written if w["rows"]] == [
        ("raw_frames", kept_day.date().isoformat(), 1)
    ]
    assert tasks["purge_raw_frames"].result == {"purged": 1}  # the 5-day-old frame
    directory = archive_directory(installation.store.data_dir)
    assert (directory / "raw_frames").is_dir()
