"""Recording a change or a correction from the meter page's form.

The form shows the values in force on one day (``shown_on``) of one version
(``expected_version``); only the fields the user altered become the change, and an
edit based on an older version is refused rather than silently overwriting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from adapters.web_sessions import WebSession
from application.errors import ConcurrentEdit, UnknownAggregate
from domain.attributes import InvalidAttributes
from domain.provenance import InvalidProvenance, Provenance
from domain.registered import RegistryRuleViolation
from interfaces.installation import Installation
from interfaces.web.errors import PageRefused
from interfaces.web.forms import FormProblem, changed_values, parse_day
from interfaces.web.meter_views import form_fields, show_meter
from interfaces.web.rendering import with_security_headers


def record_edit(request: Request, session: WebSession, serial: str, form: FormData) -> Response:
    install: Installation = request.app.state.installation
    submitted = {name: value for name, value in form.items() if isinstance(value, str)}
    today = datetime.now(UTC).date()
    correction = submitted.get("correction") == "on"
    try:
        day = parse_day("effective_from", submitted.get("effective_from"), today)
        shown_on = parse_day("shown_on", submitted.get("shown_on"), today)
        expected = _version(submitted.get("expected_version"))
        meter = install.registry.get("meter", serial)
        changes = changed_values(form_fields(meter, shown_on), submitted)
        provenance = Provenance(
            actor=session.username,
            reason=submitted.get("reason", "").strip(),
            reason_code=submitted.get("reason_code", "").strip(),
            source="ui",
        )
        edit = install.registry.correct if correction else install.registry.change
        version = edit("meter", serial, changes, day, provenance, expected)
    except UnknownAggregate as error:
        raise PageRefused(404, str(error)) from None
    except FormProblem as problem:
        return _refused(request, session, serial, submitted, {problem.field: problem.message})
    except InvalidAttributes as error:
        return _refused(request, session, serial, submitted, error.problems)
    except InvalidProvenance as error:
        return _refused(request, session, serial, submitted, {"reason": str(error)})
    except RegistryRuleViolation as error:
        return _refused(request, session, serial, submitted, {}, str(error))
    except ConcurrentEdit as error:
        return _refused(request, session, serial, {}, {}, str(error), 409)
    return with_security_headers(
        RedirectResponse(f"/meters/{quote(serial, safe='')}?saved={version}", 303)
    )


def _version(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise FormProblem("expected_version", "must be a whole number") from None


def _refused(
    request: Request,
    session: WebSession,
    serial: str,
    submitted: dict[str, Any],
    problems: dict[str, str],
    message: str = "",
    status_code: int = 422,
) -> Response:
    summary = message or "Nothing was recorded: " + "; ".join(
        f"{name}: {text}" for name, text in problems.items()
    )
    form = {"submitted": submitted, "problems": problems, "message": summary}
    # Show the form again on the day it was filled in, so unchanged fields stay unchanged.
    try:
        day = parse_day("shown_on", submitted.get("shown_on"), datetime.now(UTC).date())
    except FormProblem:
        day = datetime.now(UTC).date()
    return show_meter(request, session, serial, day, None, form=form, status_code=status_code)
