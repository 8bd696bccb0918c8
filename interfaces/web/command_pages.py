"""Commands to meters from the meter page, and one command's page.

A request is recorded and carried out at once: the page waits for the meter (up to
``COMMAND_TIMEOUT``) and then redirects to the command's own page, which shows the
outcome as recorded - confirmed with what the meter answered, failed with why, or timed
out. A refused request shows the meter page again (422) and records nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from adapters.web_sessions import WebSession
from application.errors import DuplicateKey, UnknownAggregate
from domain.command_types import InvalidCommandParameters
from domain.device_command import CommandStateError
from domain.provenance import InvalidProvenance, Provenance
from interfaces.installation import Installation
from interfaces.web.command_forms import command_parameters
from interfaces.web.errors import PageRefused
from interfaces.web.forms import FormProblem, field_text
from interfaces.web.meter_commands import command_form, show_meter_page
from interfaces.web.operator_roles import operator_for
from interfaces.web.rendering import render, with_security_headers

COMMAND_TIMEOUT = 30.0
REFUSALS = (FormProblem, InvalidCommandParameters, CommandStateError, InvalidProvenance)

log = logging.getLogger(__name__)
commander = operator_for("Commands to meters need the operator role.")


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.post("/meters/{serial}/commands")
    async def request_command(
        request: Request, serial: str, session: Annotated[WebSession, Depends(commander)]
    ) -> Response:
        install: Installation = request.app.state.installation
        form = await request.form()
        submitted = {name: value for name, value in form.items() if isinstance(value, str)}
        try:
            command_id = await run_in_threadpool(_request, install, session, serial, form)
        except UnknownAggregate as error:
            raise PageRefused(404, str(error)) from None
        except (*REFUSALS, DuplicateKey) as error:
            status = 409 if isinstance(error, DuplicateKey) else 422
            refused = command_form(submitted, f"Nothing was requested: {error}")
            today = datetime.now(UTC).date()
            return await run_in_threadpool(
                show_meter_page,
                request,
                session,
                serial,
                today,
                None,
                commands_form=refused,
                status_code=status,
            )
        try:
            await install.head_end.execute(command_id, install.command_port, COMMAND_TIMEOUT)
        except Exception:
            # The request is recorded whatever happened here; its page shows how far it got.
            log.exception("command %s could not be carried out", command_id)
        return with_security_headers(RedirectResponse(f"/commands/{command_id}", 303))

    @pages.get("/commands/{command_id}")
    def command_page(request: Request, command_id: str) -> Response:
        install: Installation = request.app.state.installation
        try:
            found = install.head_end.command(UUID(command_id))
        except (ValueError, UnknownAggregate):
            raise PageRefused(404, f"no command {command_id!r}") from None
        history = install.head_end.history_of(found.id)
        return render(request, "command.html", {"command": found, "history": _steps(history)})

    return pages


def _request(install: Installation, session: WebSession, serial: str, form: FormData) -> UUID:
    command_type = field_text(form, "command_type")
    parameters = command_parameters(command_type, form)
    provenance = Provenance(actor=session.username, reason=field_text(form, "reason"), source="ui")
    return install.head_end.request_command(
        serial, command_type, parameters, provenance, field_text(form, "request_key") or None
    )


def _steps(history: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "version": event.originator_version,
            "recorded_at": event.timestamp,
            "event": type(event).__name__,
            "actor": event.actor,
            "reason": event.reason,
            "reason_code": event.reason_code,
            "source": event.source,
            "error": getattr(event, "error", ""),
        }
        for event in history
    ]
