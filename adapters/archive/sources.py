"""What the archive keeps: the plain tables that retention purges, a day at a time.

The event store is not among them: events are the audit trail and never leave it. The
archive keeps what would otherwise be lost to retention: the raw DLMS frames (3 days by
default), the communication log (a month) and the task monitor's finished tasks (a
month). A source's day is the UTC day of its time column; the task log counts a task on
the day it finished, since only finished tasks are purged (and they no longer change).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Table

from adapters.dlms.communication_log import COMMUNICATION_LOG
from adapters.dlms.communication_log import retention_from_env as comm_log_retention
from adapters.raw_frames.retention import retention_days as raw_frame_retention_days
from adapters.raw_frames.table import raw_frames
from domain.task import FINAL_STATES
from projections.task_monitor import TASKS
from projections.task_monitor import retention_from_env as task_log_retention


@dataclass(frozen=True)
class ArchiveSource:
    kind: str
    table: Table
    time_column: str  # microseconds since the epoch, UTC
    order: tuple[str, ...]  # a total order, so that a day's file is the same each time
    retention: Callable[[], dt.timedelta]  # how long the purge leaves rows in the table
    condition: Callable[[], ColumnElement[bool]] | None = None

    def rows_condition(self) -> list[ColumnElement[bool]]:
        return [] if self.condition is None else [self.condition()]


SOURCES: dict[str, ArchiveSource] = {
    source.kind: source
    for source in (
        ArchiveSource(
            "raw_frames",
            raw_frames,
            "at_us",
            ("at_us", "id"),
            lambda: dt.timedelta(days=raw_frame_retention_days()),
        ),
        ArchiveSource(
            "comm_log",
            COMMUNICATION_LOG,
            "started_at_us",
            ("started_at_us", "id"),
            comm_log_retention,
        ),
        ArchiveSource(
            "task_log",
            TASKS,
            "finished_at_us",
            ("finished_at_us", "task_id"),
            task_log_retention,
            lambda: TASKS.c.status.in_(FINAL_STATES),
        ),
    )
}
KINDS = tuple(SOURCES)
