"""What the meter page shows: attributes on a day as known at a time, history, edit form."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request
from starlette.responses import Response

from adapters.web_sessions import WebSession
from application.errors import UnknownAggregate
from domain.meter import Meter
from interfaces.api.views import aggregate_view, event_view
from interfaces.installation import Installation
from interfaces.web.errors import PageRefused
from interfaces.web.forms import FormField, editable_fields, moment_field, now_field
from interfaces.web.rendering import render
from interfaces.web.sessions import EDIT_ROLES

CRITICAL = [name for name, attribute in Meter.SCHEMA.items() if attribute.critical]


def meter_page(
    install: Installation,
    serial: str,
    effective: date,
    as_of: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """Everything but the edit form; raises UnknownAggregate when nothing is known."""
    meter = install.registry.get("meter", serial, as_of=as_of)
    view = aggregate_view(meter, effective, as_of)
    attributes = [
        {
            "name": name,
            "value": view["attributes"].get(name),
            "critical": attribute.critical,
            "since": meter.period_of(name, effective),
        }
        for name, attribute in Meter.SCHEMA.items()
        if name in view["attributes"]
    ]
    install.read_models.catch_up()  # the channel list comes from the directory
    history = [event_view(event) for event in install.registry.history("meter", serial)]
    for entry in history:
        entry["later"] = as_of is not None and datetime.fromisoformat(entry["recorded_at"]) > as_of
    return {
        "serial": meter.key,
        "meter": view,
        "attributes": attributes,
        "critical": {name: view["timelines"].get(name, []) for name in CRITICAL},
        "channels": install.read_models.directory.channels_of_meter(meter.key),
        "history": list(reversed(history)),
        "effective": effective.isoformat(),
        "as_of_field": moment_field(as_of) if as_of else now_field(now),
        "as_of": as_of,
    }


def edit_form(
    install: Installation,
    serial: str,
    shown_on: date,
    submitted: dict[str, Any] | None = None,
    problems: dict[str, str] | None = None,
    message: str = "",
) -> dict[str, Any]:
    """The form for a change or a correction, based on the latest recorded version."""
    meter = install.registry.get("meter", serial)
    fields = form_fields(meter, shown_on)
    values = {field.name: field.value for field in fields}
    if submitted:
        values.update({name: str(value) for name, value in submitted.items()})
    return {
        "fields": fields,
        "values": values,
        "version": meter.version,
        "shown_on": shown_on.isoformat(),
        "problems": problems or {},
        "message": message,
    }


def form_fields(meter: Any, shown_on: date) -> list[FormField]:
    return editable_fields(Meter.SCHEMA, meter.attributes_on(shown_on), Meter.KEY)


def show_meter(
    request: Request,
    session: WebSession,
    serial: str,
    day: date,
    moment: datetime | None,
    *,
    saved: int | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    install: Installation = request.app.state.installation
    try:
        context = meter_page(install, serial, day, moment, datetime.now(UTC))
        if session.has_role(*EDIT_ROLES):
            form = form or {}
            context["form"] = edit_form(
                install,
                serial,
                day,
                form.get("submitted"),
                form.get("problems"),
                form.get("message", ""),
            )
    except UnknownAggregate as error:
        raise PageRefused(404, str(error)) from None
    context["saved"] = saved
    return render(request, "meter.html", context, status_code)
