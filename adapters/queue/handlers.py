"""What each task type does: a registry of handlers, one per task type.

A handler takes the claimed ``TaskRun`` and returns a small JSON-able result. It may
run again for the same task (a worker killed mid-run, a re-delivered message), so its
side effects must be idempotent: key them on ``run.idempotency_key`` (task + dispatch)
or make them naturally so (re-reading a meter records only intervals not yet known).
Raise ``PermanentTaskError`` when retrying cannot help; any other exception is an
attempt that failed and is retried after the task type's back-off.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from adapters.archive import ArchiveRefused, DailyArchive
from application.head_end import (
    CommandNotAnswered,
    CommandRefused,
    MeterCommandPort,
    MeterNotReached,
)
from application.operations import TaskRun

Handler = Callable[[TaskRun], Mapping[str, Any]]


class PermanentTaskError(Exception):
    """Retrying cannot help (unknown meter, unsupported request): the task fails now."""


class NotImplementedYet(PermanentTaskError):
    def __init__(self, task_type: str, detail: str = "") -> None:
        super().__init__(f"no handler for {task_type}{detail} yet: the task cannot run")


class TaskHandlers:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, task_type: str, handler: Handler) -> None:
        self._handlers[task_type] = handler

    def run(self, run: TaskRun) -> dict[str, Any]:
        handler = self._handlers.get(run.task_type)
        if handler is None:
            raise NotImplementedYet(run.task_type)
        return dict(handler(run))


def noop(run: TaskRun, stopping: threading.Event | None = None) -> dict[str, Any]:
    """Does nothing (after ``sleep_seconds``); ``fail`` makes it fail always or once."""
    seconds = float(run.parameters.get("sleep_seconds", 0))
    if seconds:
        (stopping or threading.Event()).wait(seconds)
    failing = run.parameters.get("fail", "never")
    if failing == "always" or (failing == "once" and run.attempt == 1):
        raise RuntimeError(f"noop asked to fail (attempt {run.attempt})")
    return {"slept_seconds": seconds}


class MeterReads:
    """``read_meter``: what=profile records the load profile through the collection
    (``read_now``); what=registers reads energy totals, instantaneous values and the
    daily billing snapshots of the last ``days`` (``read_registers``); what=events the
    event logs of the last ``days`` (``read_events``). Registers and events have no
    aggregate of their own yet: they are the task's result (its Succeeded event).

    Retried (after the task type's back-off, on a lower priority queue): the meter was
    not reached or did not answer in time (timeout, unreachable, dropped connection,
    garbled answer, no free session slot). Failed at once: the meter is unknown, or it
    refused us (authentication, a security violation, no profile channel, no secrets).
    """

    def __init__(self, command_port: MeterCommandPort, timeout: float = 300.0) -> None:
        self.command_port = command_port
        self.timeout = timeout

    def __call__(self, run: TaskRun) -> dict[str, Any]:
        what = run.parameters.get("what", "profile")
        days = int(run.parameters.get("days", 1))
        commands = {
            "profile": ("read_now", {"days": days}),
            "registers": ("read_registers", {"billing_days": days}),
            "events": ("read_events", {"days": days}),
        }
        if what not in commands:
            raise NotImplementedYet("read_meter", f" of {what}")
        command_type, parameters = commands[what]
        started = time.monotonic()
        try:
            result = asyncio.run(
                asyncio.wait_for(
                    self.command_port.execute(run.target, command_type, parameters),
                    self.timeout,
                )
            )
        except LookupError as error:  # the registry does not know the meter
            raise PermanentTaskError(str(error)) from None
        except (MeterNotReached, CommandNotAnswered, TimeoutError) as error:
            raise RuntimeError(str(error) or type(error).__name__) from None
        except CommandRefused as error:  # the meter said no: asking again will not help
            raise PermanentTaskError(str(error)) from None
        return {**result, "seconds": round(time.monotonic() - started, 3)}


class ArchiveDays:
    """``archive``: the days of ``what`` (all kinds by default) that are over and still
    whole, not archived yet, or the one ``day`` asked for. A day archived before is not
    written again, so a re-delivered task only reports it."""

    def __init__(self, archive: DailyArchive) -> None:
        self.archive = archive

    def __call__(self, run: TaskRun) -> dict[str, Any]:
        day = run.parameters.get("day")
        try:
            days = self.archive.archive(
                run.parameters.get("what", "all"), date.fromisoformat(day) if day else None
            )
        except ArchiveRefused as refused:
            raise PermanentTaskError(str(refused)) from None
        return {
            "directory": str(self.archive.directory),
            "written": [day.as_dict() for day in days if day.written],
            "already_archived": sum(not day.written for day in days),
        }


def default_handlers(
    command_port: MeterCommandPort | None = None,
    purge_task_log: Callable[[], int] | None = None,
    purge_raw_frames: Callable[[], int] | None = None,
    purge_comm_log: Callable[[], int] | None = None,
    archive: DailyArchive | None = None,
) -> TaskHandlers:
    """The handlers a worker runs; task types without one fail with NotImplementedYet."""
    handlers = TaskHandlers()
    handlers.register("noop", noop)
    if command_port is not None:
        handlers.register("read_meter", MeterReads(command_port))
    if purge_task_log is not None:
        handlers.register("purge_task_log", lambda run: {"purged": purge_task_log()})
    if purge_raw_frames is not None:
        # Deletes by age only: running it twice purges nothing the second time.
        handlers.register("purge_raw_frames", lambda run: {"purged": purge_raw_frames()})
    if purge_comm_log is not None:
        # By age only, like the other purges: a second run purges nothing more.
        handlers.register("purge_comm_log", lambda run: {"purged": purge_comm_log()})
    if archive is not None:
        handlers.register("archive", ArchiveDays(archive))
    return handlers
