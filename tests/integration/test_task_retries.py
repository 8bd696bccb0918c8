"""Retries with back-off and lowered priority, recorded in the event store (SQLite and
PostgreSQL): a failed read is queued again after its back-off, one priority class
lower, and its message goes to that class's queue and actor."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from adapters.persistence.store import StoreLocation
from adapters.queue.broker import task_message
from application.operations import Operations, QueuedTask
from domain.provenance import Provenance
from domain.task_types import TASK_TYPES

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
OLGA = Provenance("olga", "read it now", "api")


class SentMessages:
    def __init__(self) -> None:
        self.sent: list[QueuedTask] = []

    def send(self, messages: Sequence[QueuedTask]) -> None:
        self.sent.extend(messages)


@pytest.fixture
def operations(store: StoreLocation) -> Iterator[tuple[Operations, SentMessages, list[datetime]]]:
    clock, queue = [T0], SentMessages()
    found = Operations(env=store.application_env(), task_queue=queue, clock=lambda: clock[0])
    yield found, queue, clock
    found.close()


def test_a_failed_read_is_retried_after_its_back_off_on_the_lower_priority_queue(
    operations: tuple[Operations, SentMessages, list[datetime]],
) -> None:
    ops, queue, clock = operations
    task_id = ops.create_task("read_meter", "M-1", {"days": 1}, T0, OLGA)
    first = queue.sent[-1]
    run = ops.start_task(task_id, first.dispatch, "srv-a", "srv-a:1")
    assert run is not None
    ops.fail_task(run, "MeterTimeout: no answer within 10 s")
    backoff = TASK_TYPES["read_meter"].retry.delay_after(1)

    assert ops.dispatch([task_id], T0 + backoff - timedelta(seconds=1)) == 0  # not yet
    clock[0] = T0 + backoff
    assert ops.dispatch([task_id], clock[0]) == 1

    retry = queue.sent[-1]
    assert (first.queue_name, first.priority) == ("normal.read_meter", "normal")
    assert (retry.dispatch, retry.queue_name, retry.priority) == (2, "bulk.read_meter", "bulk")
    assert task_message(retry).actor_name == "hes_run_task_bulk"
    assert ops.task(task_id).priority == "normal"  # the task type's class is unchanged
    second = ops.start_task(task_id, retry.dispatch, "srv-a", "srv-a:1")
    assert second is not None and second.attempt == 2
