"""Commands to meters: request, follow, and (with ``wait``) see the meter's answer."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.device_command import DeviceCommand
from interfaces.api.registry_routes import Install, Reader, Writer, api_provenance


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command_type: str = Field(min_length=1, max_length=64)
    parameters: dict[str, Any] = Field(default_factory=dict)
    reason: str = Field(min_length=1, max_length=500)
    reason_code: str = ""
    request_key: str | None = Field(
        None, max_length=200, description="repeat a request with the same key: no second command"
    )
    wait: bool = Field(False, description="answer only when the meter has answered")


def command_view(command: DeviceCommand, history: list[Any]) -> dict[str, Any]:
    return {
        "id": str(command.id),
        "meter_serial": command.meter_serial,
        "command_type": command.command_type,
        "parameters": command.parameters,
        "state": command.state,
        "attempts": command.attempts,
        "result": command.result,
        "error": command.error,
        "history": [
            {
                "version": event.originator_version,
                "recorded_at": event.timestamp.isoformat(),
                "event": type(event).__name__,
                "actor": event.actor,
                "reason": event.reason,
                "source": event.source,
            }
            for event in history
        ],
    }


def command_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["commands"])

    @router.post("/meters/{serial}/commands", status_code=202)
    async def request_command(
        serial: str,
        body: CommandRequest,
        response: Response,
        background: BackgroundTasks,
        install: Install,
        who: Writer,
    ) -> dict[str, Any]:
        head_end = install.head_end
        command_id = await asyncio.to_thread(
            head_end.request_command,
            serial,
            body.command_type,
            body.parameters,
            api_provenance(who, body.reason, body.reason_code),
            body.request_key,
        )
        if body.wait:
            await head_end.execute(command_id, install.command_port)
            response.status_code = 200
        else:
            await asyncio.to_thread(head_end.queue, command_id)
            background.add_task(head_end.execute, command_id, install.command_port)
        return await asyncio.to_thread(_view, install, command_id)

    @router.get("/commands/{command_id}")
    def read_command(command_id: UUID, install: Install, who: Reader) -> dict[str, Any]:
        return _view(install, command_id)

    return router


def _view(install: Any, command_id: UUID) -> dict[str, Any]:
    command = install.head_end.command(command_id)
    return command_view(command, install.head_end.history_of(command_id))
