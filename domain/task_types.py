"""Task types: what a task does, how urgent it is, and how it is retried.

Each type belongs to one priority class, and every priority class has queues of its own
(dramatiq's message priority only reorders messages a worker already fetched, so a
bulk backlog in the same queue would hold urgent work back). A queue carries one task
type of one class (``critical.command``) so that a thread group of a processing server
can take exactly the task types it accepts; a task pinned to a server travels on that
server's own queue (``critical.command@srv-a``).

A retry travels one class lower than the type's own (``normal.read_meter`` first,
``bulk.read_meter`` for every retry; bulk stays bulk): a meter that failed once must
not hold back first attempts of others, and a thread group taking a task type consumes
both of its queues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

# Most urgent first. The rank orders messages inside one worker, too.
PRIORITY_CLASSES = ("critical", "high", "normal", "bulk")
PRIORITY_RANK = {name: rank * 10 for rank, name in enumerate(PRIORITY_CLASSES)}


def lowered(priority: str) -> str:
    """The class one below ``priority`` (the lowest stays where it is)."""
    rank = PRIORITY_CLASSES.index(priority)
    return PRIORITY_CLASSES[min(rank + 1, len(PRIORITY_CLASSES) - 1)]


def priority_of_queue(queue_name: str) -> str:
    """The priority class a queue belongs to: ``bulk`` for ``bulk.read_meter@srv-a``."""
    return queue_name.split(".", 1)[0]


class InvalidTaskParameters(ValueError):
    pass


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts in all, and the back-off between them (doubling, capped)."""

    max_attempts: int = 3
    backoff_seconds: float = 60.0
    max_backoff_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.backoff_seconds < 0 or self.max_backoff_seconds < 0:
            raise ValueError("a retry policy needs 1+ attempts and back-offs of 0 s or more")

    def delay_after(self, attempt: int) -> timedelta:
        """How long to wait after the ``attempt``-th attempt failed (1-based)."""
        seconds = self.backoff_seconds * 2 ** max(attempt - 1, 0)
        return timedelta(seconds=min(seconds, self.max_backoff_seconds))


