"""Reads for billing and auditors: meter list, interval values as of any time, audit."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from application.interval_import import IntervalImport
from domain.channel import Channel
from interfaces.api.errors import error_body
from interfaces.api.interval_json import intervals_json
from interfaces.api.models import IntervalEdit
from interfaces.api.registry_routes import (
    AsOf,
    Install,
    Reader,
    Writer,
    api_provenance,
    aware,
)
from projections.interval_days import DayBlock

MAX_INTERVAL_SPAN = timedelta(days=366)


def reading_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["readings"])

    @router.get("/meters")
    def list_meters(
        install: Install,
        who: Reader,
        search: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        install.read_models.catch_up()
        directory = install.read_models.directory
        return {
            "total": directory.count(),
            "meters": directory.meters(search=search, limit=limit, offset=offset),
        }

    @router.get("/channels/{channel}/intervals", response_class=JSONResponse)
    def channel_intervals(
        channel: str,
        install: Install,
        who: Reader,
        start: datetime,
        end: datetime,
        as_of: AsOf = None,
    ) -> Response:
        """Interval values in [start, end) with meter status and quality, as known at as_of.

        The latest values come from the interval read model (caught up first if it lags
        the Readings application); past ones from the event store, all days in two
        queries.
        """
        begin, finish, moment = checked_span(start, end, as_of, "intervals")
        channel_id = channel_id_of(channel)
        if moment is None:
            blocks = install.read_models.fresh_day_blocks(channel_id, begin, finish)
        else:
            days = install.readings.days_as_of(channel_id, begin, finish, moment)
            blocks = [DayBlock.of(channel_day) for channel_day in days]
        count, intervals = intervals_json(blocks, begin, finish)
        head = {
            "channel_id": str(channel_id),
            "start": begin.isoformat(),
            "end": finish.isoformat(),
            "as_of": (moment or datetime.now(UTC)).isoformat(),
            "count": count,
        }
        # The intervals are JSON text already: only the head is encoded here.
        text = json.dumps(head, separators=(",", ":"))[:-1] + ',"intervals":' + intervals + "}"
        return Response(text, media_type="application/json")

    @router.post("/channels/{channel}/edits")
    def edit_intervals(
        channel: str, body: IntervalEdit, install: Install, who: Writer
    ) -> dict[str, Any]:
        """Replace interval values (marked edited), with a reason code or free-text reason."""
        channel_id = channel_id_of(channel)
        provenance = api_provenance(who, body.reason, body.reason_code)
        if body.accept_as_is:
            install.readings.accept_as_is(
                channel_id, [aware_required(item.start) for item in body.intervals], provenance
            )
        else:
            values = {aware_required(item.start): _value(item.value) for item in body.intervals}
            install.readings.edit_intervals(channel_id, values, provenance)
        return {"channel_id": str(channel_id), "edited": len(body.intervals)}

    @router.get("/channels/{channel}/intervals/{start}/versions")
    def interval_versions(
        channel: str, start: datetime, install: Install, who: Reader
    ) -> dict[str, Any]:
        """Every value one interval has had: who, when, why, from where, with what quality."""
        channel_id = channel_id_of(channel)
        versions = install.readings.interval_versions(channel_id, aware_required(start))
        return {
            "channel_id": str(channel_id),
            "start": aware_required(start).isoformat(),
            "versions": [
                {**entry, "recorded_at": entry["recorded_at"].isoformat()} for entry in versions
            ],
        }

    @router.post("/channels/{channel}/imports")
    async def import_intervals(
        channel: str, request: Request, install: Install, who: Writer, reason: str = "file import"
    ) -> Any:
        """CSV body (start,value[,status]) for an imported channel: every row or none."""
        body = await request.body()
        report = await asyncio.to_thread(
            IntervalImport(install.registry, install.readings).run,
            channel,
            body,
            api_provenance(who, reason),
        )
        if not report.accepted:
            problems = [{"line": p.line, "reason": p.reason} for p in report.problems]
            return error_body(
                422, f"{len(problems)} problems; nothing was stored", problems=problems
            )
        return {"channel": channel, "rows": report.rows, "new_intervals": report.new_intervals}

    @router.get("/vee/exceptions")
    def vee_exceptions(
        install: Install,
        who: Reader,
        channel: str | None = None,
        rule: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Intervals that failed validation and could not be estimated: a person decides."""
        install.read_models.catch_up()
        queue = install.read_models.vee_exceptions
        channel_id = channel_id_of(channel) if channel else None
        entries = queue.exceptions(channel_id=channel_id, rule=rule, limit=limit, offset=offset)
        return {
            "total": queue.count(channel_id=channel_id, rule=rule),
            "exceptions": [
                {**e, "start": e["start"].isoformat(), "opened_at": e["opened_at"].isoformat()}
                for e in entries
            ],
        }

    @router.get("/audit")
    def audit_log(
        install: Install,
        who: Reader,
        aggregate_type: str | None = None,
        key: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        install.read_models.catch_up()
        filters: dict[str, Any] = {
            "aggregate_type": aggregate_type,
            "key": key,
            "actor": actor,
            "since": aware(since),
            "until": aware(until),
        }
        entries = install.read_models.audit.entries(**filters, limit=limit, offset=offset)
        return {"total": install.read_models.audit.count(**filters), "entries": entries}

    return router


def checked_span(
    start: datetime, end: datetime, as_of: datetime | None, what: str
) -> tuple[datetime, datetime, datetime | None]:
    """[start, end) and as_of with zones (UTC when none given); 422 for an empty or too
    long period."""
    begin, finish = aware_required(start), aware_required(end)
    if finish <= begin:
        raise HTTPException(422, "end must be after start")
    if finish - begin > MAX_INTERVAL_SPAN:
        raise HTTPException(422, f"ask for at most 366 days of {what} at once")
    return begin, finish, aware(as_of)


def aware_required(moment: datetime) -> datetime:
    found = aware(moment)
    assert found is not None
    return found


def _value(value: float | None) -> float:
    if value is None:
        raise HTTPException(422, "an edited interval needs a value (or use accept_as_is)")
    return value


def channel_id_of(channel: str) -> UUID:
    """Channels are addressed by id, or by their key (``SP-1:import``) for convenience."""
    try:
        return UUID(channel)
    except ValueError:
        return Channel.id_for(channel)
