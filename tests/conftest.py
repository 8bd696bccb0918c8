"""Shared fixtures: every persistence test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.persistence.store import StoreLocation
from tests.backends import store_for

# Keep the store out of the developer's own ./var when a test forgets to pass one.
os.environ.pop("HES_DATABASE_URL", None)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[StoreLocation]:
    with store_for(backend, tmp_path) as location:
        yield location


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[StoreLocation]:
    with store_for("sqlite", tmp_path) as location:
        yield location
