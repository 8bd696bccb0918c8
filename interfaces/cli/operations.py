"""``hes worker``, ``hes tasks ...`` and ``hes servers ...``: task processing and its monitor.

Runnable on its own (``python -m interfaces.cli.operations worker --name srv-a``).
"""

from __future__ import annotations

import getpass
import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import typer

from interfaces.cli.options import DatabaseUrl, DataDir

operations_app = typer.Typer(help="Task processing: workers, tasks, servers.", no_args_is_help=True)
tasks_app = typer.Typer(
    help="The task monitor: list, show, hold, release, ...", no_args_is_help=True
)
servers_app = typer.Typer(
    help="Processing servers: list, stop, restart, configure.", no_args_is_help=True
)
operations_app.add_typer(tasks_app, name="tasks")
operations_app.add_typer(servers_app, name="servers")

RedisUrl = Annotated[
    str,
    typer.Option(envvar="HES_REDIS_URL", help="Redis of the task queues (stub:// in-process)."),
]
Reason = Annotated[str, typer.Option(help="Why (recorded with the change).")]


@contextmanager
def _opened(data_dir: Any, database_url: str | None) -> Iterator[Any]:
    from adapters.persistence.factory import shared_datastore
    from adapters.persistence.store import locate_store
    from adapters.queue.broker import DramatiqTaskQueue, QueueSettings
    from application.errors import ConcurrentEdit
    from application.operations import Operations
    from projections.task_monitor_projection import TaskMonitor

    store = locate_store(data_dir, database_url)
    settings = QueueSettings.from_env()
    queue = DramatiqTaskQueue(settings) if settings and not settings.is_stub else None
    operations = Operations(env=store.application_env(), task_queue=queue)
    monitor = TaskMonitor(shared_datastore(store.url), operations)
    try:
        yield operations, monitor
    except (LookupError, ValueError, ConcurrentEdit) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        operations.close()
        if queue is not None:
            queue.close()


