"""The lock that makes exactly one scheduler active per installation.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) taken on a
connection of its own, held for the scheduler's whole life. The server releases it when
that session ends, also when the process or its host dies (TCP keepalives make a dead
peer's session end within about half a minute), so a standby takes over without anyone
cleaning up. Advisory locks are scoped to one database: installations on other databases
of the same server do not block each other.

SQLite (the embedded default, one host): an exclusive ``flock`` on ``scheduler.lock`` in
the data directory; the kernel releases it when the process exits, however it exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from adapters.persistence.store import StoreLocation

# One fixed 64-bit key for "the HES scheduler" (arbitrary, but never to be changed: two
# versions with different keys would both become active during a rolling upgrade).
SCHEDULER_LOCK_KEY = 0x4E5_5C4E_D01E_0001
_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5}


class SchedulerLock(Protocol):
    def try_acquire(self) -> bool:
        """Takes the lock if free; True when this process holds it now."""
        ...

    def still_held(self) -> bool:
        """False once the lock may have passed to another process (a lost session)."""
        ...

    def release(self) -> None: ...

    def holder(self) -> str | None:
        """Who holds it, as far as can be told (for the standby's log)."""
        ...

    def describe(self) -> str: ...


def identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class PostgresAdvisoryLock:
    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._connection is not None:
            return True
        if self._engine is None:
            self._engine = create_engine(
                self.url,
                poolclass=NullPool,
                connect_args={**_KEEPALIVE, "application_name": f"hes-scheduler {identity()}"},
            )
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}
            ).scalar_one()
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except Exception:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            # If the session is gone, so is the lock: nothing to undo then.
            with contextlib.suppress(Exception):
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEDULER_LOCK_KEY}
                )
            self._drop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def holder(self) -> str | None:
        """Who holds the lock (its connection's application name), for the standby's log."""
        assert self._engine is not None
        query = text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = :key"
        )
        with self._engine.connect() as connection:
            return connection.execute(query, {"key": SCHEDULER_LOCK_KEY}).scalar_one_or_none()

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {SCHEDULER_LOCK_KEY}"

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(identity() + "\n")  # for people only: the lock is the flock
        handle.flush()
        self._file = handle
        return True

    def still_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def holder(self) -> str | None:
        try:
            return self.path.read_text().strip() or None
        except OSError:
            return None

    def describe(self) -> str:
        return f"file lock {self.path}"


def scheduler_lock(store: StoreLocation) -> PostgresAdvisoryLock | FileLock:
    if store.is_sqlite:
        return FileLock(store.data_dir / "scheduler.lock")
    return PostgresAdvisoryLock(store.url)
