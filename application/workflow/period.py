"""The period a chain step looks at: what the cycle's read covered.

A step's own parameters win (``start`` and ``end`` as ISO date-times, UTC when they name
no zone, or ``days`` back from the due time); otherwise the period is what the read of the
same cycle, due time and meter covered (its result's ``from`` and ``to``), and without
such a read the day before the due time. It ends where the read ended: intervals after
it were not read yet, and a step that judged them missing would estimate the future.
Export looks at whole UTC days: those of the period that ended by its end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from domain.channel_day import day_start
from domain.task import Task

MAX_DAYS = 62
READ_TASK_TYPE = "read_meter"


class InvalidPeriod(ValueError):
    """Parameters that name no usable period (retrying the task cannot help)."""


class TaskLookup(Protocol):
    def task(self, task_id: UUID, as_of: datetime | None = None) -> Task: ...


@dataclass(frozen=True)
class Period:
    """From ``start`` up to ``until`` (both tz-aware UTC)."""

    start: datetime
    until: datetime  # intervals ending after it are left alone

    def days(self) -> list[date]:
        """The UTC days the period touches."""
        first = self.start.date()
        last = (self.until - timedelta(microseconds=1)).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def slots_for(self, interval_minutes: int) -> tuple[datetime, datetime]:
        """The period on whole intervals: from the start of the interval holding
        ``start`` to the end of the last interval that ended by ``until``."""
        step = timedelta(minutes=interval_minutes)
        midnight = day_start(self.start.date())
        first = midnight + (self.start - midnight) // step * step
        return first, first + (self.until - first) // step * step

    def as_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "until": self.until.isoformat()}


def period_of(
    parameters: Mapping[str, Any],
    *,
    due_at: datetime,
    now: datetime,
    read_window: tuple[datetime, datetime] | None = None,
    read_days: int | None = None,
) -> Period:
    """The period of a step with ``parameters``, due at ``due_at``, after a read that
    covered ``read_window`` (or asked for ``read_days``), as seen at ``now``."""
    end = _moment(parameters, "end")
    if end is None:
        end = read_window[1] if read_window else due_at
    end = min(end, now)
    start = _moment(parameters, "start")
    if start is None:
        days = parameters.get("days")
        if days is not None:
            start = end - timedelta(days=_days(days))
        elif read_window is not None:
            start = read_window[0]
        else:
            start = end - timedelta(days=read_days or 1)
    if start >= end:
        raise InvalidPeriod(f"the period from {start.isoformat()} to {end.isoformat()} is empty")
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidPeriod(f"a period spans at most {MAX_DAYS} days")
    return Period(start.astimezone(UTC), end.astimezone(UTC))


def period_of_task(task: Task, tasks: TaskLookup, now: datetime) -> Period:
    """The period of ``task``, taking the read of its cycle's chain into account."""
    read = _chain_read(task, tasks)
    window = None
    read_days = None
    if read is not None:
        result = read.result or {}
        if read.state == "succeeded" and result.get("from") and result.get("to"):
            window = (_parsed(result["from"], "from"), _parsed(result["to"], "to"))
        days = read.parameters.get("days")
        read_days = days if isinstance(days, int) and not isinstance(days, bool) else None
    return period_of(
        task.parameters, due_at=task.due_at, now=now, read_window=window, read_days=read_days
    )


def _chain_read(task: Task, tasks: TaskLookup) -> Task | None:
    if not task.cycle_key or task.task_type == READ_TASK_TYPE:
        return None
    key = Task.cycle_key_of(task.cycle_key, task.due_at, task.target, READ_TASK_TYPE)
    try:
        return tasks.task(Task.id_for(key))
    except LookupError:
        return None  # the chain has no read (e.g. validate -> estimate -> export)


def _moment(parameters: Mapping[str, Any], name: str) -> datetime | None:
    value = parameters.get(name)
    return None if value is None else _parsed(value, name)


def _parsed(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidPeriod(f"{name} must be an ISO date-time, not {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise InvalidPeriod(f"days must be a whole number from 1 to {MAX_DAYS}")
    return value
