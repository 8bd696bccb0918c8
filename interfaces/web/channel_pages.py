"""One channel's intervals over a date range, as known at any recorded time.

Values come from the Readings application (the record itself), not from a read model,
because only the record can answer "as known at" for every interval. Operators select
intervals in the table to edit them or accept them as is (``interval_edit_pages``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from adapters.web_sessions import WebSession
from domain.channel import Channel
from domain.channel_day import day_start
from interfaces.installation import Installation
from interfaces.web.errors import PageRefused
from interfaces.web.forms import FormProblem, now_field, parse_day, parse_moment
from interfaces.web.interval_edit_form import edit_form
from interfaces.web.interval_table import table_rows
from interfaces.web.register_read_form import register_form
from interfaces.web.rendering import render
from interfaces.web.sessions import EDIT_ROLES

DEFAULT_DAYS = 2
MAX_DAYS = 92
# The chart takes every value; the table stops here so a long range stays a page.
MAX_TABLE_ROWS = 2000
# Browsers send every named input, even empty, and a form may carry at most 1,000
# fields (Starlette's limit): beyond this many rows the table offers no value per row.
ROW_VALUES_UP_TO = 480


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/channels/{channel}")
    def channel_page(
        request: Request,
        channel: str,
        start: Annotated[str, Query(alias="from")] = "",
        end: Annotated[str, Query(alias="to")] = "",
        as_of: str = "",
        edited: Annotated[int, Query(ge=0)] = 0,
        accepted: Annotated[int, Query(ge=0)] = 0,
        registered: Annotated[int | None, Query(ge=0)] = None,
    ) -> Response:
        notice = ""
        if edited or accepted:
            notice = f"{edited} intervals edited." if edited else f"{accepted} accepted as is."
        if registered is not None:
            notice = (
                "the register read." if registered else "nothing new (the same read was known)."
            )
        return show_channel(request, channel, start, end, as_of, notice=notice)

    return pages


def show_channel(
    request: Request,
    channel: str,
    start: str,
    end: str,
    as_of: str = "",
    *,
    form: dict[str, Any] | None = None,
    register: dict[str, Any] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    install: Installation = request.app.state.installation
    channel_id = channel_id_of(channel)
    install.read_models.catch_up()
    found = install.read_models.directory.channel(channel_id)
    if found is None:
        raise PageRefused(404, f"no channel {channel!r}")
    now = datetime.now(UTC)
    session: WebSession | None = getattr(request.state, "web_session", None)
    context: dict[str, Any] = {
        "channel": found,
        "channel_id": str(channel_id),
        "from_day": start or (now.date() - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "to_day": end or now.date().isoformat(),
        "as_of_field": as_of or now_field(now),
        "problem": "",
        "notice": notice,
        "rows": [],
        "register_reads": [],
        "chart": {"times": [], "values": [], "unit": found.get("unit") or ""},
        "open_exceptions": install.read_models.vee_exceptions.count(channel_id=channel_id),
        "form": (form or edit_form()) if session and session.has_role(*EDIT_ROLES) else None,
        "register_form": (
            (register or register_form()) if session and session.has_role(*EDIT_ROLES) else None
        ),
    }
    try:
        first, last, moment = _range(start, end, as_of, now.date())
    except FormProblem as problem:
        context["problem"] = str(problem)
        return render(request, "channel.html", context, 422)
    begin, finish = day_start(first), day_start(last + timedelta(days=1))
    if moment is None:  # the read model, caught up above
        rows = install.read_models.intervals.known_intervals(channel_id, begin, finish)
    else:
        rows = install.readings.intervals(channel_id, begin, finish, as_of=moment)
    table = table_rows(rows, found.get("interval_minutes"), begin, finish, moment or now)
    # The midnight after the last day belongs to it: it closes the day's register advance.
    registers = install.readings.register_reads(
        channel_id, begin, finish + timedelta(seconds=1), as_of=moment
    )
    context.update(
        register_reads=registers,
        rows=table[:MAX_TABLE_ROWS],
        row_values=len(table) <= ROW_VALUES_UP_TO,
        total_rows=len(rows),
        missing_rows=len(table) - len(rows),
        as_of=moment,
        # Edits always apply to the latest record, whatever time the table shows.
        past_view=moment is not None and moment < now,
        chart={
            "times": [int(row["start"].timestamp()) for row in rows],
            "values": [row["value"] for row in rows],
            "unit": found.get("unit") or "",
            "label": found.get("channel_key") or str(channel_id),
        },
    )
    return render(request, "channel.html", context, status_code)


def _range(start: str, end: str, as_of: str, today: date) -> tuple[date, date, datetime | None]:
    last = parse_day("to", end, today)
    first = parse_day("from", start, last - timedelta(days=DEFAULT_DAYS - 1))
    if last < first:
        raise FormProblem("to", "must not be before from")
    if (last - first).days >= MAX_DAYS:
        raise FormProblem("to", f"at most {MAX_DAYS} days at once")
    return first, last, parse_moment("as_of", as_of)


def channel_id_of(channel: str) -> UUID:
    """Channels are addressed by id, or by their key (``SP-1:import``) for convenience."""
    try:
        return UUID(channel)
    except ValueError:
        return Channel.id_for(channel)
