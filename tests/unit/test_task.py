"""Task and ProcessingServer aggregates: states, guards, retries, and their events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.processing_server import ProcessingServer, ServerStateError, ThreadGroup
from domain.provenance import Provenance
from domain.task import Task, TaskStateError
from domain.task_types import TASK_TYPES, InvalidTaskParameters, RetryPolicy, queue_names

NOW = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
OLGA = Provenance("olga", "customer complaint", "ui")
SYSTEM = Provenance("hes-worker:a", "task run", "system")


def scheduled(due_at: datetime = NOW + timedelta(hours=1), **parameters: object) -> Task:
    return Task.schedule("ad-hoc:1", "read_meter", "M-1", parameters, due_at, OLGA, now=NOW)


def running() -> Task:
    task = scheduled(NOW)
    task.start(1, "srv-a", "srv-a:1", SYSTEM)
    return task


def events_of(task: Task) -> list[str]:
    return [type(event).__name__ for event in task.collect_events()]


def test_a_task_due_later_is_scheduled_and_one_due_now_is_queued_in_the_same_event() -> None:
    later, now = scheduled(), scheduled(NOW)
    assert (later.state, events_of(later)) == ("scheduled", ["Scheduled"])
    assert (now.state, now.dispatches, now.queue_name) == ("queued", 1, "normal.read_meter")
    assert events_of(now) == ["ScheduledAndQueued"]


def test_cycle_task_ids_come_from_cycle_due_time_target_and_type() -> None:
    due = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    same_instant = due.astimezone(datetime.now().astimezone().tzinfo)
    key = Task.cycle_key_of("daily", due, "M-1", "read_meter")
    assert Task.id_for(key) == Task.id_for(
        Task.cycle_key_of("daily", same_instant, "M-1", "read_meter")
    )
    assert Task.id_for(key) != Task.id_for(Task.cycle_key_of("daily", due, "M-2", "read_meter"))


def test_unknown_types_and_bad_parameters_are_refused_before_anything_is_recorded() -> None:
    with pytest.raises(InvalidTaskParameters, match="unknown task type"):
        Task.schedule("k", "dance", "M-1", {}, NOW, OLGA)
    with pytest.raises(InvalidTaskParameters, match="what must be one of"):
        scheduled(what="everything")
    with pytest.raises(InvalidTaskParameters, match="colour is not a parameter"):
        scheduled(colour="red")
    with pytest.raises(ValueError, match="timezone-aware"):
        Task.schedule("k", "noop", "M-1", {}, datetime(2026, 1, 1), OLGA)


def test_only_the_current_dispatch_may_start_and_only_once() -> None:
    task = scheduled(NOW)
    task.start(1, "srv-a", "srv-a:1", SYSTEM)
    assert (task.state, task.attempts, task.running_on) == ("running", 1, "srv-a")
    with pytest.raises(TaskStateError, match="cannot start dispatch 1"):
        task.start(1, "srv-b", "srv-b:1", SYSTEM)
    assert not task.may_start(2)


def test_a_failed_attempt_is_retried_after_a_doubling_back_off_until_attempts_run_out() -> None:
    task = running()
    policy = TASK_TYPES["read_meter"].retry
    task.fail_attempt(1, "no answer", NOW, SYSTEM)
    assert (task.state, task.run_at) == ("error", NOW + policy.delay_after(1))
    for dispatch in range(2, policy.max_attempts + 1):
        task.queue(SYSTEM)
        task.start(dispatch, "srv-a", "srv-a:1", SYSTEM)
        task.fail_attempt(dispatch, "no answer", NOW, SYSTEM)
    assert (task.state, task.attempts, task.last_error) == ("failed", 4, "no answer")
    assert task.is_final


def test_a_retry_is_queued_one_priority_class_lower_and_a_first_attempt_is_not() -> None:
    task = running()
    task.fail_attempt(1, "no answer", NOW, SYSTEM)
    task.queue(SYSTEM)
    assert task.queue_name == "bulk.read_meter"
    command = Task.schedule("ad-hoc:2", "command", "M-1", {}, NOW, OLGA, server="srv-a", now=NOW)
    assert command.queue_name == "critical.command@srv-a"
    command.start(1, "srv-a", "srv-a:1", SYSTEM)
    command.interrupt(1, "worker lost", NOW, SYSTEM)
    command.queue(SYSTEM)
    assert command.queue_name == "high.command@srv-a"
    assert command.priority == "critical"  # the type's class; the queue says where it waits


def test_a_failed_task_rescheduled_by_an_operator_runs_at_its_own_priority_again() -> None:
    task = running()
    task.fail_attempt(1, "unknown meter", NOW, SYSTEM, retryable=False)
    task.reschedule(NOW, OLGA)
    task.queue(SYSTEM)
    assert task.queue_name == "normal.read_meter"


def test_a_permanent_error_fails_the_task_at_once() -> None:
    task = running()
    task.fail_attempt(1, "unknown meter", NOW, SYSTEM, retryable=False)
    assert events_of(task)[-1] == "Failed"


def test_the_back_off_doubles_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=9, backoff_seconds=60, max_backoff_seconds=300)
    delays = [policy.delay_after(attempt).total_seconds() for attempt in range(1, 5)]
    assert delays == [60, 120, 240, 300]


def test_an_interrupted_run_is_due_again_at_once() -> None:
    task = running()
    task.interrupt(1, "worker lost", NOW, SYSTEM)
    assert (task.state, task.run_at, task.is_due(NOW)) == ("error", NOW, True)


def test_holding_a_queued_task_makes_its_message_stale_and_releasing_queues_it_anew() -> None:
    task = scheduled(NOW)
    task.hold(OLGA)
    assert task.state == "on_hold" and not task.may_start(1)
    task.release(OLGA)
    assert task.state == "scheduled" and task.is_due(NOW)
    assert task.queue(SYSTEM) == 2
    assert not task.may_start(1) and task.may_start(2)
    assert events_of(task) == ["ScheduledAndQueued", "Held", "Released", "Queued"]


def test_a_running_task_cannot_be_held_edited_or_cancelled() -> None:
    task = running()
    for step in (task.hold, task.cancel):
        with pytest.raises(TaskStateError, match="running"):
            step(OLGA)
    with pytest.raises(TaskStateError, match="running"):
        task.edit(OLGA, parameters={"days": 2})


def test_rescheduling_moves_the_time_a_held_task_stays_held_and_a_failed_one_reruns() -> None:
    task = scheduled()
    task.hold(OLGA)
    task.reschedule(NOW + timedelta(days=1), OLGA)
    assert (task.state, task.due_at) == ("on_hold", NOW + timedelta(days=1))
    failed = running()
    failed.fail_attempt(1, "bad", NOW, SYSTEM, retryable=False)
    failed.reschedule(NOW, OLGA)
    assert (failed.state, failed.attempts, failed.is_due(NOW)) == ("scheduled", 0, True)
    with pytest.raises(TaskStateError, match="cannot reschedule a task that is running"):
        running().reschedule(NOW, OLGA)


def test_editing_records_before_and_after_and_sends_a_queued_task_back_to_scheduled() -> None:
    task = scheduled(NOW, days=1)
    task.edit(OLGA, parameters={"days": 3}, server="srv-b")
    edited = task.collect_events()[-1]
    assert edited.before == {"parameters": {"days": 1}, "server": None}
    assert edited.changes == {"parameters": {"days": 3}, "server": "srv-b"}
    assert task.state == "scheduled"
    assert task.queue(SYSTEM) == 2 and task.queue_name == "normal.read_meter@srv-b"
    with pytest.raises(TaskStateError, match="nothing to change"):
        task.edit(OLGA, parameters={"days": 3})


def test_thread_groups_accept_known_task_types_and_expand_the_wildcard() -> None:
    group = ThreadGroup.of(4, ["*"])
    assert group.accepted == sorted(TASK_TYPES)
    assert ThreadGroup.of(2, ["read_meter", "read_meter"]).task_types == ("read_meter",)
    for threads, types, problem in (
        (0, ["*"], "1 to 256"),
        (2, [], "at least one"),
        (2, ["x"], "unknown"),
    ):
        with pytest.raises(ServerStateError, match=problem):
            ThreadGroup.of(threads, types)
    assert queue_names(["command"], "srv-a") == [
        "critical.command",
        "high.command",  # its retries
        "critical.command@srv-a",
        "high.command@srv-a",
    ]
    assert queue_names(["noop"]) == ["bulk.noop"]  # bulk retries stay in bulk


def test_a_server_stops_and_restarts_as_asked_and_reports_each_step_once() -> None:
    admin = Provenance("ada", "maintenance window", "api")
    server = ProcessingServer.register("srv-a", [{"threads": 4, "task_types": ["*"]}], SYSTEM)
    server.start("srv-a:1", "host", 10, SYSTEM)
    server.stop(admin)
    assert server.confirm_stopped("srv-a:1", SYSTEM)
    assert not server.confirm_stopped("srv-a:1", SYSTEM)
    with pytest.raises(ServerStateError, match="already stopped"):
        server.stop(admin)
    server.restart(admin)
    assert server.confirm_restarted("srv-a:1", SYSTEM)
    assert not server.mark_lost("srv-a:0", "earlier", SYSTEM)  # not its current process
    assert server.mark_lost("srv-a:1", "earlier", SYSTEM)
    assert [type(e).__name__ for e in server.collect_events()] == [
        "Registered",
        "Started",
        "StopRequested",
        "ProcessingStopped",
        "RestartRequested",
        "ProcessingRestarted",
        "Lost",
    ]


def test_a_server_started_while_stopped_by_an_administrator_comes_up_paused() -> None:
    server = ProcessingServer.register("srv-a", [{"threads": 1, "task_types": ["noop"]}], SYSTEM)
    server.stop(Provenance("ada", "hold off", "api"))
    server.start("srv-a:2", "host", 11, SYSTEM)
    assert (server.enabled, server.status) == (False, "paused")
    with pytest.raises(ServerStateError, match="already has these thread groups"):
        server.configure([{"threads": 1, "task_types": ["noop"]}], SYSTEM)


def test_messages_sent_in_bulk_decode_as_the_messages_dramatiq_would_send() -> None:
    from uuid import uuid4

    from dramatiq import Message

    from adapters.queue.broker import _encoded, task_message
    from application.operations import QueuedTask

    item = QueuedTask(uuid4(), 3, "critical.command@srv-a", "critical")
    decoded = Message.decode(_encoded(item, "r-1", 1_700_000_000_000))
    expected = task_message(item)
    assert (decoded.queue_name, decoded.actor_name, decoded.args, decoded.kwargs) == (
        expected.queue_name,
        expected.actor_name,
        expected.args,
        expected.kwargs,
    )
    assert decoded.options == {"redis_message_id": "r-1"}


@pytest.mark.parametrize("due", [NOW, NOW + timedelta(hours=1)], ids=["due", "later"])
def test_a_cycle_slot_makes_each_task_exactly_as_scheduling_it_alone_does(due: datetime) -> None:
    parameters = {"what": "profile", "days": 2}
    targets = ["M1", " M2 "]

    slot = Task.schedule_cycle_slot("WD", due, targets, "read_meter", parameters, SYSTEM, NOW)
    alone = [
        Task.schedule(
            Task.cycle_key_of("WD", due, target, "read_meter"),
            "read_meter",
            target,
            parameters,
            due,
            SYSTEM,
            origin="cycle",
            cycle_key="WD",
            now=NOW,
        )
        for target in targets
    ]

    def event_fields(task: Task) -> tuple[type, dict[str, object]]:
        (event,) = task.pending_events
        return type(event), {k: v for k, v in vars(event).items() if k != "timestamp"}

    assert [event_fields(task) for task in slot] == [event_fields(task) for task in alone]
    assert [(t.id, t.state, t.target, t.queue_name) for t in slot] == [
        (t.id, t.state, t.target, t.queue_name) for t in alone
    ]
    assert slot[0].state == ("queued" if due <= NOW else "scheduled")


def test_a_cycle_slot_refuses_a_blank_target_and_bad_parameters() -> None:
    with pytest.raises(TaskStateError):
        Task.schedule_cycle_slot("WD", NOW, ["M1", " "], "read_meter", {}, SYSTEM, NOW)
    with pytest.raises(InvalidTaskParameters):
        Task.schedule_cycle_slot("WD", NOW, ["M1"], "read_meter", {"colour": 1}, SYSTEM, NOW)
