"""The FastAPI application: JSON API, health check and the operators' pages."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from interfaces.api.alarm_routes import alarm_router
from interfaces.api.command_routes import command_router
from interfaces.api.communication_routes import communication_router
from interfaces.api.cycle_routes import cycle_router
from interfaces.api.errors import install_error_handlers
from interfaces.api.export_routes import export_router
from interfaces.api.frame_routes import frame_router
from interfaces.api.operations_routes import operations_router
from interfaces.api.reading_routes import reading_router
from interfaces.api.register_routes import register_router
from interfaces.api.registry_routes import registry_router
from interfaces.installation import Installation


def create_app(installation: Installation, *, with_pages: bool = True) -> FastAPI:
    app = FastAPI(
        title="HES/MDM",
        version="0.1.0",
        description="Head End System and Meter Data Management: registry, readings, audit.",
    )
    app.state.installation = installation
    install_error_handlers(app)
    app.include_router(registry_router())
    app.include_router(reading_router())
    app.include_router(register_router())
    app.include_router(command_router())
    app.include_router(cycle_router())
    app.include_router(operations_router())
    app.include_router(alarm_router())
    app.include_router(communication_router())
    app.include_router(frame_router())
    app.include_router(export_router())

    @app.get("/healthz", tags=["health"])
    def healthz() -> Any:
        if installation.is_reachable():
            return {"status": "ok"}
        return JSONResponse({"status": "unavailable", "error": "store unreachable"}, 503)

    if with_pages:
        from interfaces.web.pages import mount_pages

        mount_pages(app, installation)
    return app
