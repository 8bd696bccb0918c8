"""How the Operations application records tasks: many per save, messages after commit.

Events, not aggregates, are saved: ``save()`` empties an aggregate's pending events
even when it fails, and a batch that conflicts (one task changed meanwhile) is saved
again in halves. A queue message is sent only after the events that queued its task are
committed, so the store is always the truth; a failed send is the reconciler's to mend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.base import HesApplication
from domain.provenance import Provenance
from domain.task import Task
from domain.task_types import priority_of_queue

_log = logging.getLogger(__name__)
T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

DISPATCHER = Provenance("hes-dispatcher", "task due", "system", reason_code="DUE")
RECONCILER = Provenance(
    "hes-reconciler", "re-queued: the queue had lost it", "system", reason_code="RECONCILE"
)


@dataclass(frozen=True)
class QueuedTask:
    """What a queue message carries: the task and the dispatch a worker may start."""

    task_id: UUID
    dispatch: int
    queue_name: str
    priority: str


class TaskQueue(Protocol):
    def send(self, messages: Sequence[QueuedTask]) -> None: ...


# A task and the events it has not recorded yet (kept: a failed save empties the task's).
Pending = tuple[Task, Sequence[Any]]
# Loads many tasks with one query (an adapter); without one, the repository, one by one.
TaskLoader = Callable[[Sequence[UUID]], Mapping[UUID, Task]]


def pending(tasks: Iterable[Task]) -> list[Pending]:
    return [(task, task.collect_events()) for task in tasks if task.pending_events]


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def worker_provenance(server: str, reason: str) -> Provenance:
    return Provenance(f"hes-worker:{server}", reason, "system")


class TaskRecording(HesApplication):
    task_queue: TaskQueue | None
    task_loader: TaskLoader | None
    clock: Callable[[], datetime]

    def _find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, cls) else None

    def _load_many(self, task_ids: Sequence[UUID]) -> dict[UUID, Task]:
        if self.task_loader is not None:
            return dict(self.task_loader(task_ids))
        found = (self._find(Task, task_id) for task_id in task_ids)
        return {task.id: task for task in found if task is not None}

    def _record_new(self, items: list[Pending]) -> list[Pending]:
        """Records new tasks in one go; when some exist already, only the others."""
        try:
            self._record_events(items)
        except IntegrityError:
            return self._record_each([item for item in items if not self._exists(item[0].id)])
        return items

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, desc=True, limit=1))

    def _record_and_send(self, items: list[Pending]) -> None:
        self._record_events(items)
        self._send(items)

    def _record_each_and_send(self, items: list[Pending]) -> list[Pending]:
        recorded = self._record_each(items)
        self._send(recorded)
        return recorded

    def _record_each(self, items: list[Pending]) -> list[Pending]:
        """Many tasks per save; on a conflict (one changed meanwhile), halves, then one."""
        if not items:
            return []
        try:
            self._record_events(items)
            return items
        except IntegrityError:
            if len(items) == 1:
                return []
        middle = len(items) // 2
        return self._record_each(items[:middle]) + self._record_each(items[middle:])

    def _record_events(self, items: list[Pending]) -> None:
        # Straight to _record(): save() checks each event against a runtime Protocol
        # (~30 us each, a tenth of creating a cycle), and tasks take no snapshots.
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        processing_event.events.extend(event for _, events in items for event in events)
        self._record(processing_event)

    def _send(self, recorded: list[Pending]) -> None:
        """Sends a message for each task the recorded events queued (after the commit)."""
        messages = [
            # A retry's queue is a class below the task type's: its actor is, too.
            QueuedTask(
                task.id, event.dispatch, event.queue_name, priority_of_queue(event.queue_name)
            )
            for task, events in recorded
            for event in events
            if isinstance(event, Task.Queued | Task.ScheduledAndQueued)
        ]
        if not messages or self.task_queue is None:
            return
        try:
            self.task_queue.send(messages)
        except Exception:
            # Recorded as queued already: the reconciler re-sends what the queue lacks.
            _log.exception("could not send %d task messages; the reconciler will", len(messages))
