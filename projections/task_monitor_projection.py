"""Feeds the task monitor from the Operations events, and wires view and runner.

Task events become single-row updates (a 362,000-task cycle makes about a million of
them); processing-server events, rare, are applied by the events themselves to a bare
aggregate in the view.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import case

from adapters.persistence.recorder import to_microseconds
from domain.processing_server import ProcessingServer
from domain.task import Task
from projections.runner import PollingProjectionRunner
from projections.task_monitor import TASKS, TaskMonitorView, retention_from_env

_c = TASKS.c


class TaskMonitorProjection(Projection[TaskMonitorView]):
    name = "task_monitor"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events of other aggregates are not shown here."""

    @process_event.register
    def _scheduled(self, event: Task.Scheduled, tracking: Tracking) -> None:
        at = to_microseconds(event.timestamp)
        queued = event if isinstance(event, Task.ScheduledAndQueued) else None
        self.view.insert_task(
            {
                "task_id": event.originator_id,
                "task_type": event.task_type,
                "target": event.target,
                "priority": event.priority,
                "origin": event.origin,
                "cycle_key": event.cycle_key,
                "status": "queued" if queued is not None else "scheduled",
                "pinned_server": event.server,
                "submitted_by": event.actor,
                "submitted_source": event.source,
                "submitted_at_us": at,
                "due_at_us": to_microseconds(event.due_at),
                "run_at_us": to_microseconds(event.due_at),
                "dispatch": queued.dispatch if queued is not None else 0,
                "queue_name": queued.queue_name if queued is not None else None,
                "queued_at_us": at if queued is not None else None,
                "attempts": 0,
                "attempts_total": 0,
                "errors": 0,
                "max_attempts": event.max_attempts,
                "parameters": event.parameters,
                "version": event.originator_version,
                "updated_at_us": at,
            }
        )

    @process_event.register
    def _queued(self, event: Task.Queued, tracking: Tracking) -> None:
        self.view.update_task(
            event,
            {
                "status": "queued",
                "dispatch": event.dispatch,
                "queue_name": event.queue_name,
                "queued_at_us": to_microseconds(event.timestamp),
            },
        )

    @process_event.register
    def _started(self, event: Task.Started, tracking: Tracking) -> None:
        self.view.update_task(
            event,
            {
                "status": "running",
                "running_on": event.server,
                "instance": event.instance,
                "attempts": event.attempt,
                "attempts_total": _c.attempts_total + 1,
                "started_at_us": to_microseconds(event.timestamp),
            },
        )

    @process_event.register
    def _succeeded(self, event: Task.Succeeded, tracking: Tracking) -> None:
        finished = {"status": "succeeded", "finished_at_us": to_microseconds(event.timestamp)}
        self.view.update_task(event, finished)

    @process_event.register
    def _attempt_failed(self, event: Task.AttemptFailed, tracking: Tracking) -> None:
        self._retry(event, event.error, event.retry_at)

    @process_event.register
    def _interrupted(self, event: Task.Interrupted, tracking: Tracking) -> None:
        self._retry(event, event.error, event.retry_at)

    def _retry(self, event: Task.Event, error: str, retry_at: datetime) -> None:
        values = {
            "status": "error",
            "last_error": error,
            "run_at_us": to_microseconds(retry_at),
            "errors": _c.errors + 1,
        }
        self.view.update_task(event, values)

    @process_event.register
    def _failed(self, event: Task.Failed, tracking: Tracking) -> None:
        values = {
            "status": "failed",
            "last_error": event.error,
            "finished_at_us": to_microseconds(event.timestamp),
        }
        self.view.update_task(event, values)

    @process_event.register
    def _held(self, event: Task.Held, tracking: Tracking) -> None:
        self.view.update_task(event, {"status": "on_hold"})

    @process_event.register
    def _released(self, event: Task.Released, tracking: Tracking) -> None:
        self.view.update_task(event, {"status": "scheduled"})

    @process_event.register
    def _rescheduled(self, event: Task.Rescheduled, tracking: Tracking) -> None:
        due = to_microseconds(event.due_at)
        values = {
            "due_at_us": due,
            "run_at_us": due,
            # Mirrors Task.Rescheduled.apply: a held task stays held; a re-run starts afresh.
            "attempts": case((_c.status == "failed", 0), else_=_c.attempts),
            "finished_at_us": None,
            "status": case((_c.status == "on_hold", "on_hold"), else_="scheduled"),
        }
        self.view.update_task(event, values)

    @process_event.register
    def _edited(self, event: Task.Edited, tracking: Tracking) -> None:
        values: dict[str, Any] = {
            "status": case((_c.status == "queued", "scheduled"), else_=_c.status)
        }
        if "parameters" in event.changes:
            values["parameters"] = event.changes["parameters"]
        if "server" in event.changes:
            values["pinned_server"] = event.changes["server"]
        self.view.update_task(event, values)

    @process_event.register
    def _cancelled(self, event: Task.Cancelled, tracking: Tracking) -> None:
        finished = {"status": "cancelled", "finished_at_us": to_microseconds(event.timestamp)}
        self.view.update_task(event, finished)

    @process_event.register
    def _server_event(self, event: ProcessingServer.Event, tracking: Tracking) -> None:
        self.view.apply_server_event(event)


class TaskMonitor:
    """The task monitor view and the runner that feeds it from the Operations events."""

    def __init__(
        self,
        datastore: SQLAlchemyDatastore,
        operations: Application[Any],
        *,
        batch_size: int = 500,
    ) -> None:
        self.view = TaskMonitorView(datastore)
        self.runner = PollingProjectionRunner(
            operations, TaskMonitorProjection(self.view), batch_size=batch_size
        )

    def catch_up(self) -> int:
        """Processes what was recorded since; left to the runner thread when it runs."""
        if self.runner.is_running:
            return 0
        return self.runner.catch_up()

    def start(self, poll_interval: float = 0.5) -> None:
        self.runner.start(poll_interval)

    def stop(self) -> None:
        self.runner.stop()

    def purge(self, now: datetime, retention: timedelta | None = None) -> int:
        """Drops finished tasks older than the retention (their counts are carried)."""
        return self.view.purge_finished(now - (retention or retention_from_env()))
