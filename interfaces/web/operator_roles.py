"""Role checks for the pages that change something, each refusal in its page's words.

``sessions.editor`` speaks of the registry; interval edits and meter commands need the
same role (operator; administrators pass every check) but say what was refused.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends

from adapters.web_sessions import WebSession
from interfaces.web.errors import PageRefused
from interfaces.web.sessions import EDIT_ROLES, signed_in


def operator_for(refusal: str) -> Callable[[WebSession], WebSession]:
    def operator(session: WebSession = Depends(signed_in)) -> WebSession:
        if not session.has_role(*EDIT_ROLES):
            raise PageRefused(403, refusal)
        return session

    return operator
