"""Bearer-token authentication and role checks, deny by default."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from application.security import AuthenticationFailed, Principal
from interfaces.installation import Installation

_bearer = HTTPBearer(auto_error=False)


def installation(request: Request) -> Installation:
    found: Installation = request.app.state.installation
    return found


def principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("a bearer token is required (hes token create --user NAME)")
    return installation(request).security.authenticate_token(credentials.credentials)


def requires(*roles: str) -> Callable[..., Principal]:
    """A dependency that admits only principals holding one of ``roles``."""

    def check(who: Principal = Depends(principal)) -> Principal:
        if not who.has_role(*roles):
            raise HTTPException(
                status_code=403, detail=f"needs one of the roles {', '.join(roles)}"
            )
        return who

    return check


READ_ROLES = ("operator", "auditor", "billing")
WRITE_ROLES = ("operator",)
