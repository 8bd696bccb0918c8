"""Handlers of the workflow chain (validate, estimate, export, aggregate), of device work
(time_sync, command) and of reports, registered together by ``register_chain_handlers``.

Thin adapters: each finds what its task is about (the period the cycle read, or the
command to send), calls the use case (``application/workflow/steps.py``, the HeadEnd)
and says whether a failure is worth a retry. Each is idempotent: the workflow steps do
only what is not done yet, and a device command is keyed on the run (task + dispatch),
so a re-delivered message finds the same ``DeviceCommand`` and its recorded outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from adapters.queue.handlers import PermanentTaskError, TaskHandlers
from adapters.scheduling_sources import scheduling_of
from application.errors import ConcurrentEdit, DuplicateKey, UnknownAggregate
from application.head_end import HeadEnd, MeterCommandPort
from application.operations import TaskRun
from application.vee_workflow import VeeWorkflow
from application.workflow.aggregation import ACTOR as AGGREGATE_ACTOR
from application.workflow.aggregation import Aggregation, CannotAggregate
from application.workflow.period import InvalidPeriod, Period, TaskLookup, period_of_task
from application.workflow.review import PeriodReview
from application.workflow.steps import DEFAULT_REVISIT_DAYS, WorkflowSteps
from domain.channel_day import ChannelDay
from domain.provenance import Provenance
from domain.task import Task

COMMAND_TIMEOUT_SECONDS = 300.0


class DirectoryMeterChannels:
    """The metered channels of a meter, from the meter directory (a read model)."""

    def __init__(self, read_models: Any, registry: Any) -> None:
        self.read_models = read_models
        self.registry = registry

    def metered_channels(self, serial: str) -> list[str] | None:
        if not self.registry.exists("meter", serial):
            return None
        self.read_models.catch_up()
        channels = self.read_models.directory.channels_of_meter(serial)
        return [str(c["channel_key"]) for c in channels if c.get("kind") == "metered"]


class ChangedDays:
    """Days to export again: recorded channel days whose latest version is above the one
    billing has. Versions come from the Readings' recorded-time index (current, no
    projection in between), exported ones from the ``billing_exports`` read model."""

    def __init__(self, readings: Any, read_models: Any) -> None:
        self.readings = readings
        self.read_models = read_models

    def days_to_export(self, channel_id: UUID, first: date, last: date) -> list[date]:
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        ids = {ChannelDay.id_for(channel_id, day): day for day in days}
        index = self.readings.recorder.recorded_times
        query = (
            select(index.c.originator_id, func.max(index.c.originator_version))
            .where(index.c.originator_id.in_(list(ids)))
            .group_by(index.c.originator_id)
        )
        with self.readings.recorder.datastore.transaction(commit=False) as session:
            recorded = {ids[day_id]: int(version) for day_id, version in session.execute(query)}
        self.read_models.catch_up()
        exported = self.read_models.billing_exports.exported_versions(channel_id, first, last)
        return sorted(day for day, version in recorded.items() if version > exported.get(day, 0))


class ChainSteps:
    """``validate``, ``estimate`` and ``export`` of a meter (or a channel) over the
    period its cycle read; the result's ``follow_on`` stops the chain for a person."""

    def __init__(
        self,
        steps: WorkflowSteps,
        tasks: TaskLookup,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.steps = steps
        self.tasks = tasks
        self.clock = clock

    def validate(self, run: TaskRun) -> dict[str, Any]:
        return self._run(run, lambda task, period: self.steps.validate(run.target, period))

    def estimate(self, run: TaskRun) -> dict[str, Any]:
        return self._run(run, lambda task, period: self.steps.estimate(run.target, period))

    def export(self, run: TaskRun) -> dict[str, Any]:
        revisit = run.parameters.get("revisit_days", DEFAULT_REVISIT_DAYS)
        if isinstance(revisit, bool) or not isinstance(revisit, int) or not 0 <= revisit <= 62:
            raise PermanentTaskError("revisit_days must be a whole number from 0 to 62")
        return self._run(
            run,
            lambda task, period: self.steps.export(
                run.target,
                period,
                revisit_days=revisit,
                cycle_key=task.cycle_key,
                due_at=task.due_at,
                task=run.idempotency_key,
            ),
        )

    def _run(self, run: TaskRun, step: Callable[[Task, Period], dict[str, Any]]) -> dict[str, Any]:
        try:
            task = self.tasks.task(run.task_id)
            return step(task, period_of_task(task, self.tasks, self.clock()))
        except (UnknownAggregate, InvalidPeriod) as error:
            raise PermanentTaskError(str(error)) from None
        except ConcurrentEdit as error:  # data arrived meanwhile: look again after back-off
            raise RuntimeError(str(error)) from None


class CalculatedChannels:
    """``aggregate``: the calculated channel ``channel`` (else the task's target) computed
    from its sources over the step's period (same conventions as validate)."""

    def __init__(
        self,
        aggregation: Aggregation,
        tasks: TaskLookup,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.aggregation = aggregation
        self.tasks = tasks
        self.clock = clock

    def aggregate(self, run: TaskRun) -> dict[str, Any]:
        channel = run.parameters.get("channel", run.target)
        if not isinstance(channel, str) or not channel:
            raise PermanentTaskError("channel must be the key of a calculated channel")
        why = Provenance(
            actor=AGGREGATE_ACTOR,
            reason=f"aggregate task {run.task_id}",
            source="system",
            reason_code="TASK",
        )
        try:
            period = period_of_task(self.tasks.task(run.task_id), self.tasks, self.clock())
            return self.aggregation.compute(channel, period.start, period.until, why)
        except (UnknownAggregate, InvalidPeriod, CannotAggregate) as error:
            raise PermanentTaskError(str(error)) from None
        except ConcurrentEdit as error:  # a source or the channel changed meanwhile
            raise RuntimeError(str(error)) from None


class DeviceCommands:
    """``time_sync`` and ``command``: a DeviceCommand requested and carried out through
    the HeadEnd, exactly as ``POST /api/v1/meters/{serial}/commands`` does, keyed on the
    run so that it is requested once per attempt and its outcome is recorded with it."""

    def __init__(
        self, head_end: HeadEnd, port: MeterCommandPort, timeout: float = COMMAND_TIMEOUT_SECONDS
    ) -> None:
        self.head_end = head_end
        self.port = port
        self.timeout = timeout

    def time_sync(self, run: TaskRun) -> dict[str, Any]:
        limit = run.parameters.get("max_drift_seconds")
        parameters = {} if limit is None else {"max_drift_seconds": round(limit)}
        return self._carry_out(run, "sync_clock", parameters)

    def command(self, run: TaskRun) -> dict[str, Any]:
        command_type = run.parameters.get("command_type")
        parameters = run.parameters.get("parameters", {})
        if not isinstance(command_type, str) or not isinstance(parameters, dict):
            raise PermanentTaskError(
                "a command task names its command_type and, as an object, its parameters"
            )
        return self._carry_out(run, command_type, parameters)

    def _carry_out(
        self, run: TaskRun, command_type: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        why = Provenance(
            actor=f"hes-task:{run.server}",
            reason=f"{run.task_type} task {run.task_id}, dispatch {run.dispatch}",
            source="system",
            reason_code="TASK",
        )
        try:
            command_id = self.head_end.request_command(
                run.target, command_type, parameters, why, f"task:{run.idempotency_key}"
            )
        except (LookupError, ValueError, DuplicateKey) as error:  # unknown meter, bad request
            raise PermanentTaskError(str(error)) from None
        try:
            command = asyncio.run(self.head_end.execute(command_id, self.port, self.timeout))
        except ConcurrentEdit as error:
            raise RuntimeError(str(error)) from None
        if command.state != "confirmed":
            # A new attempt is a new dispatch, hence a new DeviceCommand: both stay visible.
            raise RuntimeError(f"{command_type} {command.state}: {command.error}")
        return {
            "command_id": str(command.id),
            "command_type": command_type,
            "state": command.state,
            "result": command.result,
        }


class Reports:
    """``report``: one of the existing reports, rendered into the task's result (stored
    with its ``Succeeded`` event, so it stays as it was when it ran).

    ``name``: ``late_work`` (cycles' due times whose window closed before they were
    fired, over ``hours`` back, default 24, or ``since``/``until``) or
    ``task_statistics`` (the task monitor's statistics)."""

    def __init__(
        self,
        installation: Any,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.installation = installation
        self.clock = clock

    def __call__(self, run: TaskRun) -> dict[str, Any]:
        name = run.parameters.get("name")
        if name == "late_work":
            return self._late_work(run.parameters)
        if name == "task_statistics":
            monitor = self.installation.task_monitor
            monitor.catch_up()
            return {"report": name, "at": self.clock().isoformat(), **monitor.view.statistics()}
        raise PermanentTaskError("report name must be late_work or task_statistics")

    def _late_work(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        now = self.clock()
        try:
            until = _moment(parameters.get("until")) or now
            hours = float(parameters.get("hours", 24))
            since = _moment(parameters.get("since")) or until - timedelta(hours=hours)
        except (TypeError, ValueError) as error:
            raise PermanentTaskError(f"late_work: {error}") from None
        late = scheduling_of(self.installation)[0].late_work(since, until, now)
        return {
            "report": "late_work",
            "since": since.isoformat(),
            "until": until.isoformat(),
            "count": len(late),
            "late": [
                {
                    "cycle_key": work.cycle_key,
                    "due_at": work.due_at.isoformat(),
                    "window_end": work.window_end.isoformat(),
                    "fired_at": work.fired_at.isoformat() if work.fired_at else None,
                }
                for work in late
            ],
        }


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def workflow_steps(installation: Any) -> WorkflowSteps:
    """The chain's use cases wired to ``installation`` (its VEE workflow and read models)."""
    workflow = installation.collection.workflow or VeeWorkflow(
        installation.registry,
        installation.readings,
        external_periods=installation.read_models.external_periods,
    )
    return WorkflowSteps(
        PeriodReview(workflow),
        installation.exports,
        DirectoryMeterChannels(installation.read_models, installation.registry),
        ChangedDays(installation.readings, installation.read_models),
    )


def register_chain_handlers(handlers: TaskHandlers, installation: Any) -> None:
    """Registers validate, estimate, export, aggregate, time_sync, command and report on
    ``handlers`` for ``installation`` (a worker that is not bare, and the demo's, call this
    alike)."""
    chain = ChainSteps(workflow_steps(installation), installation.operations)
    handlers.register("validate", chain.validate)
    handlers.register("estimate", chain.estimate)
    handlers.register("export", chain.export)
    calculated = CalculatedChannels(
        Aggregation(installation.registry, installation.readings), installation.operations
    )
    handlers.register("aggregate", calculated.aggregate)
    device = DeviceCommands(installation.head_end, installation.command_port)
    handlers.register("time_sync", device.time_sync)
    handlers.register("command", device.command)
    handlers.register("report", Reports(installation))
