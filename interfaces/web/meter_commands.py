"""The meter page's Commands section: the commands asked of this meter, and the form.

There is no read model of commands per meter yet, so the list comes from the head
end's notification log: only ``Requested`` events (filtered by topic in the database),
among its latest ``SCAN_WINDOW`` events. The page says so; a per-meter command read
model would lift the limit.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request
from starlette.responses import Response

from adapters.web_sessions import WebSession
from application.errors import UnknownAggregate
from domain.device_command import DeviceCommand
from interfaces.installation import Installation
from interfaces.web.command_forms import offered
from interfaces.web.errors import PageRefused
from interfaces.web.meter_views import edit_form, meter_page
from interfaces.web.rendering import render
from interfaces.web.sessions import EDIT_ROLES

SCAN_WINDOW = 5000
SHOWN = 20


def commands_of_meter(
    install: Installation, serial: str, limit: int = SHOWN
) -> list[dict[str, Any]]:
    """The latest commands requested of ``serial``, newest first, in their current state."""
    head_end = install.head_end
    last = head_end.recorder.max_notification_id()
    if last is None:
        return []
    notifications = head_end.recorder.select_notifications(
        max(1, last - SCAN_WINDOW + 1),
        SCAN_WINDOW,
        stop=last,
        topics=[DeviceCommand.Requested.TOPIC],
    )
    requested: list[Any] = [head_end.mapper.to_domain_event(n) for n in reversed(notifications)]
    mine = [event for event in requested if event.meter_serial == serial][:limit]
    return [_summary(event, head_end.command(event.originator_id)) for event in mine]


def _summary(requested: Any, command: DeviceCommand) -> dict[str, Any]:
    return {
        "id": str(command.id),
        "command_type": command.command_type,
        "parameters": command.parameters,
        "state": command.state,
        "error": command.error,
        "requested_at": requested.timestamp,
        "actor": requested.actor,
        "reason": requested.reason,
    }


def command_form(submitted: dict[str, str] | None = None, problem: str = "") -> dict[str, Any]:
    values = dict(submitted or {})
    # A fresh key per form shown: a double-submitted form asks the meter only once.
    values.setdefault("request_key", uuid.uuid4().hex)
    return {"types": offered(), "values": values, "problem": problem}


def show_meter_page(
    request: Request,
    session: WebSession,
    serial: str,
    day: date,
    moment: datetime | None,
    *,
    saved: int | None = None,
    commands_form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """The meter page of ``meter_views.show_meter`` with its Commands section."""
    install: Installation = request.app.state.installation
    operator = session.has_role(*EDIT_ROLES)
    try:
        context = meter_page(install, serial, day, moment, datetime.now(UTC))
        if operator:
            context["form"] = edit_form(install, serial, day)
    except UnknownAggregate as error:
        raise PageRefused(404, str(error)) from None
    context["saved"] = saved
    context["commands"] = {
        "recent": commands_of_meter(install, serial),
        "scan_window": SCAN_WINDOW,
        "form": (commands_form or command_form()) if operator else None,
    }
    return render(request, "meter.html", context, status_code)
