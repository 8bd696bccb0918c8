"""Communication status and history of a meter, and the connectivity report by meter
type, over HTTP. Both read the communication log (``adapters.dlms.communication_log``);
the report also reads the meter directory, caught up first. Operators and auditors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from adapters.dlms.communication_log import CommunicationLog
from adapters.persistence.factory import shared_datastore
from application.errors import UnknownAggregate
from application.security import Principal
from interfaces.api.auth import requires
from interfaces.api.registry_routes import Install, aware
from interfaces.installation import Installation
from projections.connectivity import ConnectivityReport

CommunicationReader = Annotated[Principal, Depends(requires("operator", "auditor"))]
DEFAULT_PERIOD = timedelta(hours=24)


def communication_log(install: Installation) -> CommunicationLog:
    if install.communications is not None:
        return install.communications
    return CommunicationLog(shared_datastore(install.store.url).engine)  # type: ignore[arg-type]


def communication_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["communication"])

    @router.get("/meters/{serial}/communications")
    def meter_communications(
        serial: str,
        install: Install,
        who: CommunicationReader,
        limit: Annotated[int, Query(ge=1, le=1000, description="newest sessions first")] = 50,
    ) -> dict[str, Any]:
        """The meter's communication status and its latest sessions (reads and commands)."""
        if not install.registry.exists("meter", serial):
            raise UnknownAggregate("meter", serial)
        log = communication_log(install)
        return {
            **log.status(serial),
            "retention_days": log.retention.days,
            "communications": log.history(serial, limit),
        }

    @router.get("/reports/connectivity")
    def connectivity(
        install: Install,
        who: CommunicationReader,
        since: Annotated[
            datetime | None,
            Query(description="start of the period (ISO-8601, UTC if no zone; default 24 h ago)"),
        ] = None,
    ) -> dict[str, Any]:
        """Per meter type: meters, communicating since ``since``, failing, never
        communicated, and the success rate of the sessions in the period."""
        now = datetime.now(UTC)
        start = aware(since) or now - DEFAULT_PERIOD
        if start > now:
            raise HTTPException(422, "since must not be in the future")
        log = communication_log(install)
        install.read_models.catch_up()
        rows = ConnectivityReport(log.engine).by_meter_type(start, now.date())
        return {
            "since": start,
            "generated_at": now,
            "retention_days": log.retention.days,
            "meter_types": rows[:-1],
            "total": rows[-1],
        }

    return router
