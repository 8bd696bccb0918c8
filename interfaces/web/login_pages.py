"""Sign-in and sign-out.

A wrong username and a wrong password get the same answer, so the page does not tell
which usernames exist; a locked account says so, because its owner must act.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from application.errors import ConcurrentEdit
from application.security import AccountLocked, AuthenticationFailed, Principal
from domain.provenance import Provenance
from interfaces.web import csrf
from interfaces.web.rendering import render, with_security_headers
from interfaces.web.sessions import (
    COOKIE,
    clear_session_cookie,
    cookie_policy,
    session_store,
    set_session_cookie,
)

HOME = "/meters"


def safe_next(url: str | None) -> str:
    """Only a path on this site: an absolute or scheme-relative URL would let a link
    to our sign-in page send the user on to someone else's."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return HOME
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("/login"):
        return HOME
    return url


def login_url(next_url: str) -> str:
    return f"/login?{urlencode({'next': safe_next(next_url)})}"


def public_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    async def login_form(
        request: Request, next_url: Annotated[str, Query(alias="next")] = HOME
    ) -> Response:
        session_id = request.cookies.get(COOKIE)
        if session_id:
            session = await run_in_threadpool(session_store(request).find, session_id)
            if session is not None:
                return with_security_headers(RedirectResponse(safe_next(next_url), 303))
        return _form(request, safe_next(next_url))

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        csrf.check_login(request, form)
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        next_url = safe_next(str(form.get("next") or HOME))
        provenance = Provenance(actor=username or "anonymous", reason="sign-in", source="ui")
        try:
            principal: Principal = await run_in_threadpool(
                request.app.state.installation.security.sign_in, username, password, provenance
            )
        except AccountLocked:
            message = "Account locked after too many failed sign-ins. Ask an administrator."
            return _form(request, next_url, username, message, 401)
        except AuthenticationFailed:
            return _form(request, next_url, username, "Wrong username or password.", 401)
        except ConcurrentEdit:
            return _form(request, next_url, username, "Please try again.", 409)
        store = session_store(request)
        if old := request.cookies.get(COOKIE):
            # A fresh id on every sign-in: an id planted before sign-in stays worthless.
            await run_in_threadpool(store.end, old)
        session_id, _ = await run_in_threadpool(store.start, principal.username, principal.roles)
        response = RedirectResponse(next_url, 303)
        set_session_cookie(request, response, session_id)
        response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
        return with_security_headers(response)

    return router


def signed_in_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        if session_id := request.cookies.get(COOKIE):
            await run_in_threadpool(session_store(request).end, session_id)
        response = RedirectResponse("/login", 303)
        clear_session_cookie(response)
        return with_security_headers(response)

    return router


def _form(
    request: Request,
    next_url: str,
    username: str = "",
    message: str = "",
    status_code: int = 200,
) -> Response:
    token = csrf.new_login_token()
    response = render(
        request,
        "login.html",
        {"login_token": token, "next": next_url, "username": username, "message": message},
        status_code,
    )
    csrf.set_login_cookie(response, token, cookie_policy(request).is_secure(request))
    return response
