"""Task monitor: one row per task and per processing server, for listing and statistics.

Fed from the Operations application's events by ``task_monitor_projection.py``. Rows
keep what an operator filters on (status, server, task type, submitting user, submit
and scheduled times) and counters that only grow (``attempts_total``, ``errors``), so
"performed", "errors" and "failures" stay cumulative; rows purged after the retention
period leave their counts in ``task_monitor_carried``. Times are microseconds since
the epoch, returned as UTC.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from adapters.persistence.recorder import to_microseconds
from domain.processing_server import ProcessingServer
from domain.task import FINAL_STATES, STATES, WAITING_STATES
from projections.runner import ReadModelView, from_microseconds

MIN_RETENTION_DAYS = 31
DEFAULT_RETENTION_DAYS = 35

_metadata = MetaData()
TASKS = Table(
    "task_monitor_tasks",
    _metadata,
    Column("task_id", Uuid(), primary_key=True),
    Column("task_type", Text(), nullable=False),
    Column("target", Text(), nullable=False),
    Column("priority", Text(), nullable=False),
    Column("origin", Text(), nullable=False),
    Column("cycle_key", Text(), nullable=False),
    Column("status", Text(), nullable=False),
    Column("pinned_server", Text()),
    Column("running_on", Text()),
    Column("instance", Text()),
    Column("submitted_by", Text(), nullable=False),
    Column("submitted_source", Text(), nullable=False),
    Column("submitted_at_us", BigInteger(), nullable=False),
    Column("due_at_us", BigInteger(), nullable=False),
    Column("run_at_us", BigInteger(), nullable=False),
    Column("dispatch", Integer(), nullable=False),
    Column("queue_name", Text()),
    Column("queued_at_us", BigInteger()),
    Column("attempts", Integer(), nullable=False),
    Column("attempts_total", Integer(), nullable=False),
    Column("errors", Integer(), nullable=False),
    Column("max_attempts", Integer(), nullable=False),
    Column("started_at_us", BigInteger()),
    Column("finished_at_us", BigInteger()),
    Column("last_error", Text()),
    Column("parameters", JSON(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("updated_at_us", BigInteger(), nullable=False),
    Index("task_monitor_tasks_status_run_idx", "status", "run_at_us"),
    Index("task_monitor_tasks_server_idx", "running_on", "status"),
    Index("task_monitor_tasks_type_idx", "task_type", "status"),
    Index("task_monitor_tasks_submitter_idx", "submitted_by"),
    Index("task_monitor_tasks_submitted_idx", "submitted_at_us"),
    Index("task_monitor_tasks_due_idx", "due_at_us"),
    Index("task_monitor_tasks_finished_idx", "finished_at_us"),
)
SERVERS = Table(
    "task_monitor_servers",
    _metadata,
    Column("name", Text(), primary_key=True),
    Column("server_id", Uuid(), nullable=False, unique=True),
    Column("status", Text(), nullable=False),
    Column("enabled", Boolean(), nullable=False),
    Column("instance", Text()),
    Column("host", Text()),
    Column("pid", Integer()),
    Column("thread_groups", JSON(), nullable=False),
    Column("started_at_us", BigInteger()),
    Column("version", Integer(), nullable=False),
    Column("updated_at_us", BigInteger(), nullable=False),
)
# Counts of rows purged by retention, so cumulative statistics survive the purge.
CARRIED = Table(
    "task_monitor_carried",
    _metadata,
    Column("name", Text(), primary_key=True),
    Column("value", BigInteger(), nullable=False),
)


def retention_from_env(environ: Mapping[str, str] | None = None) -> timedelta:
    """HES_TASK_LOG_RETENTION_DAYS (default 35); at least a month, as operations require."""
    env = os.environ if environ is None else environ
    days = int(env.get("HES_TASK_LOG_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"the task log is kept at least {MIN_RETENTION_DAYS} days, not {days}")
    return timedelta(days=days)


@dataclass(frozen=True)
class TaskFilter:
    """What an operator narrows the task list down by (every field optional)."""

    status: tuple[str, ...] = ()
    server: str | None = None
    task_type: str | None = None
    submitted_by: str | None = None
    submitted_from: datetime | None = None
    submitted_until: datetime | None = None
    due_from: datetime | None = None
    due_until: datetime | None = None
    cycle_key: str | None = None
    target: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c = TASKS.c
        found: list[ColumnElement[bool]] = []
        if self.status:
            found.append(c.status.in_(self.status))
        if self.server:
            found.append(or_(c.running_on == self.server, c.pinned_server == self.server))
        for column, value in (
            (c.task_type, self.task_type),
            (c.submitted_by, self.submitted_by),
            (c.cycle_key, self.cycle_key),
            (c.target, self.target),
        ):
            if value:
                found.append(column == value)
        for column, start, end in (
            (c.submitted_at_us, self.submitted_from, self.submitted_until),
            (c.due_at_us, self.due_from, self.due_until),
        ):
            if start is not None:
                found.append(column >= to_microseconds(start))
            if end is not None:
                found.append(column < to_microseconds(end))
        return found


class TaskMonitorView(ReadModelView):
    def __init__(self, datastore: SQLAlchemyDatastore, *, create_tables: bool = True) -> None:
        super().__init__(
            datastore,
            tracking_table_name="task_monitor_tracking",
            tables=[TASKS, SERVERS, CARRIED],
            create_tables=create_tables,
        )

    # -- writing (inside the runner's transaction) -----------------------------------

    def insert_task(self, values: dict[str, Any]) -> None:
        with self.transaction(commit=True) as session:
            session.execute(insert(TASKS).values(values))

    def update_task(self, event: Any, values: dict[str, Any]) -> None:
        values.update(version=event.originator_version, updated_at_us=_us(event.timestamp))
        with self.transaction(commit=True) as session:
            session.execute(
                update(TASKS).where(TASKS.c.task_id == event.originator_id).values(values)
            )

    def apply_server_event(self, event: ProcessingServer.Event) -> None:
        """Applied by the event itself to a bare aggregate: the row cannot drift."""
        with self.transaction(commit=True) as session:
            found = session.execute(
                select(SERVERS).where(SERVERS.c.server_id == event.originator_id)
            )
            row = found.mappings().first()
            server = object.__new__(ProcessingServer)
            if row is not None:
                server.__dict__.update(
                    name=row["name"],
                    thread_groups=row["thread_groups"],
                    enabled=row["enabled"],
                    status=row["status"],
                    instance=row["instance"],
                    host=row["host"],
                    pid=row["pid"],
                )
            event.apply(server)
            values = {
                name: getattr(server, name)
                for name in (
                    "name",
                    "thread_groups",
                    "enabled",
                    "status",
                    "instance",
                    "host",
                    "pid",
                )
            }
            values.update(version=event.originator_version, updated_at_us=_us(event.timestamp))
            if isinstance(event, ProcessingServer.Started):
                values["started_at_us"] = _us(event.timestamp)
            if row is None:
                session.execute(insert(SERVERS).values(server_id=event.originator_id, **values))
            else:
                session.execute(
                    update(SERVERS).where(SERVERS.c.server_id == event.originator_id).values(values)
                )

    def purge_finished(self, before: datetime) -> int:
        """Deletes finished tasks older than ``before``; their counts are carried over."""
        finished = and_(
            TASKS.c.status.in_(FINAL_STATES), TASKS.c.finished_at_us < to_microseconds(before)
        )
        with self.lock, self.transaction(commit=True) as session:
            gone = session.execute(select(*_counted()).where(finished)).mappings().one()
            for name, value in gone.items():
                if value:
                    _carry(session, name, int(value))
            deleted = session.execute(delete(TASKS).where(finished))
        return int(deleted.rowcount)  # type: ignore[attr-defined]

    # -- queries ---------------------------------------------------------------------

    def tasks(
        self, where: TaskFilter = TaskFilter(), *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Newest scheduled time first."""
        query = (
            select(TASKS)
            .where(*where.conditions())
            .order_by(TASKS.c.due_at_us.desc(), TASKS.c.task_id)
            .limit(limit)
            .offset(offset)
        )
        return [_task_view(row) for row in self._rows(query)]

    def count(self, where: TaskFilter = TaskFilter()) -> int:
        query = select(func.count()).select_from(TASKS).where(*where.conditions())
        with self.transaction(commit=False) as session:
            return int(session.execute(query).scalar_one())

    def task(self, task_id: UUID) -> dict[str, Any] | None:
        rows = self._rows(select(TASKS).where(TASKS.c.task_id == task_id))
        return _task_view(rows[0]) if rows else None

    def statistics(self, where: TaskFilter = TaskFilter()) -> dict[str, Any]:
        conditions = where.conditions()
        by_status_query = (
            select(TASKS.c.status, func.count()).where(*conditions).group_by(TASKS.c.status)
        )
        by_type_query = (
            select(TASKS.c.task_type, TASKS.c.status, func.count())
            .where(*conditions)
            .group_by(TASKS.c.task_type, TASKS.c.status)
        )
        running_query = (
            select(TASKS.c.running_on, func.count())
            .where(TASKS.c.status == "running", *conditions)
            .group_by(TASKS.c.running_on)
        )
        with self.transaction(commit=False) as session:
            by_status = {s: int(n) for s, n in session.execute(by_status_query).all()}
            by_type: dict[str, dict[str, int]] = {}
            for kind, status, n in session.execute(by_type_query).all():
                by_type.setdefault(kind, {})[status] = int(n)
            running = {s or "": int(n) for s, n in session.execute(running_query).all()}
            counted = session.execute(select(*_counted()).where(*conditions)).mappings().one()
            carried: dict[str, int] = {
                name: int(value)
                for name, value in session.execute(select(CARRIED.c.name, CARRIED.c.value))
            }
        cumulative = {
            name: int(counted[name] or 0) + (0 if conditions else int(carried.get(name, 0)))
            for name in counted
        }
        return {
            "tasks": sum(by_status.values()),
            "by_status": {status: by_status.get(status, 0) for status in STATES},
            "running_now": by_status.get("running", 0),
            "running_by_server": running,
            "errors_now": by_status.get("error", 0),
            "failed": by_status.get("failed", 0),
            "cumulative": cumulative,
            "by_task_type": by_type,
        }

    def servers(self) -> list[dict[str, Any]]:
        rows = self._rows(select(SERVERS).order_by(SERVERS.c.name))
        return [_server_view(row) for row in rows]

    def due_task_ids(self, now: datetime, limit: int = 5000) -> list[UUID]:
        """Tasks waiting for their time or retry whose time has come (dispatcher)."""
        query = (
            select(TASKS.c.task_id)
            .where(TASKS.c.status.in_(WAITING_STATES), TASKS.c.run_at_us <= to_microseconds(now))
            .order_by(TASKS.c.run_at_us)
            .limit(limit)
        )
        with self.transaction(commit=False) as session:
            return list(session.execute(query).scalars())

    def queued_tasks(self, queued_before: datetime) -> list[tuple[UUID, int]]:
        """(task, dispatch) of tasks queued before ``queued_before`` (reconciler)."""
        query = select(TASKS.c.task_id, TASKS.c.dispatch).where(
            TASKS.c.status == "queued", TASKS.c.queued_at_us < to_microseconds(queued_before)
        )
        with self.transaction(commit=False) as session:
            return [(row[0], int(row[1])) for row in session.execute(query).all()]

    def running_runs(self) -> list[tuple[UUID, int, str]]:
        """(task, dispatch, worker instance) of every task shown as running."""
        query = select(TASKS.c.task_id, TASKS.c.dispatch, TASKS.c.instance).where(
            TASKS.c.status == "running"
        )
        with self.transaction(commit=False) as session:
            return [(row[0], int(row[1]), row[2] or "") for row in session.execute(query).all()]

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        with self.transaction(commit=False) as session:
            return [dict(row) for row in session.execute(query).mappings().all()]