def _one_of(*choices: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return check


def _whole_number(low: int, high: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value

    return check


def _seconds(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
        raise ValueError("must be a number of seconds from 0 to 3600")
    return value


@dataclass(frozen=True)
class TaskType:
    name: str
    priority: str
    description: str
    retry: RetryPolicy = RetryPolicy()
    # Known parameters and their checks; others are refused unless ``open_parameters``.
    parameters: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    open_parameters: bool = False

    def __post_init__(self) -> None:
        if self.priority not in PRIORITY_CLASSES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITY_CLASSES)}")

    @property
    def retry_priority(self) -> str:
        return lowered(self.priority)

    def queue_name(self, server: str | None = None, *, retry: bool = False) -> str:
        """The queue of a first attempt, or with ``retry`` of a later one (a class lower)."""
        base = f"{self.retry_priority if retry else self.priority}.{self.name}"
        return f"{base}@{server}" if server else base

    def queue_names(self, server: str | None = None) -> list[str]:
        """Its queues: first attempts, then retries (one queue when they coincide)."""
        return list(dict.fromkeys((self.queue_name(server), self.queue_name(server, retry=True))))

    def checked(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        problems: dict[str, str] = {}
        for name, value in parameters.items():
            check = self.parameters.get(name)
            if check is None:
                if not self.open_parameters:
                    problems[name] = "is not a parameter of " + self.name
                continue
            try:
                check(value)
            except ValueError as error:
                problems[name] = str(error)
        if problems:
            details = "; ".join(f"{name} {problem}" for name, problem in sorted(problems.items()))
            raise InvalidTaskParameters(f"{self.name}: {details}")
        return dict(parameters)


def _iso(parse: Callable[[str], Any], what: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        try:
            parse(str(value))
        except ValueError:
            raise ValueError(f"must be an ISO {what}") from None
        return value

    return check


_instant = _iso(datetime.fromisoformat, "date-time")
_day = _iso(date.fromisoformat, "date")


def _channel_key(value: Any) -> Any:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= 128:
        raise ValueError("must be a channel key")
    return value


# What the archive task keeps (adapters/archive/sources.py names the tables).
ARCHIVED_KINDS = ("raw_frames", "comm_log", "task_log")
_READ = {"what": _one_of("profile", "registers", "events"), "days": _whole_number(1, 62)}
# The period a step of the workflow chain looks at (else what its cycle's read covered).
_PERIOD = {"start": _instant, "end": _instant, "days": _whole_number(1, 62)}
_QUICK = RetryPolicy(max_attempts=3, backoff_seconds=30, max_backoff_seconds=300)
_DIALING = RetryPolicy(max_attempts=4, backoff_seconds=120, max_backoff_seconds=1800)
_BATCH = RetryPolicy(max_attempts=2, backoff_seconds=300, max_backoff_seconds=3600)

TASK_TYPES: dict[str, TaskType] = {
    task_type.name: task_type
    for task_type in (
        TaskType(
            "command",
            "critical",
            "a command to one meter (relay, settings)",
            _QUICK,
            {},
            open_parameters=True,
        ),
        TaskType(
            "read_meter",
            "normal",
            "read a meter's load profile, registers or events",
            _DIALING,
            _READ,
        ),
        TaskType(
            "time_sync", "normal", "set a meter's clock", _DIALING, {"max_drift_seconds": _seconds}
        ),
        TaskType(
            "validate",
            "normal",
            "validate the intervals of a meter's channels (or a channel)",
            _QUICK,
            _PERIOD,
            open_parameters=True,
        ),
        TaskType(
            "estimate",
            "normal",
            "estimate failed or missing intervals",
            _QUICK,
            _PERIOD,
            open_parameters=True,
        ),
        TaskType(
            "export",
            "high",
            "export final channel days to billing",
            _QUICK,
            {**_PERIOD, "revisit_days": _whole_number(0, 62)},
            open_parameters=True,
        ),
        TaskType(
            "aggregate",
            "bulk",
            "compute calculated channels from their source channels",
            _BATCH,
            {**_PERIOD, "channel": _channel_key},
            open_parameters=True,
        ),
        TaskType("report", "bulk", "produce a report", _BATCH, {}, open_parameters=True),
        TaskType(
            "purge_raw_frames", "bulk", "housekeeping: purge raw frames past retention", _BATCH, {}
        ),
        TaskType(
            "purge_task_log", "bulk", "housekeeping: purge the task log past retention", _BATCH, {}
        ),
        TaskType(
            "purge_comm_log",
            "bulk",
            "housekeeping: purge the communication log past retention",
            _BATCH,
            {},
        ),
        TaskType(
            "archive",
            "bulk",
            "housekeeping: archive what retention will purge, a file per day",
            _BATCH,
            {"what": _one_of("all", *ARCHIVED_KINDS), "day": _day},
        ),
        # Does nothing: measures the task machinery itself (benchmarks, smoke tests).
        TaskType(
            "noop",
            "bulk",
            "do nothing (benchmarks and checks)",
            RetryPolicy(max_attempts=2, backoff_seconds=1, max_backoff_seconds=1),
            {"sleep_seconds": _seconds, "fail": _one_of("never", "always", "once")},
        ),
    )
}


def task_type_named(name: str) -> TaskType:
    try:
        return TASK_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(TASK_TYPES))
        raise InvalidTaskParameters(f"unknown task type {name!r}; known: {known}") from None


def queue_names(task_types: list[str] | None = None, server: str | None = None) -> list[str]:
    """The queues that carry ``task_types`` (all when None), shared and pinned to ``server``."""
    names = sorted(TASK_TYPES) if task_types is None else task_types
    shared = [queue for name in names for queue in TASK_TYPES[name].queue_names()]
    pinned = [queue for name in names for queue in TASK_TYPES[name].queue_names(server)]
    return shared + (pinned if server else [])
