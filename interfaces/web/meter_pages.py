"""The meter list, one meter as of any time, and its change/correction form.

The meter page also lists the commands asked of the meter, with a form to send one
(``meter_commands``, ``command_pages``).

Edits are plain POST + redirect (no JS needed); a refused edit shows the form again
with the domain's own message and status 422, and records nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from adapters.web_sessions import WebSession
from interfaces.installation import Installation
from interfaces.web.errors import PageRefused
from interfaces.web.forms import FormProblem, parse_day, parse_moment
from interfaces.web.meter_commands import show_meter_page
from interfaces.web.meter_edit import record_edit
from interfaces.web.rendering import render, with_security_headers
from interfaces.web.sessions import editor, signed_in

PAGE_SIZE = 50


def installation(request: Request) -> Installation:
    found: Installation = request.app.state.installation
    return found


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/")
    def home() -> Response:
        return with_security_headers(RedirectResponse("/meters", 303))

    @pages.get("/meters")
    def meters(
        request: Request,
        search: str = "",
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        install = installation(request)
        install.read_models.catch_up()
        directory = install.read_models.directory
        wanted = search.strip() or None
        matching = directory.count(search=wanted)
        context = {
            "meters": directory.meters(search=wanted, limit=PAGE_SIZE, offset=offset),
            "total": directory.count() if wanted else matching,
            "matching": matching,
            "search": search,
            "offset": offset,
            "previous": _list_page(search, max(offset - PAGE_SIZE, 0)) if offset else None,
            "next": _list_page(search, offset + PAGE_SIZE)
            if offset + PAGE_SIZE < matching
            else None,
        }
        return render(request, "meters.html", context)

    @pages.get("/meters/{serial}")
    def meter(
        request: Request,
        serial: str,
        session: Annotated[WebSession, Depends(signed_in)],
        as_of: str = "",
        effective: str = "",
        saved: int | None = None,
    ) -> Response:
        now = datetime.now(UTC)
        try:
            moment = parse_moment("as_of", as_of)
            day = parse_day("effective", effective, now.date())
        except FormProblem as problem:
            raise PageRefused(422, str(problem)) from None
        return show_meter_page(request, session, serial, day, moment, saved=saved)

    @pages.post("/meters/{serial}")
    async def edit_meter(
        request: Request, serial: str, session: Annotated[WebSession, Depends(editor)]
    ) -> Response:
        form = await request.form()
        return await run_in_threadpool(record_edit, request, session, serial, form)

    return pages


def _list_page(search: str, offset: int) -> str:
    return "/meters?" + urlencode({"search": search, "offset": offset})
