"""Template rendering with the headers every page carries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from adapters.web_sessions import WebSession

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

# Scripts only from our own origin (the vendored files), so injected markup cannot run
# code; inline style attributes are allowed because uPlot positions its legend with them.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages show data the user may not see after signing out: keep them out of caches.
    "Cache-Control": "no-store",
}


def utc_text(moment: datetime | str | None) -> str:
    """A timestamp as operators read it: UTC, to the second."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    else:
        parsed = moment
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def shown(value: Any, name: str = "") -> str:
    """An attribute value as text; sealed secrets only by name, never their references."""
    if value is None or value == "":
        return ""
    if name == "secret_refs" and isinstance(value, dict):
        return "sealed: " + ", ".join(sorted(value)) if value else ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "), sort_keys=True)
    return str(value)


templates.env.filters["utc"] = utc_text
templates.env.filters["shown"] = shown


def with_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    session: WebSession | None = getattr(request.state, "web_session", None)
    page = {
        "session": session,
        "csrf_token": session.csrf_token if session else "",
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, page, status_code=status_code)
    return with_security_headers(response)


def error_page(request: Request, status_code: int, message: str) -> Response:
    return render(request, "error.html", {"status": status_code, "message": message}, status_code)