def _us(moment: datetime) -> int:
    return to_microseconds(moment)


def _counted() -> list[Any]:
    c = TASKS.c
    return [
        func.sum(c.attempts_total).label("performed"),
        func.sum(case((c.status == "succeeded", 1), else_=0)).label("succeeded"),
        func.sum(c.errors).label("errors"),
        func.sum(case((c.status == "failed", 1), else_=0)).label("failures"),
        func.sum(case((c.status == "cancelled", 1), else_=0)).label("cancelled"),
    ]


def _carry(session: Session, name: str, value: int) -> None:
    moved = session.execute(
        update(CARRIED).where(CARRIED.c.name == name).values(value=CARRIED.c.value + value)
    )
    if moved.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(insert(CARRIED).values(name=name, value=value))


_TIMES = (
    "submitted_at",
    "due_at",
    "run_at",
    "queued_at",
    "started_at",
    "finished_at",
    "updated_at",
)


def _task_view(row: dict[str, Any]) -> dict[str, Any]:
    view = {name: value for name, value in row.items() if not name.endswith("_us")}
    for name in _TIMES:
        value = row.get(f"{name}_us")
        view[name] = None if value is None else from_microseconds(value)
    return view


def _server_view(row: dict[str, Any]) -> dict[str, Any]:
    view = {name: value for name, value in row.items() if not name.endswith("_us")}
    for name in ("started_at", "updated_at"):
        value = row.get(f"{name}_us")
        view[name] = None if value is None else from_microseconds(value)
    return view