def _who(reason: str) -> Any:
    from domain.provenance import Provenance

    return Provenance(actor=f"cli:{getpass.getuser()}", reason=reason, source="cli")


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@operations_app.command("worker")
def worker(
    name: Annotated[str, typer.Option(help="Processing server name.")] = socket.gethostname(),
    threads: Annotated[
        int, typer.Option(min=1, max=256, help="Threads when first registered.")
    ] = 32,
    redis_url: RedisUrl = "redis://127.0.0.1:6379/0",
    namespace: Annotated[str, typer.Option(envvar="HES_QUEUE_NAMESPACE")] = "hes",
    heartbeat_seconds: float = 5.0,
    lost_after_seconds: float = 30.0,
    poll_seconds: float = 1.0,
    reconcile_seconds: float = 60.0,
    reconcile_grace_seconds: float = 30.0,
    queue_heartbeat_timeout_ms: Annotated[
        int, typer.Option(envvar="HES_QUEUE_HEARTBEAT_TIMEOUT_MS")
    ] = 60_000,
    queue_maintenance_chance: Annotated[
        int, typer.Option(envvar="HES_QUEUE_MAINTENANCE_CHANCE")
    ] = 1_000,
    maintenance: Annotated[
        bool, typer.Option(help="Take turns at dispatching, recovering, reconciling.")
    ] = True,
    bare: Annotated[
        bool, typer.Option(help="Only the task machinery: no meter reads, no cycle chains.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run a processing server: task threads on the queues, until SIGTERM or Ctrl-C."""
    from adapters.persistence.store import locate_store
    from adapters.queue.broker import QueueSettings
    from adapters.queue.chain_handlers import register_chain_handlers
    from adapters.queue.handlers import MeterReads
    from adapters.queue.worker import WorkerProcess, WorkerSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    store = locate_store(data_dir, database_url)
    queue = QueueSettings(
        url=redis_url,
        namespace=namespace,
        heartbeat_timeout_ms=queue_heartbeat_timeout_ms,
        maintenance_chance=queue_maintenance_chance,
    )
    settings = WorkerSettings(
        name=name,
        threads=threads,
        heartbeat_seconds=heartbeat_seconds,
        lost_after_seconds=lost_after_seconds,
        poll_seconds=poll_seconds,
        reconcile_seconds=reconcile_seconds,
        reconcile_grace_seconds=reconcile_grace_seconds,
        maintenance=maintenance,
    )
    installation = None
    process = WorkerProcess(store, queue, settings)
    if not bare:
        from adapters.scheduling_sources import scheduling_of
        from interfaces.installation import Installation

        installation = Installation.open(data_dir, database_url)
        process.handlers.register("read_meter", MeterReads(installation.command_port))
        register_chain_handlers(process.handlers, installation)
        process.operations.follow_on = scheduling_of(installation)[0]
    try:
        process.run()
    finally:
        if installation is not None:
            installation.close()


@tasks_app.command("list")
def tasks_list(
    status: Annotated[list[str], typer.Option(help="Repeatable.")] = [],  # noqa: B006
    server: str | None = None,
    task_type: str | None = None,
    submitted_by: str | None = None,
    limit: int = 50,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List tasks, newest scheduled time first."""
    from projections.task_monitor import TaskFilter

    where = TaskFilter(tuple(status), server, task_type, submitted_by)
    with _opened(data_dir, database_url) as (_, monitor):
        monitor.catch_up()
        rows = monitor.view.tasks(where, limit=limit)
        typer.echo(f"{monitor.view.count(where)} tasks")
    for row in rows:
        due = row["due_at"].isoformat(timespec="seconds")
        typer.echo(
            f"{row['task_id']}  {row['status']:<9} {row['task_type']:<16} "
            f"{row['target']:<16} due {due}  on {row['running_on'] or '-'}"
        )


@tasks_app.command("show")
def tasks_show(task_id: UUID, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """A task and every event of its history."""
    with _opened(data_dir, database_url) as (operations, _):
        task = operations.task(task_id)
        history = operations.history_of(task_id)
    _echo(
        {
            "id": str(task.id),
            "state": task.state,
            "task_type": task.task_type,
            "target": task.target,
            "parameters": task.parameters,
            "due_at": task.due_at,
            "attempts": task.attempts,
            "last_error": task.last_error,
            "history": [
                {"event": type(e).__name__, "at": e.timestamp, "actor": e.actor, "reason": e.reason}
                for e in history
            ],
        }
    )


def _task_step(step: str) -> Any:
    def command(
        task_id: UUID, reason: Reason, data_dir: DataDir = None, database_url: DatabaseUrl = None
    ) -> None:
        with _opened(data_dir, database_url) as (operations, _):
            task = getattr(operations, f"{step}_task")(task_id, _who(reason))
        typer.echo(f"task {task.id} is {task.state}")

    command.__doc__ = f"{step.capitalize()} a task."
    return command


for _step in ("hold", "release", "cancel"):
    tasks_app.command(_step)(_task_step(_step))


@tasks_app.command("reschedule")
def tasks_reschedule(
    task_id: UUID,
    at: Annotated[datetime, typer.Option(help="New date and time (ISO, UTC if no zone).")],
    reason: Reason,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Move a task to another date and time."""
    moment = at if at.tzinfo else at.replace(tzinfo=UTC)
    with _opened(data_dir, database_url) as (operations, _):
        task = operations.reschedule_task(task_id, moment, _who(reason))
    typer.echo(f"task {task.id} is {task.state}, due {task.due_at.isoformat()}")


@servers_app.command("list")
def servers_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Processing servers, their state and thread groups."""
    with _opened(data_dir, database_url) as (_, monitor):
        monitor.catch_up()
        rows = monitor.view.servers()
    for row in rows:
        groups = "; ".join(
            f"{g['threads']}x {','.join(g['task_types'])}" for g in row["thread_groups"]
        )
        enabled = "" if row["enabled"] else " (stopped by an administrator)"
        typer.echo(f"{row['name']:<20} {row['status']:<10} {groups}{enabled}")


def _server_step(step: str) -> Any:
    def command(
        name: str, reason: Reason, data_dir: DataDir = None, database_url: DatabaseUrl = None
    ) -> None:
        with _opened(data_dir, database_url) as (operations, _):
            server = getattr(operations, f"{step}_server")(name, _who(reason))
        state = "enabled" if server.enabled else "stopped"
        typer.echo(f"task processing on {server.name} is {state}")

    command.__doc__ = f"{step.capitalize()} task processing on a server."
    return command


for _step in ("stop", "restart"):
    servers_app.command(_step)(_server_step(_step))


@servers_app.command("configure")
def servers_configure(
    name: str,
    group: Annotated[list[str], typer.Option(help="THREADS:TYPE,TYPE (or *), repeatable.")],
    reason: Reason,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a server's thread groups, e.g. --group 6:read_meter,time_sync --group 2:*."""
    groups = []
    for text in group:
        threads, _, types = text.partition(":")
        if not threads.isdigit() or not types:
            raise typer.BadParameter(f"expected THREADS:TYPE,TYPE, not {text!r}")
        groups.append({"threads": int(threads), "task_types": types.split(",")})
    with _opened(data_dir, database_url) as (operations, _):
        server = operations.configure_server(name, groups, _who(reason))
    typer.echo(f"{server.name}: {server.thread_groups}")


if __name__ == "__main__":
    operations_app()
