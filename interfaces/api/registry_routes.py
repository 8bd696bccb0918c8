"""Registry resources: read as of any time, history, registration and edits.

Every kind (customers, premises, accounts, service points, meters, channels, TOU
schedules, templates) gets the same four routes; meters add creation from a template
with sealed secrets.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response

from application.security import Principal
from domain.provenance import Provenance
from interfaces.api.auth import READ_ROLES, WRITE_ROLES, installation, requires
from interfaces.api.models import Edit, MeterCreation, Registration, SecretsChange
from interfaces.api.views import aggregate_view, event_view
from interfaces.installation import Installation

PATHS = {
    "customer": "customers",
    "premise": "premises",
    "account": "accounts",
    "service_point": "service-points",
    "meter": "meters",
    "channel": "channels",
    "tou_schedule": "tou-schedules",
    "template": "templates",
    "validation_rule_set": "validation-rule-sets",
    "external_period": "external-periods",
    "holiday_calendar": "holiday-calendars",
}

AsOf = Annotated[
    datetime | None,
    Query(description="recorded time (ISO-8601): the state as it was known then"),
]
Effective = Annotated[
    date | None, Query(description="the day whose effective values are shown (default today)")
]
Install = Annotated[Installation, Depends(installation)]
Reader = Annotated[Principal, Depends(requires(*READ_ROLES))]
Writer = Annotated[Principal, Depends(requires(*WRITE_ROLES))]


def today() -> date:
    return datetime.now(UTC).date()


def aware(moment: datetime | None) -> datetime | None:
    """A recorded time without zone is read as UTC, the zone of every event timestamp."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def api_provenance(who: Principal, reason: str, reason_code: str = "") -> Provenance:
    return Provenance(actor=who.username, reason=reason, reason_code=reason_code, source="api")


def registry_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["registry"])
    for kind, path in PATHS.items():
        _add_kind_routes(router, kind, path)

    @router.post("/meters", status_code=201)
    def create_meter(
        body: MeterCreation, response: Response, install: Install, who: Writer
    ) -> dict[str, Any]:
        effective_from = body.effective_from or today()
        result = install.registry.create_meter(
            {**body.attributes, "serial": body.serial},
            effective_from,
            api_provenance(who, body.reason, body.reason_code),
            template=body.template,
            secrets=body.secrets,
        )
        response.status_code = 201 if result.created else 200
        meter = install.registry.get("meter", result.key)
        return {"created": result.created, **aggregate_view(meter, effective_from, None)}

    @router.put("/meters/{serial}/secrets")
    def change_meter_secrets(
        serial: str, body: SecretsChange, install: Install, who: Writer
    ) -> dict[str, Any]:
        version = install.registry.change_meter_secrets(
            serial, body.secrets, body.effective_from or today(), api_provenance(who, body.reason)
        )
        return {"serial": serial, "version": version, "changed": sorted(body.secrets)}

    return router


def _add_kind_routes(router: APIRouter, kind: str, path: str) -> None:
    label = kind.replace("_", " ")

    def read(
        key: str, install: Install, who: Reader, as_of: AsOf = None, effective: Effective = None
    ) -> dict[str, Any]:
        moment = aware(as_of)
        aggregate = install.registry.get(kind, key, as_of=moment)
        return aggregate_view(aggregate, effective or today(), moment)

    def history(key: str, install: Install, who: Reader) -> dict[str, Any]:
        events = install.registry.history(kind, key)
        return {"key": key, "kind": kind, "changes": [event_view(event) for event in events]}

    def edit(
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
        if body.correction:
            day = body.effective_on or today()
            install.registry.correct(kind, key, body.changes, day, provenance, expected)
        else:
            day = body.effective_from or today()
            install.registry.change(kind, key, body.changes, day, provenance, expected)
        return aggregate_view(install.registry.get(kind, key), day, None)

    router.add_api_route(f"/{path}/{{key}}", read, methods=["GET"], summary=f"Read a {label}")
    router.add_api_route(
        f"/{path}/{{key}}/history", history, methods=["GET"], summary=f"History of a {label}"
    )
    router.add_api_route(f"/{path}/{{key}}", edit, methods=["PATCH"], summary=f"Edit a {label}")
    if kind != "meter":

        def register(
            body: Registration, response: Response, install: Install, who: Writer
        ) -> dict[str, Any]:
            effective_from = body.effective_from or today()
            result = install.registry.register(
                kind,
                body.attributes,
                effective_from,
                api_provenance(who, body.reason, body.reason_code),
            )
            response.status_code = 201 if result.created else 200
            aggregate = install.registry.get(kind, result.key)
            return {"created": result.created, **aggregate_view(aggregate, effective_from, None)}

        router.add_api_route(
            f"/{path}", register, methods=["POST"], status_code=201, summary=f"Register a {label}"
        )
