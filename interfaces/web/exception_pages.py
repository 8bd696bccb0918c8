"""The VEE exception queue: intervals validation failed and estimation could not fill.

Each entry stays until a person edits or accepts the interval (or a new delivery
settles it); the page links every entry to its channel around that interval.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from domain.vee.rules import RULES
from interfaces.installation import Installation
from interfaces.web.channel_pages import channel_id_of
from interfaces.web.interval_table import start_key
from interfaces.web.rendering import render

PAGE_SIZE = 50


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/exceptions")
    def exceptions(
        request: Request,
        channel: str = "",
        rule: str = "",
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        install: Installation = request.app.state.installation
        install.read_models.catch_up()
        queue = install.read_models.vee_exceptions
        channel_id = channel_id_of(channel.strip()) if channel.strip() else None
        wanted = rule.strip() or None
        entries = queue.exceptions(
            channel_id=channel_id, rule=wanted, limit=PAGE_SIZE, offset=offset
        )
        total = queue.count(channel_id=channel_id, rule=wanted)
        query = {name: value for name, value in (("channel", channel), ("rule", rule)) if value}
        context: dict[str, Any] = {
            "filters": {"channel": channel, "rule": rule},
            "rules": sorted(RULES),
            "entries": _shown(install, entries),
            "total": total,
            # The heading counts the whole queue; the results line the filtered part.
            "all_total": queue.count() if channel_id or wanted else total,
            "offset": offset,
            "previous": _page(query, max(offset - PAGE_SIZE, 0)) if offset else None,
            "next": _page(query, offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        }
        return render(request, "exceptions.html", context)

    return pages


def _shown(install: Installation, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries with their channel's key and a link to the channel on that day."""
    channels: dict[str, dict[str, Any] | None] = {}
    shown = []
    for entry in entries:
        channel_id = entry["channel_id"]
        if channel_id not in channels:
            channels[channel_id] = install.read_models.directory.channel(UUID(channel_id))
        found = channels[channel_id] or {}
        day = entry["start"].date().isoformat()
        key = start_key(entry["start"])
        shown.append(
            {
                **entry,
                "channel_key": found.get("channel_key") or channel_id,
                "channel_link": f"/channels/{channel_id}?{urlencode({'from': day, 'to': day})}"
                f"#i-{key}",
                "versions_link": f"/channels/{channel_id}/intervals/{key}/versions",
            }
        )
    return shown


def _page(query: dict[str, str], offset: int) -> str:
    return "/exceptions?" + urlencode({**query, "offset": offset})
