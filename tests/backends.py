"""Fresh databases for tests: a SQLite file in a temp dir, or a new PostgreSQL database.

PostgreSQL tests never skip: if the server is down the test fails (CI starts it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.persistence.factory import dispose_datastore
from adapters.persistence.scratch import DEFAULT_ADMIN_DSN, scratch_postgres_database
from adapters.persistence.store import StoreLocation, locate_store

POSTGRES_ADMIN_DSN = os.environ.get("HES_TEST_POSTGRES_DSN", DEFAULT_ADMIN_DSN)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database; dropped afterwards. Yields its SQLAlchemy URL."""
    with scratch_postgres_database(POSTGRES_ADMIN_DSN, prefix="hes_test") as url:
        yield url


@contextmanager
def store_for(backend: str, tmp_path: Path) -> Iterator[StoreLocation]:
    if backend == "postgres":
        with postgres_database() as url:
            yield locate_store(tmp_path, url)
    else:
        location = locate_store(tmp_path)
        try:
            yield location
        finally:
            dispose_datastore(location.url)
