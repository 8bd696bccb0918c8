"""The Operations application and the task monitor on real SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from adapters.queue.broker import DramatiqTaskQueue, QueueSettings
from adapters.queue.task_loader import BulkTaskLoader
from adapters.queue.worker import WorkerProcess, WorkerSettings
from application.errors import ConcurrentEdit
from application.operations import Operations, QueuedTask
from domain.provenance import Provenance
from domain.task import Task, TaskStateError
from projections.task_monitor import TaskFilter
from projections.task_monitor_projection import TaskMonitor

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
SCHEDULER = Provenance("scheduler:host", "cycle daily due", "system", reason_code="CYCLE_DUE")
OLGA = Provenance("olga", "customer asked", "api")
ADA = Provenance("ada", "maintenance window", "api")


class SentMessages:
    def __init__(self) -> None:
        self.sent: list[QueuedTask] = []

    def send(self, messages: Sequence[QueuedTask]) -> None:
        self.sent.extend(messages)


@dataclass
class Ops:
    operations: Operations
    queue: SentMessages
    monitor: TaskMonitor
    clock: list[datetime]

    def names(self, task_id: UUID) -> list[str]:
        return [type(event).__name__ for event in self.operations.history_of(task_id)]


@pytest.fixture
def ops(store: StoreLocation) -> Iterator[Ops]:
    clock = [T0]
    queue = SentMessages()
    operations = Operations(env=store.application_env(), task_queue=queue, clock=lambda: clock[0])
    operations.task_loader = BulkTaskLoader(operations)
    yield Ops(operations, queue, TaskMonitor(shared_datastore(store.url), operations), clock)
    operations.close()


def cycle_task_id(target: str, task_type: str = "noop", due: datetime = T0) -> UUID:
    return Task.id_for(Task.cycle_key_of("daily", due, target, task_type))


def meters(count: int, start: int = 0) -> list[str]:
    return [f"M{index:06d}" for index in range(start, start + count)]


def test_cycle_tasks_are_created_once_queued_when_due_and_sent_once(ops: Ops) -> None:
    created = ops.operations.create_cycle_tasks("daily", T0, meters(2500), "noop", {}, SCHEDULER)
    again = ops.operations.create_cycle_tasks(
        "daily", T0, meters(100) + meters(2, 2500), "noop", {}, SCHEDULER
    )
    assert (created, again) == (2500, 2)
    assert len(ops.queue.sent) == 2502
    assert len({(m.task_id, m.dispatch) for m in ops.queue.sent}) == 2502
    first = ops.queue.sent[0]
    assert (first.dispatch, first.queue_name, first.priority) == (1, "bulk.noop", "bulk")
    assert ops.names(cycle_task_id("M000000")) == ["ScheduledAndQueued"]


def test_tasks_due_later_wait_until_the_dispatcher_finds_them_due(ops: Ops) -> None:
    later = T0 + timedelta(hours=2)
    ops.operations.create_cycle_tasks("daily", later, meters(30), "noop", {}, SCHEDULER)
    ops.monitor.catch_up()
    assert ops.queue.sent == [] and ops.monitor.view.due_task_ids(T0) == []
    ops.clock[0] = later
    due = ops.monitor.view.due_task_ids(later)
    assert len(due) == 30
    assert ops.operations.dispatch(due) == 30
    assert ops.operations.dispatch(due) == 0  # queued already: not due any more
    assert ops.names(cycle_task_id("M000007", due=later)) == ["Scheduled", "Queued"]
    assert len(ops.queue.sent) == 30


def test_two_workers_claiming_one_dispatch_start_it_once(ops: Ops, store: StoreLocation) -> None:
    task_id = ops.operations.create_task("noop", "M-1", {}, T0, OLGA)
    other = Operations(env=store.application_env())
    try:
        mine = ops.operations.task(task_id)
        theirs = other.task(task_id)
        mine.start(1, "srv-a", "a:1", OLGA)
        theirs.start(1, "srv-b", "b:1", OLGA)
        ops.operations.save(mine)
        with pytest.raises(IntegrityError):
            other.save(theirs)
    finally:
        other.close()
    assert ops.operations.start_task(task_id, 1, "srv-b", "b:1") is None  # already running


def test_group_commit_starts_each_dispatch_once_however_many_messages_arrive(ops: Ops) -> None:
    ops.operations.create_cycle_tasks("daily", T0, meters(60), "noop", {}, SCHEDULER)
    ops.operations.use_group_commit()
    messages = [(m.task_id, m.dispatch) for m in ops.queue.sent] * 2  # every one delivered twice
    runs: list[Any] = []

    def worker(part: list[tuple[UUID, int]], name: str) -> None:
        for task_id, dispatch in part:
            run = ops.operations.start_task(task_id, dispatch, name, f"{name}:1")
            if run is not None:
                runs.append(run)
                assert ops.operations.finish_task(run, {"ok": True})

    threads = [
        threading.Thread(target=worker, args=(messages[i::6], f"srv-{i % 2}")) for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 60 and len({run.task_id for run in runs}) == 60
    history = ops.names(cycle_task_id("M000042"))
    assert history == ["ScheduledAndQueued", "Started", "Succeeded"]


def test_a_failed_attempt_is_queued_again_after_its_back_off(ops: Ops) -> None:
    task_id = ops.operations.create_task("noop", "M-1", {"fail": "once"}, T0, OLGA)
    run = ops.operations.start_task(task_id, 1, "srv-a", "a:1")
    assert run is not None and run.attempt == 1
    assert ops.operations.fail_task(run, "boom")
    task = ops.operations.task(task_id)
    assert (task.state, task.run_at) == ("error", T0 + timedelta(seconds=1))
    assert ops.operations.dispatch([task_id]) == 0
    ops.clock[0] = T0 + timedelta(seconds=1)
    assert ops.operations.dispatch([task_id]) == 1
    run = ops.operations.start_task(task_id, 2, "srv-a", "a:1")
    assert run is not None and run.attempt == 2
    ops.operations.finish_task(run, {})
    assert ops.names(task_id) == [
        "ScheduledAndQueued",
        "Started",
        "AttemptFailed",
        "Queued",
        "Started",
        "Succeeded",
    ]


def test_hold_release_reschedule_and_cancel_record_the_documented_sequences(ops: Ops) -> None:
    held = ops.operations.create_task("read_meter", "M-1", {}, T0, OLGA)
    ops.operations.hold_task(held, OLGA)
    assert ops.operations.start_task(held, 1, "srv-a", "a:1") is None  # its message is stale
    ops.operations.release_task(held, OLGA)  # due: queued again at once
    assert ops.names(held) == ["ScheduledAndQueued", "Held", "Released", "Queued"]
    assert ops.queue.sent[-1].dispatch == 2

    moved = ops.operations.create_task("read_meter", "M-2", {}, T0 + timedelta(hours=1), OLGA)
    ops.operations.reschedule_task(moved, T0 + timedelta(days=1), OLGA)
    ops.operations.reschedule_task(moved, T0 - timedelta(minutes=5), OLGA)  # now: queued
    assert ops.names(moved) == ["Scheduled", "Rescheduled", "Rescheduled", "Queued"]

    cancelled = ops.operations.create_task("read_meter", "M-3", {}, T0 + timedelta(hours=1), OLGA)
    ops.operations.cancel_task(cancelled, OLGA)
    with pytest.raises(TaskStateError, match="cancelled"):
        ops.operations.release_task(cancelled, OLGA)
    assert ops.names(cancelled) == ["Scheduled", "Cancelled"]
    event = ops.operations.history_of(cancelled)[-1]
    assert (event.actor, event.reason, event.source) == ("olga", "customer asked", "api")


def test_an_edit_based_on_an_old_version_is_a_conflict(ops: Ops) -> None:
    task_id = ops.operations.create_task("read_meter", "M-1", {"days": 1}, T0 + timedelta(1), OLGA)
    ops.operations.edit_task(task_id, OLGA, parameters={"days": 2}, expected_version=1)
    with pytest.raises(ConcurrentEdit):
        ops.operations.edit_task(task_id, OLGA, parameters={"days": 3}, expected_version=1)
    assert ops.operations.task(task_id).parameters == {"days": 2}


def test_requeue_gives_lost_queued_tasks_a_new_dispatch_and_the_old_message_is_stale(
    ops: Ops,
) -> None:
    ops.operations.create_cycle_tasks("daily", T0, meters(3), "noop", {}, SCHEDULER)
    lost = cycle_task_id("M000001")
    assert ops.operations.requeue([lost, cycle_task_id("M000404")]) == 1
    assert ops.operations.start_task(lost, 1, "srv-a", "a:1") is None
    assert ops.operations.start_task(lost, 2, "srv-a", "a:1") is not None
    assert ops.operations.requeue([lost]) == 0  # running: nothing lost
    requeued = ops.operations.history_of(lost)[1]
    assert (type(requeued).__name__, requeued.actor) == ("Queued", "hes-reconciler")


def test_a_run_whose_worker_died_is_interrupted_and_queued_again_by_the_next_claim(
    ops: Ops,
) -> None:
    task_id = ops.operations.create_task("noop", "M-1", {}, T0, OLGA)
    assert ops.operations.start_task(task_id, 1, "srv-a", "a:1") is not None
    assert ops.operations.start_task(task_id, 1, "srv-b", "b:1") is None  # a is alive
    ops.operations.is_alive = lambda instance: instance != "a:1"
    assert ops.operations.start_task(task_id, 1, "srv-b", "b:1") is None  # recovers instead
    run = ops.operations.start_task(task_id, 2, "srv-b", "b:1")
    assert run is not None
    assert ops.operations.finish_task(run, {})
    assert ops.names(task_id) == [
        "ScheduledAndQueued",
        "Started",
        "Interrupted",
        "Queued",
        "Started",
        "Succeeded",
    ]


def test_a_cycle_task_that_succeeds_brings_the_next_of_its_chain_in_the_same_save(
    ops: Ops,
) -> None:
    class Chain:
        def follow_on(
            self, cycle_key: str, due_at: datetime, completed: str
        ) -> tuple[str, dict[str, Any]] | None:
            return ("validate", {"rules": "standard"}) if completed == "read_meter" else None

    ops.operations.follow_on = Chain()
    ops.operations.create_cycle_tasks("daily", T0, ["M-1"], "read_meter", {}, SCHEDULER)
    read = cycle_task_id("M-1", "read_meter")
    run = ops.operations.start_task(read, 1, "srv-a", "a:1")
    assert run is not None
    ops.operations.finish_task(run, {"new_intervals": 96})
    validate = ops.operations.task(cycle_task_id("M-1", "validate"))
    assert (validate.state, validate.cycle_key, validate.due_at) == ("queued", "daily", T0)
    assert validate.parameters == {"rules": "standard"}
    assert ops.operations.history_of(validate.id)[0].actor == "hes-workflow"


def test_servers_stop_and_restart_as_administrators_ask(ops: Ops) -> None:
    ops.operations.server_started("srv-a", "a:1", "host-a", 100)
    ops.operations.stop_server("srv-a", ADA)
    assert ops.operations.confirm_stopped("srv-a", "a:1")
    ops.operations.restart_server("srv-a", ADA)
    assert ops.operations.confirm_restarted("srv-a", "a:1")
    ops.operations.configure_server("srv-a", [{"threads": 2, "task_types": ["noop"]}], ADA)
    assert ops.operations.server_shut_down("srv-a", "a:1")
    server = ops.operations.server("srv-a")
    assert [type(e).__name__ for e in ops.operations.history_of(server.id)] == [
        "Registered",
        "Started",
        "StopRequested",
        "ProcessingStopped",
        "RestartRequested",
        "ProcessingRestarted",
        "Configured",
        "ShutDown",
    ]
    ops.monitor.catch_up()
    (row,) = ops.monitor.view.servers()
    assert (row["status"], row["enabled"], row["thread_groups"]) == (
        "offline",
        True,
        [{"threads": 2, "task_types": ["noop"]}],
    )


def test_the_monitor_filters_counts_and_keeps_cumulative_counts_after_a_purge(ops: Ops) -> None:
    ops.operations.create_cycle_tasks("daily", T0, meters(5), "noop", {}, SCHEDULER)
    pinned_later = ops.operations.create_task("read_meter", "M-9", {}, T0 + timedelta(1), OLGA)
    for index in range(3):
        run = ops.operations.start_task(cycle_task_id(f"M00000{index}"), 1, "srv-a", "a:1")
        assert run is not None
        if index == 2:
            ops.operations.fail_task(run, "bad", retryable=False)
        else:
            ops.operations.finish_task(run, {})
    ops.operations.hold_task(pinned_later, OLGA)
    ops.monitor.catch_up()
    view = ops.monitor.view
    assert view.count(TaskFilter(status=("queued",))) == 2
    assert view.count(TaskFilter(server="srv-a")) == 3
    assert [row["target"] for row in view.tasks(TaskFilter(submitted_by="olga"))] == ["M-9"]
    assert view.count(TaskFilter(due_from=T0 + timedelta(hours=1))) == 1
    stats = view.statistics()
    assert stats["by_status"]["succeeded"] == 2 and stats["failed"] == 1
    assert stats["by_status"]["on_hold"] == 1 and stats["running_now"] == 0
    assert stats["cumulative"]["performed"] == 3
    purged = ops.monitor.purge(datetime.now(UTC) + timedelta(days=40), timedelta(days=31))
    assert purged == 3
    after = view.statistics()
    assert after["tasks"] == 3 and after["cumulative"]["performed"] == 3
    assert after["cumulative"]["failures"] == 1


def test_an_in_process_worker_runs_tasks_without_redis(store: StoreLocation) -> None:
    settings = QueueSettings(url="stub://", namespace=f"embedded-{uuid.uuid4().hex[:6]}")
    operations = Operations(env=store.application_env(), task_queue=DramatiqTaskQueue(settings))
    worker = WorkerProcess(
        store, settings, WorkerSettings(name="embedded", threads=2, poll_seconds=0.1)
    )
    worker.start()
    try:
        task_id = operations.create_task("noop", "M-1", {"fail": "once"}, datetime.now(UTC), OLGA)
        deadline = time.monotonic() + 20
        while operations.task(task_id).state != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.05)
        names = [type(e).__name__ for e in operations.history_of(task_id)]
        assert names == [
            "ScheduledAndQueued",
            "Started",
            "AttemptFailed",
            "Queued",
            "Started",
            "Succeeded",
        ]
    finally:
        worker.shut_down()
        operations.close()
