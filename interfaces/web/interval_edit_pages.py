"""A person's work on intervals: edit or accept as is from the channel page, and the
versions of one interval (the auditor's view of who changed what, when and why).

An edit is a plain POST + redirect back to the same range; a refusal shows the channel
page again with the domain's message (422) and the form as filled in, and records
nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from adapters.web_sessions import WebSession
from application.errors import ConcurrentEdit, UnknownAggregate
from domain.channel_day import BlockOutOfDay, EstimateLocked
from domain.provenance import InvalidProvenance
from domain.vee.reason_codes import UnknownReasonCode
from interfaces.installation import Installation
from interfaces.web.channel_pages import channel_id_of, show_channel
from interfaces.web.errors import PageRefused
from interfaces.web.forms import FormProblem, field_text
from interfaces.web.interval_edit_form import ACTIONS, EditSubmission, edit_form
from interfaces.web.interval_table import parse_start, start_key
from interfaces.web.operator_roles import channel_form_post, operator_for
from interfaces.web.rendering import render, with_security_headers

# What the domain refuses for a person's edit; each is shown on the page, nothing stored.
REFUSALS = (FormProblem, UnknownReasonCode, InvalidProvenance, BlockOutOfDay, EstimateLocked)

interval_editor = operator_for("Editing interval data needs the operator role.")


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    channel_form_post(pages, "/channels/{channel}/edits", interval_editor, _record)

    @pages.get("/channels/{channel}/intervals/{start}/versions")
    def interval_versions(request: Request, channel: str, start: str) -> Response:
        install: Installation = request.app.state.installation
        channel_id = channel_id_of(channel)
        install.read_models.catch_up()
        found = install.read_models.directory.channel(channel_id)
        if found is None:
            raise PageRefused(404, f"no channel {channel!r}")
        try:
            moment = parse_start("start", start)
            versions = install.readings.interval_versions(channel_id, moment)
        except UnknownAggregate:
            raise PageRefused(404, f"nothing was ever recorded for {start}") from None
        except (FormProblem, BlockOutOfDay) as error:
            raise PageRefused(422, str(error)) from None
        day = moment.date().isoformat()
        context: dict[str, Any] = {
            "channel": found,
            "channel_id": str(channel_id),
            "start": moment,
            "back": f"/channels/{channel_id}?{urlencode({'from': day, 'to': day})}"
            f"#i-{start_key(moment)}",
            "versions": versions,
        }
        return render(request, "interval_versions.html", context)

    return pages


def _record(request: Request, session: WebSession, channel: str, form: FormData) -> Response:
    install: Installation = request.app.state.installation
    channel_id = channel_id_of(channel)
    submitted = EditSubmission.read(form)
    start, end = field_text(form, "from"), field_text(form, "to")
    try:
        if submitted.action not in ACTIONS:
            raise FormProblem("action", f"must be one of {', '.join(ACTIONS)}")
        provenance = submitted.provenance(session.username)
        if submitted.action == "accept":
            starts = submitted.starts()
            install.readings.accept_as_is(channel_id, starts, provenance)
            done = {"accepted": len(starts)}
        else:
            values = submitted.new_values()
            install.readings.edit_intervals(channel_id, values, provenance)
            done = {"edited": len(values)}
    except REFUSALS as error:
        return _refused(request, channel, start, end, submitted, str(error), 422)
    except UnknownAggregate:
        message = "some selected intervals were never recorded; nothing was changed"
        return _refused(request, channel, start, end, submitted, message, 422)
    except ConcurrentEdit as error:
        return _refused(request, channel, start, end, submitted, str(error), 409)
    query = urlencode({"from": start, "to": end, **done})
    return with_security_headers(RedirectResponse(f"/channels/{channel_id}?{query}#intervals", 303))


def _refused(
    request: Request,
    channel: str,
    start: str,
    end: str,
    submitted: EditSubmission,
    message: str,
    status_code: int,
) -> Response:
    form = edit_form(submitted, f"Nothing was recorded: {message}")
    return show_channel(request, channel, start, end, form=form, status_code=status_code)
