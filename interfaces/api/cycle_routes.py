"""Cycles over the API: list, read with next due times, create, edit, and their firings.

Cycles are registry aggregates (effective-dated, audited, readable as of any time);
these routes add what only cycles have: due times, firings and late work.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response

from adapters.scheduling_sources import scheduling_of
from application.cycles import RangeTooLong
from domain.cycle import Cycle
from domain.cycle_firing import CycleFiring
from domain.local_time import today_in
from interfaces.api.models import Edit, Registration
from interfaces.api.registry_routes import (
    AsOf,
    Effective,
    Install,
    Reader,
    Writer,
    api_provenance,
    aware,
    today,
)
from interfaces.api.views import aggregate_view

Since = Annotated[datetime | None, Query(description="due times after this (default: a day ago)")]
Until = Annotated[datetime | None, Query(description="due times up to this (default: now)")]
Count = Annotated[int, Query(ge=0, le=500, description="how many next due times to show")]


def firing_view(firing: CycleFiring) -> dict[str, Any]:
    return {
        "cycle_key": firing.cycle_key,
        "due_at": firing.due_at,
        "fired_at": firing.fired_at,
        "window_end": firing.window_end,
        "late": firing.was_late,
        "task_type": firing.task_type,
        "targets": firing.targets_count,
        "tasks_created": firing.created_count,
        "fired_by": firing.fired_by,
    }


def due_view(cycle: Cycle, instants: list[datetime]) -> list[dict[str, str]]:
    """Each due time in UTC and in the cycle's local time (which shows DST plainly)."""
    return [
        {
            "utc": instant.isoformat(),
            "local": instant.astimezone(cycle.zone_on(cycle.local_day(instant))).isoformat(),
        }
        for instant in instants
    ]


def _today_in(timezone: object) -> date:
    """A new cycle is in force from its own zone's today (the API default is UTC's)."""
    try:
        return today_in(str(timezone))
    except ValueError:
        return today()  # the registration then names the bad zone


def cycle_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["cycles"])

    @router.get("/cycles")
    def list_cycles(install: Install, who: Reader) -> dict[str, Any]:
        scheduling, catalogue = scheduling_of(install)
        now, listed = datetime.now(UTC), []
        for row in catalogue.cycles():
            retired = row["retired_from"] is not None
            upcoming = [] if retired else scheduling.next_due(row["cycle_key"], now, 1)
            cycle = scheduling.times.cycle(row["cycle_key"])
            listed.append(
                {
                    "cycle_key": row["cycle_key"],
                    "name": row["name"],
                    "version": row["version"],
                    "retired_from": row["retired_from"],
                    "next_due": due_view(cycle, upcoming)[0] if upcoming else None,
                }
            )
        return {"cycles": listed}

    @router.get("/cycles/{key}")
    def read_cycle(
        key: str,
        install: Install,
        who: Reader,
        as_of: AsOf = None,
        effective: Effective = None,
        count: Count = 5,
    ) -> dict[str, Any]:
        scheduling, _ = scheduling_of(install)
        moment = aware(as_of)
        cycle = scheduling.times.cycle(key, moment)
        upcoming = scheduling.next_due(key, datetime.now(UTC), count) if count else []
        return {
            **aggregate_view(cycle, effective or today(), moment),
            "next_due": due_view(scheduling.times.cycle(key), upcoming),
        }

    @router.post("/cycles", status_code=201)
    def create_cycle(
        body: Registration, response: Response, install: Install, who: Writer
    ) -> dict[str, Any]:
        effective_from = body.effective_from or _today_in(body.attributes.get("timezone"))
        provenance = api_provenance(who, body.reason, body.reason_code)
        result = install.registry.register("cycle", body.attributes, effective_from, provenance)
        response.status_code = 201 if result.created else 200
        cycle = install.registry.get("cycle", result.key)
        return {"created": result.created, **aggregate_view(cycle, effective_from, None)}

    @router.patch("/cycles/{key}")
    def edit_cycle(
        key: str,
        body: Edit,
        install: Install,
        who: Writer,
        if_match: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        expected = body.expected_version
        if expected is None and if_match:
            expected = int(if_match.strip('"W/ '))
        provenance = api_provenance(who, body.reason, body.reason_code)
        registry = install.registry
        if body.correction:
            day = body.effective_on or today()
            registry.correct("cycle", key, body.changes, day, provenance, expected)
        else:
            day = body.effective_from or today()
            registry.change("cycle", key, body.changes, day, provenance, expected)
        return aggregate_view(registry.get("cycle", key), day, None)

    @router.get("/cycles/{key}/firings")
    def cycle_firings(
        key: str, install: Install, who: Reader, since: Since = None, until: Until = None
    ) -> dict[str, Any]:
        scheduling, _ = scheduling_of(install)
        end = aware(until) or datetime.now(UTC)
        start = aware(since) or end - timedelta(days=1)
        try:
            firings = scheduling.firings(key, start, end)
        except RangeTooLong as error:
            raise HTTPException(422, str(error)) from None
        return {"cycle_key": key, "firings": [firing_view(firing) for firing in firings]}

    @router.get("/late-work")
    def late_work(
        install: Install, who: Reader, since: Since = None, until: Until = None
    ) -> dict[str, Any]:
        """Critical work whose collection window closed before its cycle fired."""
        scheduling, _ = scheduling_of(install)
        now = datetime.now(UTC)
        end = aware(until) or now
        start = aware(since) or end - timedelta(days=1)
        try:
            late = scheduling.late_work(start, end, now)
        except RangeTooLong as error:
            raise HTTPException(422, str(error)) from None
        return {
            "late": [
                {
                    "cycle_key": work.cycle_key,
                    "due_at": work.due_at.isoformat(),
                    "window_end": work.window_end.isoformat(),
                    "fired_at": None if work.fired_at is None else work.fired_at.isoformat(),
                }
                for work in late
            ]
        }

    return router
