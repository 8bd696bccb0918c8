"""One dramatiq actor per priority class; each runs a task by id and records the outcome.

The actor's priority orders the messages a worker has already fetched (critical first);
the separate queues per class keep urgent work from waiting behind a bulk backlog in
Redis. The actor never raises for a task's own failure: outcomes are recorded in the
event store, and dramatiq's retries are off (the task has its own).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from uuid import UUID

import dramatiq
from dramatiq import Broker

from adapters.queue.broker import actor_name
from adapters.queue.handlers import PermanentTaskError, TaskHandlers
from application.operations import Operations
from domain.task_types import PRIORITY_CLASSES, PRIORITY_RANK

_log = logging.getLogger(__name__)


class TaskRunner:
    """Claims the message's dispatch, runs the handler, records what came of it."""

    def __init__(
        self,
        operations: Operations,
        handlers: TaskHandlers,
        server: str,
        instance: str,
    ) -> None:
        self.operations = operations
        self.handlers = handlers
        self.server = server
        self.instance = instance

    def __call__(self, task_id: str, dispatch: int) -> None:
        run = self.operations.start_task(UUID(task_id), int(dispatch), self.server, self.instance)
        if run is None:
            return  # superseded, held, done, or claimed by another worker
        try:
            result = self.handlers.run(run)
        except PermanentTaskError as error:
            reason = str(error)
            self._record(lambda: self.operations.fail_task(run, reason, retryable=False))
        except Exception as error:
            _log.info("task %s attempt %d failed: %s", task_id, run.attempt, error)
            message = f"{type(error).__name__}: {error}"
            self._record(lambda: self.operations.fail_task(run, message))
        else:
            self._record(lambda: self.operations.finish_task(run, result))

    def _record(self, outcome: Callable[[], bool], attempts: int = 5) -> None:
        """Rides out a database blip; a run whose outcome is never recorded stays
        running until its worker is found lost (and is then run again)."""
        for attempt in range(1, attempts + 1):
            try:
                outcome()
                return
            except Exception:
                if attempt == attempts:
                    raise
                _log.warning("could not record an outcome; again in %d s", attempt, exc_info=True)
                time.sleep(attempt)


def declare_actors(broker: Broker, runner: Callable[[str, int], None]) -> None:
    """The four actors on ``broker``: a Redis broker per thread group, or the shared
    in-process one (declared once: a second declaration of a name raises)."""
    for priority in PRIORITY_CLASSES:
        if actor_name(priority) in broker.actors:
            continue
        dramatiq.Actor(
            runner,
            broker=broker,
            actor_name=actor_name(priority),
            queue_name=priority,
            priority=PRIORITY_RANK[priority],
            options={"max_retries": 0},
        )
