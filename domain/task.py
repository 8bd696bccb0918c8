"""Task: one run of a task type for one target, from scheduled to its outcome.

scheduled -> queued -> running -> succeeded | error (a retry is due) | failed (no more);
an operator may hold (and release), reschedule, edit or cancel a task that is not
running. Each time a task is queued it gets a new dispatch number, and the message on
the queue carries it: a worker may start only the task's current dispatch, and only
once (two workers recording ``Started`` for one version conflict in the event store),
so re-delivered or superseded messages are recognised and dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.provenance import Provenance
from domain.task_types import task_type_named

TASKS_NAMESPACE = UUID("8d3c6a52-0f4e-5b71-a9c2-3e5d7f1b2a64")

STATES = ("scheduled", "queued", "running", "on_hold", "succeeded", "error", "failed", "cancelled")
FINAL_STATES = ("succeeded", "failed", "cancelled")
# Waiting for their time (scheduled) or for their retry (error): the dispatcher's work.
WAITING_STATES = ("scheduled", "error")
HOLDABLE = ("scheduled", "queued", "error")
CHANGEABLE = ("scheduled", "queued", "error", "on_hold")


class TaskStateError(ValueError):
    """A step that the task's current state does not allow."""


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("task times must be timezone-aware")
    return moment.astimezone(UTC)


