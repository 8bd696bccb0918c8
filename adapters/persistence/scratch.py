"""Throwaway PostgreSQL databases for tests and benchmarks: created empty, dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from psycopg2 import sql

from adapters.persistence.factory import dispose_datastore

DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


@contextmanager
def scratch_postgres_database(
    admin_dsn: str = DEFAULT_ADMIN_DSN, prefix: str = "hes_scratch"
) -> Iterator[str]:
    """A new, empty database; yields its SQLAlchemy URL, drops it (forcefully) after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _execute(admin_dsn, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = psycopg2.extensions.parse_dsn(admin_dsn)
    url = (
        f"postgresql+psycopg2://{params.get('user', 'postgres')}@"
        f"{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
    )
    try:
        yield url
    finally:
        dispose_datastore(url)
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        _execute(admin_dsn, drop)


def _execute(admin_dsn: str, statement: sql.Composable) -> None:
    connection = psycopg2.connect(admin_dsn)
    try:
        # Not `with connection:`: psycopg2 opens a transaction block there even in
        # autocommit mode, and CREATE/DROP DATABASE refuse to run inside one.
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()
