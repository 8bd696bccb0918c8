"""The audit trail: who changed what, when, why and from where, filtered and paged."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from application.registry import KINDS
from interfaces.installation import Installation
from interfaces.web.forms import FormProblem, parse_moment
from interfaces.web.rendering import render

PAGE_SIZE = 50
FILTERS = ("actor", "aggregate_type", "key", "since", "until")


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/audit")
    def audit(
        request: Request,
        actor: str = "",
        aggregate_type: str = "",
        key: str = "",
        since: str = "",
        until: str = "",
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        install: Installation = request.app.state.installation
        shown = {
            "actor": actor,
            "aggregate_type": aggregate_type,
            "key": key,
            "since": since,
            "until": until,
        }
        context: dict[str, Any] = {
            "filters": shown,
            "kinds": sorted([*KINDS, "user"]),
            "entries": [],
            "total": 0,
            "problem": "",
            "offset": offset,
        }
        try:
            filters: dict[str, Any] = {
                "actor": actor.strip() or None,
                "aggregate_type": aggregate_type.strip() or None,
                "key": key.strip() or None,
                "since": parse_moment("since", since),
                "until": parse_moment("until", until),
            }
        except FormProblem as problem:
            context["problem"] = str(problem)
            return render(request, "audit.html", context, 422)
        install.read_models.catch_up()
        audit_log = install.read_models.audit
        context["entries"] = audit_log.entries(**filters, limit=PAGE_SIZE, offset=offset)
        context["total"] = total = audit_log.count(**filters)
        query = {name: value for name, value in shown.items() if value}
        if offset > 0:
            context["previous"] = _page(query, max(offset - PAGE_SIZE, 0))
        if offset + PAGE_SIZE < total:
            context["next"] = _page(query, offset + PAGE_SIZE)
        return render(request, "audit.html", context)

    return pages


def _page(query: dict[str, str], offset: int) -> str:
    return "/audit?" + urlencode({**query, "offset": offset})
