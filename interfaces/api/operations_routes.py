"""The task monitor and processing servers over HTTP.

Operators list, filter and count tasks, create ad-hoc ones and hold, release,
reschedule, edit or cancel them; administrators stop, restart and configure processing
servers. Lists come from the task monitor read model; a single task and its history
come from the event store (``as_of`` shows it as it was recorded then).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from application.security import Principal
from domain.processing_server import ServerStateError
from domain.task import TaskStateError
from domain.task_types import InvalidTaskParameters
from interfaces.api.auth import requires
from interfaces.api.registry_routes import AsOf, Install, api_provenance, aware
from projections.task_monitor import TaskFilter

TaskReader = Annotated[Principal, Depends(requires("operator", "auditor"))]
TaskWriter = Annotated[Principal, Depends(requires("operator"))]
Administrator = Annotated[Principal, Depends(requires("administrator"))]


class Why(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
    reason_code: str = ""


class AdHocTask(Why):
    task_type: str = Field(min_length=1, max_length=64)
    target: str = Field(min_length=1, max_length=200)
    parameters: dict[str, Any] = Field(default_factory=dict)
    due_at: datetime | None = Field(None, description="when to run (default now)")
    server: str | None = Field(None, description="run only on this processing server")
    request_key: str | None = Field(None, max_length=200, description="repeat: no second task")


class Reschedule(Why):
    due_at: datetime


class TaskEdit(Why):
    parameters: dict[str, Any] | None = None
    server: str | None = None
    unpin: bool = False
    expected_version: int | None = None


class ThreadGroupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threads: int = Field(ge=1, le=256)
    task_types: list[str] = Field(min_length=1)


class ServerSettings(Why):
    thread_groups: list[ThreadGroupBody] | None = None
    threads_per_task_type: dict[str, int] | None = Field(
        None, description="shorthand: one thread group per task type"
    )


@contextmanager
def _refusals() -> Iterator[None]:
    """What the task and server rules refuse is a 422 with the rule's own words."""
    try:
        yield
    except (TaskStateError, ServerStateError, InvalidTaskParameters) as error:
        raise HTTPException(422, str(error)) from None


def _filter(
    status: Annotated[list[str] | None, Query()] = None,
    server: str | None = None,
    task_type: str | None = None,
    submitted_by: str | None = None,
    submitted_from: datetime | None = None,
    submitted_until: datetime | None = None,
    due_from: datetime | None = None,
    due_until: datetime | None = None,
    cycle_key: str | None = None,
    target: str | None = None,
) -> TaskFilter:
    return TaskFilter(
        tuple(status or ()),
        server,
        task_type,
        submitted_by,
        aware(submitted_from),
        aware(submitted_until),
        aware(due_from),
        aware(due_until),
        cycle_key,
        target,
    )


Filters = Annotated[TaskFilter, Depends(_filter)]


def task_view(task: Any, history: list[Any] | None = None) -> dict[str, Any]:
    view = {
        "id": str(task.id),
        "version": task.version,
        "task_type": task.task_type,
        "target": task.target,
        "parameters": task.parameters,
        "priority": task.priority,
        "origin": task.origin,
        "cycle_key": task.cycle_key,
        "server": task.server,
        "state": task.state,
        "due_at": task.due_at.isoformat(),
        "next_run_at": task.run_at.isoformat(),
        "dispatch": task.dispatches,
        "queue": task.queue_name,
        "attempts": task.attempts,
        "max_attempts": task.max_attempts,
        "running_on": task.running_on,
        "last_error": task.last_error,
        "result": task.result,
    }
    if history is not None:
        view["history"] = [_event_view(event) for event in history]
    return view


def _event_view(event: Any) -> dict[str, Any]:
    hidden = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    hidden |= {"actor", "reason", "reason_code", "source"}
    details = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in event.__dict__.items()
        if name not in hidden
    }
    return {
        "version": event.originator_version,
        "recorded_at": event.timestamp.isoformat(),
        "event": type(event).__name__,
        "actor": event.actor,
        "reason": event.reason,
        "reason_code": event.reason_code,
        "source": event.source,
        "details": details,
    }


