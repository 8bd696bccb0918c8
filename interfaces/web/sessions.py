"""Who is signed in: the session cookie, its server-side row, and role checks.

Every guarded router depends on ``signed_in``, so a page there cannot skip it by
accident (a test requests every guarded route without a session). Unsafe methods also
need the session's CSRF token, checked here once for every POST.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from adapters.web_sessions import SqlWebSessions, WebSession
from interfaces.web import csrf
from interfaces.web.errors import PageRefused, SignInRequired

COOKIE = "hes_session"
EDIT_ROLES = ("operator",)  # administrators pass every role check


@dataclass(frozen=True)
class CookiePolicy:
    """Secure cookies: None means "when the request came over https" (see --proxy-headers)."""

    secure: bool | None = None

    @classmethod
    def from_environment(cls) -> CookiePolicy:
        setting = os.environ.get("HES_WEB_SECURE_COOKIES", "auto").strip().lower()
        return cls(None if setting == "auto" else setting in ("1", "true", "yes", "on"))

    def is_secure(self, request: Request) -> bool:
        return self.secure if self.secure is not None else request.url.scheme == "https"


def session_store(request: Request) -> SqlWebSessions:
    store: SqlWebSessions = request.app.state.web_sessions
    return store


def cookie_policy(request: Request) -> CookiePolicy:
    policy: CookiePolicy = request.app.state.web_cookie_policy
    return policy


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    # No max-age: the cookie ends with the browser; the server row decides expiry.
    response.set_cookie(
        COOKIE,
        session_id,
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_policy(request).is_secure(request),
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def here(request: Request) -> str:
    """This request's path and query, the only kind of place sign-in returns to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def signed_in(request: Request) -> WebSession:
    session_id = request.cookies.get(COOKIE)
    session = None
    if session_id:
        session = await run_in_threadpool(session_store(request).find, session_id)
    if session is None:
        next_url = here(request) if request.method in csrf.SAFE_METHODS else "/"
        raise SignInRequired(next_url)
    request.state.web_session = session
    if request.method not in csrf.SAFE_METHODS:
        form = await request.form()
        csrf.check(session.csrf_token, csrf.submitted_token(request, form))
    if not session.roles:
        raise PageRefused(403, "Your account has no role yet; ask an administrator for one.")
    return session


def editor(session: WebSession = Depends(signed_in)) -> WebSession:
    if not session.has_role(*EDIT_ROLES):
        raise PageRefused(403, "Changing the registry needs the operator role.")
    return session
