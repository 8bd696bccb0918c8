"""Operations: tasks from creation to outcome, and the processing servers that run them.

Each public method is one use case. Tasks travel to workers through a ``TaskQueue``
port (dramatiq on Redis, or an in-process broker), sent after the events that queued
them are committed (``task_recording.py``); what workers record is in
``task_runs.py``, processing servers in ``processing_servers.py``.

Cycle tasks are created many per ``save`` (chunks of ``CHUNK``), already queued when
due, with ids derived from their natural key, so a repeated call creates nothing twice.
The dispatcher queues tasks whose time has come; the reconciler re-queues tasks the
queue lost (``requeue``: a new dispatch, which makes any stray old message stale).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.errors import ConcurrentEdit, DuplicateKey, UnknownAggregate
from application.processing_servers import DEFAULT_THREAD_GROUPS, ProcessingServerUseCases
from application.task_recording import (
    DISPATCHER,
    RECONCILER,
    QueuedTask,
    TaskLoader,
    TaskQueue,
    chunks,
    pending,
)
from application.task_runs import Claim, FollowOn, Outcome, TaskRun, TaskRunUseCases
from domain.provenance import Provenance
from domain.task import Task
from domain.task_types import task_type_named

__all__ = [
    "DEFAULT_THREAD_GROUPS",
    "Claim",
    "FollowOn",
    "Operations",
    "Outcome",
    "QueuedTask",
    "TaskLoader",
    "TaskQueue",
    "TaskRun",
]


class Operations(TaskRunUseCases, ProcessingServerUseCases):
    name = "Operations"
    CHUNK = 1000

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        task_queue: TaskQueue | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(dict(env) if env is not None else None)
        self.task_queue = task_queue
        self.clock = clock or (lambda: datetime.now(UTC))
        # Ports a worker fills in: bulk loading, and whether a worker instance still lives.
        self.task_loader = None
        self.is_alive = lambda instance: True
        self.follow_on = None
        self._claims = None
        self._outcomes = None
        self._claimed = {}

    # -- creating tasks ---------------------------------------------------------------

    def create_task(
        self,
        task_type: str,
        target: str,
        parameters: Mapping[str, Any],
        due_at: datetime,
        provenance: Provenance,
        *,
        server: str | None = None,
        request_key: str | None = None,
    ) -> UUID:
        """An ad-hoc task; queued at once when due. Idempotent by ``request_key``."""
        if server is not None:
            self.server(server)  # a task pinned to an unknown server would never run
        natural_key = f"ad-hoc:{request_key or uuid4().hex}"
        task = Task.schedule(
            natural_key,
            task_type,
            target,
            parameters,
            due_at,
            provenance,
            server=server,
            now=self.clock(),
        )
        existing = self._find(Task, task.id)
        if existing is not None:
            if (existing.task_type, existing.target) != (task.task_type, task.target):
                raise DuplicateKey("task request", request_key or natural_key)
            return existing.id
        try:
            self._record_and_send(pending([task]))
        except IntegrityError:
            if self._find(Task, task.id) is None:  # else the same request, just recorded
                raise
        return task.id

    def create_cycle_tasks(
        self,
        cycle_key: str,
        due_at: datetime,
        targets: Sequence[str],
        task_type: str,
        parameters: Mapping[str, Any],
        provenance: Provenance,
    ) -> int:
        """The tasks of one cycle slot; returns how many were new (a repeat creates none)."""
        task_type_named(task_type).checked(parameters)  # refuse before creating anything
        now = self.clock()
        created = 0
        # Messages of one chunk go to the queue while the next chunk is saved; all are
        # sent (or logged as failed, for the reconciler) when this returns.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="task-sender") as sender:
            for chunk in chunks(list(dict.fromkeys(targets)), self.CHUNK):
                tasks = Task.schedule_cycle_slot(
                    cycle_key, due_at, chunk, task_type, parameters, provenance, now
                )
                recorded = self._record_new(pending(tasks))
                sender.submit(self._send, recorded)
                created += len(recorded)
        return created

    # -- the dispatcher and the reconciler --------------------------------------------

    def dispatch(self, task_ids: Iterable[UUID], now: datetime | None = None) -> int:
        """Queues those of ``task_ids`` that are due (the others are left as they are)."""
        moment = now or self.clock()
        queued = 0
        for chunk in chunks(list(task_ids), self.CHUNK):
            due = [task for task in self._load_many(chunk).values() if task.is_due(moment)]
            for task in due:
                task.queue(DISPATCHER)
            queued += len(self._record_each_and_send(pending(due)))
        return queued

    def requeue(self, task_ids: Iterable[UUID]) -> int:
        """Re-sends tasks the store says are queued and the queue lost: a new dispatch."""
        requeued = 0
        for chunk in chunks(list(task_ids), self.CHUNK):
            lost = [task for task in self._load_many(chunk).values() if task.state == "queued"]
            for task in lost:
                task.queue(RECONCILER)
            requeued += len(self._record_each_and_send(pending(lost)))
        return requeued

    # -- what operators do --------------------------------------------------------------

    def hold_task(self, task_id: UUID, provenance: Provenance) -> Task:
        return self._change_task(task_id, lambda task: task.hold(provenance))

    def release_task(self, task_id: UUID, provenance: Provenance) -> Task:
        return self._change_task(task_id, lambda task: task.release(provenance))

    def reschedule_task(self, task_id: UUID, due_at: datetime, provenance: Provenance) -> Task:
        return self._change_task(task_id, lambda task: task.reschedule(due_at, provenance))

    def cancel_task(self, task_id: UUID, provenance: Provenance) -> Task:
        return self._change_task(task_id, lambda task: task.cancel(provenance))

    def edit_task(
        self,
        task_id: UUID,
        provenance: Provenance,
        *,
        parameters: Mapping[str, Any] | None = None,
        server: str | None = None,
        unpin: bool = False,
        expected_version: int | None = None,
    ) -> Task:
        """New parameters, or another (or no) processing server, before the task runs."""
        if server is not None:
            self.server(server)

        def edit(task: Task) -> None:
            task.edit(provenance, parameters=parameters, server=server, unpin=unpin)

        return self._change_task(task_id, edit, expected_version)

    def task(self, task_id: UUID, as_of: datetime | None = None) -> Task:
        try:
            found = self.get_as_of(task_id, as_of)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, Task):
            raise UnknownAggregate("task", str(task_id), as_of)
        return found

    def _change_task(
        self, task_id: UUID, command: Callable[[Task], None], expected: int | None = None
    ) -> Task:
        task = self.task(task_id)
        if expected is not None and task.version != expected:
            raise ConcurrentEdit(
                "task", str(task_id), f" (you edited version {expected}, it is now {task.version})"
            )
        command(task)
        if task.is_due(self.clock()):
            task.queue(DISPATCHER)  # released, rescheduled or edited into the past: run now
        try:
            self._record_and_send(pending([task]))
        except IntegrityError:
            raise ConcurrentEdit("task", str(task_id)) from None
        return task
