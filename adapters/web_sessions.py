"""Server-side sessions of the web UI, in a plain SQL table beside the event store.

Not event-sourced: a session is short-lived bookkeeping that must be destroyable, and
sign-ins are already recorded on the User aggregate. The table holds only the SHA-256
digest of each session id, so a copy of the database does not hand out live sessions.
Rows survive restarts of the web process and can be revoked by deleting them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, delete, select, update
from sqlalchemy.engine import Engine

metadata = MetaData()
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_digest", String(64), primary_key=True),
    Column("username", String(200), nullable=False, index=True),
    Column("roles", Text(), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

IDLE_TIMEOUT = timedelta(hours=8)
# A stolen cookie stays useful at most this long, however busy the session is.
ABSOLUTE_LIFETIME = timedelta(hours=24)
# Writing last-seen on every request would add a write per page view, and on SQLite
# every write contends with the event store for the one file lock.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class WebSession:
    username: str
    roles: tuple[str, ...]
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime

    def has_role(self, *roles: str) -> bool:
        return "administrator" in self.roles or any(role in self.roles for role in roles)


class SqlWebSessions:
    def __init__(
        self,
        engine: Engine,
        idle_timeout: timedelta = IDLE_TIMEOUT,
        absolute_lifetime: timedelta = ABSOLUTE_LIFETIME,
    ) -> None:
        self._engine = engine
        self.idle_timeout = idle_timeout
        self.absolute_lifetime = absolute_lifetime
        metadata.create_all(engine, checkfirst=True)

    def start(self, username: str, roles: tuple[str, ...]) -> tuple[str, WebSession]:
        """A new session; returns the id for the cookie (never stored) and the session."""
        session_id = secrets.token_urlsafe(32)
        now = _now()
        session = WebSession(
            username=username,
            roles=tuple(roles),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=self._expiry(now, now),
        )
        with self._engine.begin() as connection:
            connection.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
            connection.execute(
                web_sessions.insert().values(
                    session_digest=_digest(session_id),
                    username=username,
                    roles=json.dumps(list(roles)),
                    csrf_token=session.csrf_token,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=session.expires_at,
                )
            )
        return session_id, session

    def find(self, session_id: str) -> WebSession | None:
        """The live session with this id, its idle expiry pushed on; None if unknown or over."""
        digest = _digest(session_id)
        with self._engine.connect() as connection:
            row = connection.execute(
                select(web_sessions).where(web_sessions.c.session_digest == digest)
            ).first()
        if row is None:
            return None
        now = _now()
        session = WebSession(
            username=row.username,
            roles=tuple(json.loads(row.roles)),
            csrf_token=row.csrf_token,
            created_at=_utc(row.created_at),
            last_seen_at=_utc(row.last_seen_at),
            expires_at=_utc(row.expires_at),
        )
        if session.expires_at <= now:
            self.end(session_id)
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            expires_at = self._expiry(session.created_at, now)
            with self._engine.begin() as connection:
                connection.execute(
                    update(web_sessions)
                    .where(web_sessions.c.session_digest == digest)
                    .values(last_seen_at=now, expires_at=expires_at)
                )
            session = WebSession(
                session.username,
                session.roles,
                session.csrf_token,
                session.created_at,
                now,
                expires_at,
            )
        return session

    def end(self, session_id: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                delete(web_sessions).where(web_sessions.c.session_digest == _digest(session_id))
            )

    def revoke_user(self, username: str) -> int:
        """Signs a user out everywhere (roles changed, account locked, laptop lost)."""
        with self._engine.begin() as connection:
            result = connection.execute(
                delete(web_sessions).where(web_sessions.c.username == username)
            )
        return int(result.rowcount or 0)

    def _expiry(self, created_at: datetime, now: datetime) -> datetime:
        return min(now + self.idle_timeout, created_at + self.absolute_lifetime)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
