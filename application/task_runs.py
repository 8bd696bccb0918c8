"""What workers record: claiming a task's dispatch, and what came of the run.

``start_task`` records ``Started`` for a dispatch at most once: a second worker's save
conflicts on the aggregate version, so a re-delivered message is harmless. A claim
for a run whose worker has died (``is_alive`` says no) recovers the task instead: the
lost attempt is recorded as interrupted and the task queued again. With group commit,
the claims and outcomes of a worker's threads are loaded with one query and saved in
one transaction (see ``group_commit.py``). When a cycle task succeeds, the next task of
its cycle's chain (``follow_on``, the Scheduling application) is created in the same
save.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.errors import ConcurrentEdit
from application.group_commit import Batcher
from application.task_recording import DISPATCHER, TaskRecording, pending, worker_provenance
from domain.provenance import Provenance
from domain.task import Task

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskRun:
    """One attempt a worker has claimed; handlers key their side effects on it."""

    task_id: UUID
    dispatch: int
    attempt: int
    task_type: str
    target: str
    parameters: dict[str, Any]
    server: str
    instance: str

    @property
    def idempotency_key(self) -> str:
        return f"{self.task_id}:{self.dispatch}"


@dataclass(frozen=True)
class Claim:
    """A worker asks to start ``dispatch`` of a task."""

    task_id: UUID
    dispatch: int
    server: str
    instance: str


@dataclass(frozen=True)
class Outcome:
    """What came of a run: a result, or an error (retried after back-off if retryable)."""

    run: TaskRun
    result: dict[str, Any] | None
    error: str | None = None
    retryable: bool = True

    @property
    def key(self) -> tuple[UUID, int]:
        return (self.run.task_id, self.run.dispatch)


class FollowOn(Protocol):
    def follow_on(
        self, cycle_key: str, due_at: datetime, completed: str
    ) -> tuple[str, dict[str, Any]] | None:
        """The task type (and parameters) a cycle runs after ``completed``, or None."""
        ...


class TaskRunUseCases(TaskRecording):
    # Ports a worker fills in: whether a worker instance still lives (its heartbeat),
    # and the cycles' workflow chains (read_meter -> validate -> estimate -> export).
    is_alive: Callable[[str], bool]
    follow_on: FollowOn | None
    _claims: Batcher[Claim, TaskRun | None] | None
    _outcomes: Batcher[Outcome, bool] | None
    _claimed: dict[tuple[UUID, int], Task]

    def use_group_commit(self) -> None:
        """Workers: claims and outcomes of concurrent threads, loaded and saved together."""
        if self._claims is None:
            self._claims = Batcher(self.start_tasks, name="operations-claims")
            self._outcomes = Batcher(self.record_outcomes, name="operations-outcomes")

    def start_task(
        self, task_id: UUID, dispatch: int, server: str, instance: str
    ) -> TaskRun | None:
        """Claims ``dispatch`` of the task for this worker; None when it is not to be run."""
        claim = Claim(task_id, dispatch, server, instance)
        if self._claims is not None:
            return self._claims.submit(claim)
        return self.start_tasks([claim])[0]

    def start_tasks(self, claims: Sequence[Claim]) -> list[TaskRun | None]:
        """Claims many dispatches with one load and one save."""
        tasks = self._load_many(list({claim.task_id for claim in claims}))
        started: dict[int, tuple[Claim, Task]] = {}
        orphans: dict[UUID, tuple[Task, int]] = {}
        for index, claim in enumerate(claims):
            task = tasks.get(claim.task_id)
            if task is None:
                continue
            if task.is_running(claim.dispatch) and task.instance != claim.instance:
                if task.id not in orphans and not self.is_alive(task.instance):
                    orphans[task.id] = (task, claim.dispatch)
                continue
            if task.may_start(claim.dispatch):  # else superseded, held, done: dropped
                provenance = worker_provenance(claim.server, "task started")
                task.start(claim.dispatch, claim.server, claim.instance, provenance)
                started[index] = (claim, task)
        claimed = self._record_each(pending(task for _, task in started.values()))
        recorded = {id(task) for task, _ in claimed}
        answers: list[TaskRun | None] = [None] * len(claims)
        for index, (claim, task) in started.items():
            if id(task) in recorded:  # else another worker claimed this dispatch first
                self._claimed[(task.id, claim.dispatch)] = task
                answers[index] = _run_of(task, claim)
        for task, dispatch in orphans.values():
            self._recover(task, dispatch, f"worker {task.instance} was lost")
        return answers

    def finish_task(self, run: TaskRun, result: Mapping[str, Any]) -> bool:
        """Records success; False when the run was superseded meanwhile (nothing recorded)."""
        return self._record_outcome(Outcome(run, dict(result)))

    def fail_task(self, run: TaskRun, error: str, *, retryable: bool = True) -> bool:
        """Records a failed attempt: a retry after the back-off, or the task's failure."""
        return self._record_outcome(Outcome(run, None, error[:2000], retryable))

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """Outcomes of many runs in one save; the claimed tasks are still in memory."""
        missing = [o.run.task_id for o in outcomes if o.key not in self._claimed]
        loaded = self._load_many(missing) if missing else {}
        applied: dict[int, Task] = {}
        for index, outcome in enumerate(outcomes):
            task = self._claimed.pop(outcome.key, None) or loaded.get(outcome.run.task_id)
            if task is not None and task.is_running(outcome.run.dispatch):
                self._apply(outcome, task)
                applied[index] = task
            else:
                _log.warning("outcome of %s dropped: the run was superseded", outcome.key)
        items = pending(applied.values())
        items += pending(self._follow_ons([(outcomes[i], task) for i, task in applied.items()]))
        recorded = {id(task) for task, _ in self._record_each_and_send(items)}
        return [
            index in applied
            and (id(applied[index]) in recorded or self._record_outcome_again(outcome))
            for index, outcome in enumerate(outcomes)
        ]

    def close(self) -> None:
        for batcher in (self._claims, self._outcomes):
            if batcher is not None:
                batcher.close()
        super().close()

    def recover_lost_runs(self, runs: Iterable[tuple[UUID, int]], reason: str) -> int:
        """Interrupts and re-queues runs whose worker is gone (lost, or stopped too late)."""
        recovered = 0
        for task_id, dispatch in runs:
            task = self._find(Task, task_id)
            if task is not None and task.is_running(dispatch):
                recovered += self._recover(task, dispatch, reason)
        return recovered

    # -- internals ----------------------------------------------------------------------

    def _recover(self, task: Task, dispatch: int, reason: str) -> int:
        task.interrupt(dispatch, reason, self.clock(), DISPATCHER)
        if task.is_due(self.clock()):
            task.queue(DISPATCHER)
        return len(self._record_each_and_send(pending([task])))

    def _record_outcome(self, outcome: Outcome) -> bool:
        if self._outcomes is not None:
            return self._outcomes.submit(outcome)
        return self.record_outcomes([outcome])[0]

    def _record_outcome_again(self, outcome: Outcome) -> bool:
        """The task changed since it was claimed (an operator, a recovery): look again."""
        for _ in range(3):
            task = self._find(Task, outcome.run.task_id)
            if task is None or not task.is_running(outcome.run.dispatch):
                _log.warning("outcome of %s dropped: the run was superseded", outcome.key)
                return False
            self._apply(outcome, task)
            if self._record_each_and_send(pending([task])):
                return True
        raise ConcurrentEdit("task", str(outcome.run.task_id))

    def _follow_ons(self, done: Sequence[tuple[Outcome, Task]]) -> list[Task]:
        """The next tasks of the cycles' chains, saved with the successes they follow (a
        crash between the two cannot lose one; a repeat conflicts and is left out)."""
        if self.follow_on is None:
            return []
        chains: dict[tuple[str, datetime, str], tuple[str, dict[str, Any]] | None] = {}
        following: list[Task] = []
        for outcome, task in done:
            result = outcome.result or {}
            if not task.cycle_key or outcome.error is not None:
                continue
            if result.get("follow_on") is False:
                continue  # the handler stopped the chain: a person must decide
            step = (task.cycle_key, task.due_at, task.task_type)
            if step not in chains:
                try:
                    chains[step] = self.follow_on.follow_on(*step)
                except Exception:
                    # The outcomes of the whole batch must still be recorded.
                    _log.exception("no follow-on for %s of cycle %s", task.task_type, step[0])
                    chains[step] = None
            found = chains[step]
            if found is None:
                continue
            next_type, parameters = found
            why = Provenance(
                "hes-workflow",
                f"follows {task.task_type} in cycle {task.cycle_key}",
                "system",
                reason_code="FOLLOW_ON",
            )
            following.append(
                Task.schedule(
                    Task.cycle_key_of(task.cycle_key, task.due_at, task.target, next_type),
                    next_type,
                    task.target,
                    parameters,
                    task.due_at,
                    why,
                    origin="cycle",
                    cycle_key=task.cycle_key,
                    now=self.clock(),
                )
            )
        return following

    def _apply(self, outcome: Outcome, task: Task) -> None:
        run = outcome.run
        if outcome.error is None:
            provenance = worker_provenance(run.server, "task done")
            task.succeed(run.dispatch, outcome.result or {}, provenance)
            return
        now = self.clock()
        provenance = worker_provenance(run.server, "attempt failed")
        task.fail_attempt(run.dispatch, outcome.error, now, provenance, retryable=outcome.retryable)
        if task.is_due(now):
            task.queue(DISPATCHER)  # no back-off: at once


def _run_of(task: Task, claim: Claim) -> TaskRun:
    return TaskRun(
        task.id,
        claim.dispatch,
        task.attempts,
        task.task_type,
        task.target,
        dict(task.parameters),
        claim.server,
        claim.instance,
    )
