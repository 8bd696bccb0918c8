"""Mounts the operators' pages, their static files and their HTML error answers.

Two routers: ``login_pages.public_router`` (sign-in only) and ``GUARDED``, mounted
behind ``signed_in`` as a router dependency, so any page added there is denied by
default. Sessions live in the ``web_sessions`` table of the installation's database.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from adapters.persistence.factory import shared_datastore
from adapters.web_sessions import SqlWebSessions
from interfaces.installation import Installation
from interfaces.web import (
    audit_pages,
    channel_pages,
    command_pages,
    exception_pages,
    interval_edit_pages,
    login_pages,
    meter_pages,
    register_read_pages,
)
from interfaces.web.errors import PageRefused, SignInRequired
from interfaces.web.rendering import HERE, error_page, with_security_headers
from interfaces.web.sessions import CookiePolicy, clear_session_cookie, signed_in

# Every page but sign-in: these routers are mounted behind ``signed_in``.
GUARDED: tuple[Callable[[], APIRouter], ...] = (
    login_pages.signed_in_router,
    meter_pages.router,
    channel_pages.router,
    interval_edit_pages.router,
    register_read_pages.router,
    exception_pages.router,
    command_pages.router,
    audit_pages.router,
)


def mount_pages(
    app: FastAPI, installation: Installation, cookie_policy: CookiePolicy | None = None
) -> None:
    app.state.web_sessions = SqlWebSessions(shared_datastore(installation.store.url).engine)  # type: ignore[arg-type]
    app.state.web_cookie_policy = cookie_policy or CookiePolicy.from_environment()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _install_error_pages(app)

    app.include_router(login_pages.public_router())
    protected = APIRouter(dependencies=[Depends(signed_in)], include_in_schema=False)
    for make_router in GUARDED:
        protected.include_router(make_router())
    app.include_router(protected)


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, error: SignInRequired) -> Response:
        response = RedirectResponse(login_pages.login_url(error.next_url), 303)
        clear_session_cookie(response)
        return with_security_headers(response)

    @app.exception_handler(PageRefused)
    async def refused(request: Request, error: PageRefused) -> Response:
        return error_page(request, error.status_code, error.message)
