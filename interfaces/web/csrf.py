"""CSRF tokens: one per session for every POST, and a double-submit cookie for sign-in.

The sign-in form has no session yet, so its token lives in a short-lived cookie that
a cross-site page can neither read nor set; the form must echo it back.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import Response

from interfaces.web.errors import PageRefused

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"  # htmx requests send the token as a header
LOGIN_COOKIE = "hes_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def submitted_token(request: Request, form: FormData) -> str:
    value = form.get(FIELD)
    if isinstance(value, str) and value:
        return value
    return request.headers.get(HEADER, "")


def check(expected: str, submitted: str) -> None:
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise PageRefused(
            403,
            "The form's security token is missing or stale. Reload the page and submit it again.",
        )


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def set_login_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        secure=secure,
        samesite="strict",
    )


def check_login(request: Request, form: FormData) -> None:
    check(request.cookies.get(LOGIN_COOKIE, ""), submitted_token(request, form))
