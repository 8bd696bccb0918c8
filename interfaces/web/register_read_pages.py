"""A register read a person brings (a technician's reading on site, a customer's photo of
the display), entered on the channel page: a plain POST + redirect back; a refusal shows
the page again with the message and the form as filled in, and records nothing."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from adapters.web_sessions import WebSession
from application.errors import ConcurrentEdit, UnknownAggregate
from application.register_reads import record_brought_reads
from domain.provenance import InvalidProvenance
from domain.register_month import InvalidRegisterRead
from domain.vee.reason_codes import UnknownReasonCode
from domain.vee.series import RegisterRead
from interfaces.installation import Installation
from interfaces.web.channel_pages import channel_id_of, show_channel
from interfaces.web.errors import PageRefused
from interfaces.web.forms import FormProblem, decimal_text, field_text, parse_moment
from interfaces.web.interval_edit_form import reasoned_provenance
from interfaces.web.operator_roles import channel_form_post, operator_for
from interfaces.web.register_read_form import FIELDS, register_form
from interfaces.web.rendering import with_security_headers

REFUSALS = (FormProblem, InvalidRegisterRead, UnknownReasonCode, InvalidProvenance, ConcurrentEdit)

register_reader = operator_for("Entering register reads needs the operator role.")


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    channel_form_post(pages, "/channels/{channel}/registers", register_reader, _record)

    return pages


def _record(request: Request, session: WebSession, channel: str, form: FormData) -> Response:
    install: Installation = request.app.state.installation
    channel_id = channel_id_of(channel)
    submitted = {name: field_text(form, name) for name in FIELDS}
    start, end = field_text(form, "from"), field_text(form, "to")
    try:
        read = _read(submitted)
        provenance = reasoned_provenance(
            session.username, submitted["reason_code"], submitted["reason"]
        )
        recorded = record_brought_reads(
            install.registry, install.readings, channel_id, channel, [read], provenance
        )
    except UnknownAggregate:
        raise PageRefused(404, f"no channel {channel!r}") from None
    except REFUSALS as error:
        refused = register_form(submitted, f"Nothing was recorded: {error}")
        return show_channel(request, channel, start, end, register=refused, status_code=422)
    query = urlencode({"from": start, "to": end, "registered": recorded})
    return with_security_headers(RedirectResponse(f"/channels/{channel_id}?{query}#registers", 303))


def _read(submitted: dict[str, str]) -> RegisterRead:
    read_at = parse_moment("read_at", submitted["read_at"])
    if read_at is None:
        raise FormProblem("read_at", "give the time the register was read (UTC)")
    try:
        value = Decimal(decimal_text(submitted["value"]))
    except InvalidOperation:
        raise FormProblem("value", f"is not a number: {submitted['value']!r}") from None
    return RegisterRead(read_at, value, submitted["register"] or "total")
