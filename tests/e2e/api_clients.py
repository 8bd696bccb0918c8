"""HTTP clients of the API for a user of an installation (a bearer token of their own)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.provenance import Provenance
from interfaces.api.app import create_app
from interfaces.installation import Installation

ISSUED = Provenance("test", "token for a test client", "system")


def api_client(installation: Installation, user: str) -> TestClient:
    """The JSON API (no pages) as ``user`` sees it."""
    token = installation.security.issue_token(user, "tests", ISSUED)
    return TestClient(
        create_app(installation, with_pages=False), headers={"Authorization": f"Bearer {token}"}
    )