class Task(Aggregate):
    TOPIC = "hes.operations.Task"

    if TYPE_CHECKING:
        task_type: str
        target: str
        parameters: dict[str, Any]
        priority: str
        origin: str
        cycle_key: str
        server: str | None
        due_at: datetime
        run_at: datetime
        state: str
        held_from: str
        dispatches: int
        queue_name: str
        attempts: int
        max_attempts: int
        running_on: str
        instance: str
        last_error: str
        result: dict[str, Any]

    class Event(Aggregate.Event):
        TOPIC = "hes.operations.Task.Event"  # abstract
        actor: str
        reason: str
        reason_code: str
        source: str

    class Created(Aggregate.Created):
        TOPIC = "hes.operations.Task.Created"  # unused generic creation event

    class Scheduled(Event, Aggregate.Created):
        """A task was planned to run at ``due_at`` (by a cycle or by a person)."""

        TOPIC = "hes.operations.Task.Scheduled"
        task_type: str
        target: str
        parameters: dict[str, Any]
        priority: str
        origin: str
        cycle_key: str
        server: str | None
        due_at: datetime
        max_attempts: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.__dict__.update(
                task_type=self.task_type,
                target=self.target,
                parameters=dict(self.parameters),
                priority=self.priority,
                origin=self.origin,
                cycle_key=self.cycle_key,
                server=self.server,
                due_at=self.due_at,
                run_at=self.due_at,
                state="scheduled",
                held_from="",
                dispatches=0,
                queue_name="",
                attempts=0,
                max_attempts=self.max_attempts,
                running_on="",
                instance="",
                last_error="",
                result={},
            )

    class ScheduledAndQueued(Scheduled):
        """A task was planned for a time already come, and put on its queue at once.

        One event instead of Scheduled + Queued: a cycle creates hundreds of thousands
        of tasks when they fall due, and each event costs a row.
        """

        TOPIC = "hes.operations.Task.ScheduledAndQueued"
        dispatch: int
        queue_name: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            super().apply(aggregate)
            aggregate.state = "queued"
            aggregate.dispatches = self.dispatch
            aggregate.queue_name = self.queue_name

    class Queued(Event):
        """The task was put on a queue; a worker may start this dispatch, once."""

        TOPIC = "hes.operations.Task.Queued"
        dispatch: int
        queue_name: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.state = "queued"
            aggregate.dispatches = self.dispatch
            aggregate.queue_name = self.queue_name

    class Started(Event):
        """A worker thread of a processing server began an attempt."""

        TOPIC = "hes.operations.Task.Started"
        dispatch: int
        attempt: int
        server: str
        instance: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.state = "running"
            aggregate.attempts = self.attempt
            aggregate.running_on = self.server
            aggregate.instance = self.instance

    class Succeeded(Event):
        TOPIC = "hes.operations.Task.Succeeded"
        dispatch: int
        result: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.state = "succeeded"
            aggregate.result = dict(self.result)

    class AttemptFailed(Event):
        """An attempt failed; another is due at ``retry_at``."""

        TOPIC = "hes.operations.Task.AttemptFailed"
        dispatch: int
        error: str
        retry_at: datetime

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.state = "error"
            aggregate.last_error = self.error
            aggregate.run_at = self.retry_at

    class Interrupted(Event):
        """The attempt was cut short (its worker was lost or stopped); retried at once."""

        TOPIC = "hes.operations.Task.Interrupted"
        dispatch: int
        error: str
        retry_at: datetime

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.state = "error"
            aggregate.last_error = self.error
            aggregate.run_at = self.retry_at

    class Failed(Event):
        """The task gave up: its last attempt failed and no retry is left (or allowed)."""

        TOPIC = "hes.operations.Task.Failed"
        dispatch: int
        error: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.state = "failed"
            aggregate.last_error = self.error

    class Held(Event):
        """An operator held the task: it is not queued until released."""

        TOPIC = "hes.operations.Task.Held"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.held_from = aggregate.state
            aggregate.state = "on_hold"

    class Released(Event):
        """The hold was lifted; the task waits for its time again."""

        TOPIC = "hes.operations.Task.Released"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.state = "scheduled"
            aggregate.held_from = ""

    class Rescheduled(Event):
        """The task was moved to run at ``due_at`` (a held task stays held)."""

        TOPIC = "hes.operations.Task.Rescheduled"
        due_at: datetime
        before: datetime

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.due_at = aggregate.run_at = self.due_at
            if aggregate.state == "on_hold":
                aggregate.held_from = "scheduled"
            else:
                if aggregate.state == "failed":
                    aggregate.attempts = 0  # a re-run gets its full retry budget
                aggregate.state = "scheduled"

    class Edited(Event):
        """Parameters or the processing server were changed before the task ran."""

        TOPIC = "hes.operations.Task.Edited"
        changes: dict[str, Any]
        before: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            if "parameters" in self.changes:
                aggregate.parameters = dict(self.changes["parameters"])
            if "server" in self.changes:
                aggregate.server = self.changes["server"]
            if aggregate.state == "queued":
                aggregate.state = "scheduled"  # queued again, with what was edited

    class Cancelled(Event):
        TOPIC = "hes.operations.Task.Cancelled"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Task)
            aggregate.state = "cancelled"

    # -- identity -------------------------------------------------------------------

    @staticmethod
    def id_for(natural_key: str) -> UUID:
        return uuid5(TASKS_NAMESPACE, natural_key)

    @classmethod
    def cycle_key_of(cls, cycle_key: str, due_at: datetime, target: str, type_name: str) -> str:
        return f"cycle:{cycle_key}:{utc(due_at).isoformat()}:{target}:{type_name}"

    # -- commands -------------------------------------------------------------------

    @classmethod
    def schedule(
        cls,
        natural_key: str,
        type_name: str,
        target: str,
        parameters: Mapping[str, Any],
        due_at: datetime,
        provenance: Provenance,
        *,
        origin: str = "ad_hoc",
        cycle_key: str = "",
        server: str | None = None,
        now: datetime | None = None,
    ) -> Task:
        """Plans the task; when ``now`` is given and the task is due, it is queued too."""
        kind = task_type_named(type_name)
        if not target.strip():
            raise TaskStateError("a task needs a target (a meter serial, a channel, 'system')")
        queued: dict[str, Any] = {}
        if now is not None and utc(due_at) <= utc(now):
            queued = {"dispatch": 1, "queue_name": kind.queue_name(server or None)}
        return cls._create(
            cls.ScheduledAndQueued if queued else cls.Scheduled,
            id=cls.id_for(natural_key),
            task_type=kind.name,
            target=target.strip(),
            parameters=kind.checked(parameters),
            priority=kind.priority,
            origin=origin,
            cycle_key=cycle_key,
            server=server or None,
            due_at=utc(due_at),
            max_attempts=kind.retry.max_attempts,
            **queued,
            **provenance.as_event_fields(),
        )

    @classmethod
    def schedule_cycle_slot(
        cls,
        cycle_key: str,
        due_at: datetime,
        targets: Sequence[str],
        type_name: str,
        parameters: Mapping[str, Any],
        provenance: Provenance,
        now: datetime,
    ) -> list[Task]:
        """The tasks of one due time of a cycle, one per target, each exactly as
        ``schedule`` makes it; what they share is worked out once (a cycle of 362,000
        meters makes as many tasks while its collection window runs)."""
        kind = task_type_named(type_name)
        due = utc(due_at)
        queued: dict[str, Any] = {}
        if due <= utc(now):
            queued = {"dispatch": 1, "queue_name": kind.queue_name(None)}
        event_class = cls.ScheduledAndQueued if queued else cls.Scheduled
        shared = {
            "originator_topic": cls.TOPIC,  # what the library registered the class as
            "originator_version": cls.INITIAL_VERSION,
            "task_type": kind.name,
            "parameters": kind.checked(parameters),
            "priority": kind.priority,
            "origin": "cycle",
            "cycle_key": cycle_key,
            "server": None,
            "due_at": due,
            "max_attempts": kind.retry.max_attempts,
            **queued,
            **provenance.as_event_fields(),
        }
        key_prefix = cls.cycle_key_of(cycle_key, due, "", "").removesuffix("::")
        tasks: list[Task] = []
        for target in targets:
            if not target.strip():
                raise TaskStateError("a task needs a target (a meter serial, a channel, 'system')")
            event = event_class(  # type: ignore[call-arg]
                originator_id=cls.id_for(f"{key_prefix}:{target}:{kind.name}"),
                timestamp=event_class.create_timestamp(),
                target=target.strip(),
                **shared,
            )
            task = event.mutate(None)
            assert isinstance(task, Task)
            task.pending_events.append(event)
            tasks.append(task)
        return tasks

    def queue(self, provenance: Provenance) -> int:
        """Puts the task on its queue with a new dispatch number (also re-queues one);
        after a first attempt, on the queue of retries, a priority class lower."""
        self._expect(("scheduled", "error", "queued"), "queue")
        dispatch = self.dispatches + 1
        name = task_type_named(self.task_type).queue_name(self.server, retry=self.attempts > 0)
        self.trigger_event(
            self.Queued, dispatch=dispatch, queue_name=name, **provenance.as_event_fields()
        )
        return dispatch

    def start(self, dispatch: int, server: str, instance: str, provenance: Provenance) -> None:
        if not self.may_start(dispatch):
            raise TaskStateError(
                f"cannot start dispatch {dispatch} of a task that is {self.state} "
                f"at dispatch {self.dispatches}"
            )
        self.trigger_event(
            self.Started,
            dispatch=dispatch,
            attempt=self.attempts + 1,
            server=server,
            instance=instance,
            **provenance.as_event_fields(),
        )

    def succeed(self, dispatch: int, result: Mapping[str, Any], provenance: Provenance) -> None:
        self._expect_running(dispatch, "record the success of")
        self.trigger_event(
            self.Succeeded, dispatch=dispatch, result=dict(result), **provenance.as_event_fields()
        )

    def fail_attempt(
        self,
        dispatch: int,
        error: str,
        now: datetime,
        provenance: Provenance,
        *,
        retryable: bool = True,
    ) -> None:
        """Schedules a retry after the back-off, or fails the task when none is left."""
        self._expect_running(dispatch, "record the failure of")
        if retryable and self.attempts < self.max_attempts:
            retry_at = utc(now) + task_type_named(self.task_type).retry.delay_after(self.attempts)
            self.trigger_event(
                self.AttemptFailed,
                dispatch=dispatch,
                error=error,
                retry_at=retry_at,
                **provenance.as_event_fields(),
            )
        else:
            self.trigger_event(
                self.Failed, dispatch=dispatch, error=error, **provenance.as_event_fields()
            )

    def interrupt(self, dispatch: int, error: str, now: datetime, provenance: Provenance) -> None:
        """Its worker is gone: retried at once (a crash loop still ends at max attempts)."""
        self._expect_running(dispatch, "interrupt")
        if self.attempts < self.max_attempts:
            self.trigger_event(
                self.Interrupted,
                dispatch=dispatch,
                error=error,
                retry_at=utc(now),
                **provenance.as_event_fields(),
            )
        else:
            self.trigger_event(
                self.Failed, dispatch=dispatch, error=error, **provenance.as_event_fields()
            )

    def hold(self, provenance: Provenance) -> None:
        self._expect(HOLDABLE, "hold")
        self.trigger_event(self.Held, **provenance.as_event_fields())

    def release(self, provenance: Provenance) -> None:
        self._expect(("on_hold",), "release")
        self.trigger_event(self.Released, **provenance.as_event_fields())

    def reschedule(self, due_at: datetime, provenance: Provenance) -> None:
        self._expect((*CHANGEABLE, "failed"), "reschedule")
        self.trigger_event(
            self.Rescheduled,
            due_at=utc(due_at),
            before=self.due_at,
            **provenance.as_event_fields(),
        )

    def edit(
        self,
        provenance: Provenance,
        *,
        parameters: Mapping[str, Any] | None = None,
        server: str | None = None,
        unpin: bool = False,
    ) -> None:
        self._expect(CHANGEABLE, "edit")
        changes: dict[str, Any] = {}
        if parameters is not None:
            changes["parameters"] = task_type_named(self.task_type).checked(parameters)
        if server is not None or unpin:
            changes["server"] = None if unpin else server
        changes = {name: value for name, value in changes.items() if getattr(self, name) != value}
        if not changes:
            raise TaskStateError("nothing to change: the task already has these values")
        before = {name: getattr(self, name) for name in changes}
        self.trigger_event(
            self.Edited, changes=changes, before=before, **provenance.as_event_fields()
        )

    def cancel(self, provenance: Provenance) -> None:
        self._expect(CHANGEABLE, "cancel")
        self.trigger_event(self.Cancelled, **provenance.as_event_fields())

    # -- queries --------------------------------------------------------------------

    def may_start(self, dispatch: int) -> bool:
        return self.state == "queued" and dispatch == self.dispatches

    def is_running(self, dispatch: int) -> bool:
        return self.state == "running" and dispatch == self.dispatches

    def is_due(self, now: datetime) -> bool:
        return self.state in WAITING_STATES and self.run_at <= utc(now)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    # -- guards ---------------------------------------------------------------------

    def _expect(self, states: tuple[str, ...], step: str) -> None:
        if self.state not in states:
            raise TaskStateError(f"cannot {step} a task that is {self.state.replace('_', ' ')}")

    def _expect_running(self, dispatch: int, step: str) -> None:
        if not self.is_running(dispatch):
            raise TaskStateError(
                f"cannot {step} dispatch {dispatch}: the task is {self.state} "
                f"at dispatch {self.dispatches}"
            )