def operations_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["operations"])

    @router.get("/tasks")
    def list_tasks(
        install: Install,
        who: TaskReader,
        where: Filters,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        monitor = install.task_monitor
        monitor.catch_up()
        return {
            "total": monitor.view.count(where),
            "tasks": monitor.view.tasks(where, limit=limit, offset=offset),
        }

    @router.get("/tasks/statistics")
    def task_statistics(install: Install, who: TaskReader, where: Filters) -> dict[str, Any]:
        install.task_monitor.catch_up()
        return install.task_monitor.view.statistics(where)

    @router.get("/tasks/{task_id}")
    def read_task(task_id: UUID, install: Install, who: TaskReader, as_of: AsOf = None) -> Any:
        task = install.operations.task(task_id, aware(as_of))
        return task_view(task, install.operations.history_of(task_id)[: task.version])

    @router.post("/tasks", status_code=201)
    def create_task(body: AdHocTask, install: Install, who: TaskWriter) -> dict[str, Any]:
        with _refusals():
            task_id = install.operations.create_task(
                body.task_type,
                body.target,
                body.parameters,
                aware(body.due_at) or datetime.now(UTC),
                api_provenance(who, body.reason, body.reason_code),
                server=body.server,
                request_key=body.request_key,
            )
        return task_view(install.operations.task(task_id))

    def step(name: str) -> None:
        def change(task_id: UUID, body: Why, install: Install, who: TaskWriter) -> Any:
            with _refusals():
                task = getattr(install.operations, f"{name}_task")(
                    task_id, api_provenance(who, body.reason, body.reason_code)
                )
            return task_view(task)

        router.add_api_route(
            f"/tasks/{{task_id}}/{name}", change, methods=["POST"], summary=f"{name} a task"
        )

    for name in ("hold", "release", "cancel"):
        step(name)

    @router.post("/tasks/{task_id}/reschedule")
    def reschedule(task_id: UUID, body: Reschedule, install: Install, who: TaskWriter) -> Any:
        due_at = aware(body.due_at)
        assert due_at is not None
        with _refusals():
            task = install.operations.reschedule_task(
                task_id, due_at, api_provenance(who, body.reason, body.reason_code)
            )
        return task_view(task)

    @router.patch("/tasks/{task_id}")
    def edit_task(
        task_id: UUID,
        body: TaskEdit,
        install: Install,
        who: TaskWriter,
        if_match: Annotated[str | None, Header()] = None,
    ) -> Any:
        expected = body.expected_version
        if expected is None and if_match:
            expected = int(if_match.strip('"W/ '))
        with _refusals():
            task = install.operations.edit_task(
                task_id,
                api_provenance(who, body.reason, body.reason_code),
                parameters=body.parameters,
                server=body.server,
                unpin=body.unpin,
                expected_version=expected,
            )
        return task_view(task)

    @router.get("/processing-servers")
    def list_servers(install: Install, who: TaskReader) -> dict[str, Any]:
        install.task_monitor.catch_up()
        return {"servers": install.task_monitor.view.servers()}

    def server_step(name: str) -> None:
        def change(server: str, body: Why, install: Install, who: Administrator) -> Any:
            with _refusals():
                found = getattr(install.operations, f"{name}_server")(
                    server, api_provenance(who, body.reason, body.reason_code)
                )
            return _server_view(found)

        router.add_api_route(
            f"/processing-servers/{{server}}/{name}",
            change,
            methods=["POST"],
            summary=f"{name} task processing on a server",
        )

    for name in ("stop", "restart"):
        server_step(name)

    @router.patch("/processing-servers/{server}")
    def configure_server(
        server: str, body: ServerSettings, response: Response, install: Install, who: Administrator
    ) -> Any:
        groups = [group.model_dump() for group in body.thread_groups or ()]
        groups += [
            {"threads": threads, "task_types": [task_type]}
            for task_type, threads in (body.threads_per_task_type or {}).items()
        ]
        if not groups:
            raise HTTPException(422, "give thread_groups or threads_per_task_type")
        with _refusals():
            found = install.operations.configure_server(
                server, groups, api_provenance(who, body.reason, body.reason_code)
            )
        return _server_view(found)

    return router


def _server_view(server: Any) -> dict[str, Any]:
    return {
        "name": server.name,
        "version": server.version,
        "status": server.status,
        "enabled": server.enabled,
        "instance": server.instance,
        "host": server.host,
        "thread_groups": server.thread_groups,
    }
