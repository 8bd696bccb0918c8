"""Role checks for the pages that change something, each refusal in its page's words.

``sessions.editor`` speaks of the registry; interval edits and meter commands need the
same role (operator; administrators pass every check) but say what was refused.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from adapters.web_sessions import WebSession
from interfaces.web.errors import PageRefused
from interfaces.web.sessions import EDIT_ROLES, signed_in


def operator_for(refusal: str) -> Callable[[WebSession], WebSession]:
    def operator(session: WebSession = Depends(signed_in)) -> WebSession:
        if not session.has_role(*EDIT_ROLES):
            raise PageRefused(403, refusal)
        return session

    return operator


ChannelFormHandler = Callable[[Request, WebSession, str, FormData], Response]


def channel_form_post(
    pages: APIRouter, path: str, who: Callable[..., WebSession], handle: ChannelFormHandler
) -> None:
    """POST ``path`` (with a ``{channel}``): the form, read here, handled off the event
    loop (it records events) by ``handle`` for a session ``who`` admits."""

    # The dependency is a default, not an Annotated string: ``who`` is local to this call.
    @pages.post(path)
    async def post(request: Request, channel: str, session: WebSession = Depends(who)) -> Response:
        form = await request.form()
        return await run_in_threadpool(handle, request, session, channel, form)
