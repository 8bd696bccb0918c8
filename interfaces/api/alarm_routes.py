"""Alarms over HTTP: what meters pushed (critical first to act on) and refused frames."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from application.security import Principal
from interfaces.api.auth import requires
from interfaces.api.registry_routes import Install, aware

Reader = Annotated[Principal, Depends(requires("operator", "auditor"))]


def alarm_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["alarms"])

    @router.get("/alarms")
    def list_alarms(
        install: Install,
        who: Reader,
        kind: Annotated[Literal["push", "security"] | None, Query()] = None,
        critical: bool | None = None,
        meter: str | None = None,
        since: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Pushes (``kind=push``; ``critical`` marks alarms such as power failure or
        tamper) and refused frames (``kind=security``), newest first."""
        runner = next(
            r for r in install.read_models.runners if r.view is install.read_models.alarms
        )
        runner.catch_up()
        total, rows = install.read_models.alarms.alarms(
            kind=kind,
            critical=critical,
            meter=meter,
            since=aware(since),
            limit=limit,
            offset=offset,
        )
        return {"total": total, "alarms": rows}

    return router
