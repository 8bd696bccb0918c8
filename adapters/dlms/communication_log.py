"""The communication log: one row per outgoing DLMS session (read or command), and the
communication status of each meter derived from it.

An operational log, not event-sourced: plain tables on the installation's engine
(SQLite or PostgreSQL), created on first use, purged after the retention period
(``HES_COMM_LOG_RETENTION_DAYS``, default 31, never less). The per-meter status row is
updated in the same transaction as the log row and is not purged, so a meter's last
success is known however long ago it was.

Rows hold no secrets: error texts come from the DLMS adapter's typed errors, whose
messages never carry a password or key, and are cut to 500 characters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    case,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError

from adapters.persistence.recorder import to_microseconds

OUTCOMES = ("ok", "timeout", "unreachable", "refused", "security_violation", "dropped", "error")
STATUSES = ("communicating", "failing", "never")
MIN_RETENTION_DAYS = 31
DEFAULT_RETENTION_DAYS = 31
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

metadata = MetaData()
COMMUNICATION_LOG = Table(
    "dlms_communication_log",
    metadata,
    # INTEGER PRIMARY KEY is SQLite's rowid; PostgreSQL gets a BIGSERIAL.
    Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("serial", Text(), nullable=False),
    Column("purpose", Text(), nullable=False),
    Column("started_at_us", BigInteger(), nullable=False),
    Column("ended_at_us", BigInteger(), nullable=False),
    Column("outcome", Text(), nullable=False),
    Column("error", Text(), nullable=False, default=""),
    Column("octets_sent", BigInteger()),
    Column("octets_received", BigInteger()),
    Index("dlms_communication_log_serial_idx", "serial", "started_at_us"),
    Index("dlms_communication_log_started_idx", "started_at_us"),
)
COMMUNICATION_STATUS = Table(
    "dlms_communication_status",
    metadata,
    Column("serial", Text(), primary_key=True),
    Column("last_attempt_at_us", BigInteger(), nullable=False),
    Column("last_outcome", Text(), nullable=False),
    Column("last_error", Text(), nullable=False),
    Column("last_success_at_us", BigInteger()),
    Column("consecutive_failures", Integer(), nullable=False),
)


def _to_time(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class Communication:
    """One session with one meter: when, what for, and how it ended."""

    serial: str
    purpose: str  # read_profile, or the command's name
    started_at: datetime
    ended_at: datetime
    outcome: str  # one of OUTCOMES
    error: str = ""
    octets_sent: int | None = None  # APDU octets, framing not counted
    octets_received: int | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")

    @property
    def duration(self) -> timedelta:
        return self.ended_at - self.started_at


def status_name(last_success_at: datetime | None, consecutive_failures: int) -> str:
    """never: no session ever succeeded; failing: the latest did not; else communicating."""
    if last_success_at is None:
        return "never"
    return "failing" if consecutive_failures else "communicating"


def retention_from_env(environ: Mapping[str, str] | None = None) -> timedelta:
    """HES_COMM_LOG_RETENTION_DAYS (default 31); at least a month, as operations require."""
    env = os.environ if environ is None else environ
    text = env.get("HES_COMM_LOG_RETENTION_DAYS", "").strip()
    try:
        days = int(text) if text else DEFAULT_RETENTION_DAYS
    except ValueError:
        raise ValueError(f"HES_COMM_LOG_RETENTION_DAYS must be whole days, not {text!r}") from None
    if days < MIN_RETENTION_DAYS:
        raise ValueError(
            f"the communication log is kept at least {MIN_RETENTION_DAYS} days, not {days}"
        )
    return timedelta(days=days)


class CommunicationLog:
    def __init__(self, engine: Engine, retention: timedelta | None = None) -> None:
        self.engine = engine
        self.retention = retention if retention is not None else retention_from_env()
        if self.retention < timedelta(days=MIN_RETENTION_DAYS):
            raise ValueError(f"the communication log is kept at least {MIN_RETENTION_DAYS} days")
        _create_tables(engine)

    def record(self, communication: Communication) -> None:
        """The session's row and the meter's status, in one transaction."""
        started = to_microseconds(communication.started_at)
        ok = communication.outcome == "ok"
        error = communication.error[:500]
        upsert = _insert_for(self.engine)(COMMUNICATION_STATUS).values(
            serial=communication.serial,
            last_attempt_at_us=started,
            last_outcome=communication.outcome,
            last_error=error,
            last_success_at_us=started if ok else None,
            consecutive_failures=0 if ok else 1,
        )
        status, new = COMMUNICATION_STATUS.c, upsert.excluded
        upsert = upsert.on_conflict_do_update(
            index_elements=[status.serial],
            set_={
                "last_attempt_at_us": new.last_attempt_at_us,
                "last_outcome": new.last_outcome,
                "last_error": new.last_error,
                "last_success_at_us": func.coalesce(
                    new.last_success_at_us, status.last_success_at_us
                ),
                "consecutive_failures": case(
                    (new.last_outcome == "ok", 0), else_=status.consecutive_failures + 1
                ),
            },
        )
        with self.engine.begin() as connection:
            connection.execute(
                COMMUNICATION_LOG.insert().values(
                    serial=communication.serial,
                    purpose=communication.purpose,
                    started_at_us=started,
                    ended_at_us=to_microseconds(communication.ended_at),
                    outcome=communication.outcome,
                    error=error,
                    octets_sent=communication.octets_sent,
                    octets_received=communication.octets_received,
                )
            )
            connection.execute(upsert)

    def history(self, serial: str, limit: int = 50) -> list[dict[str, Any]]:
        """The meter's sessions, newest first."""
        log = COMMUNICATION_LOG.c
        query = (
            select(COMMUNICATION_LOG)
            .where(log.serial == serial)
            .order_by(log.started_at_us.desc(), log.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [_session_view(dict(row)) for row in rows]

    def status(self, serial: str) -> dict[str, Any]:
        """Last attempt, last success, consecutive failures and the status in a word."""
        query = select(COMMUNICATION_STATUS).where(COMMUNICATION_STATUS.c.serial == serial)
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return {
                "serial": serial,
                "status": "never",
                "last_attempt_at": None,
                "last_outcome": None,
                "last_error": "",
                "last_success_at": None,
                "consecutive_failures": 0,
            }
        last_success = _to_time(row["last_success_at_us"])
        return {
            "serial": serial,
            "status": status_name(last_success, row["consecutive_failures"]),
            "last_attempt_at": _to_time(row["last_attempt_at_us"]),
            "last_outcome": row["last_outcome"],
            "last_error": row["last_error"],
            "last_success_at": last_success,
            "consecutive_failures": row["consecutive_failures"],
        }

    def purge(self, now: datetime | None = None) -> int:
        """Deletes sessions started before the retention period; returns how many."""
        cutoff = (now or datetime.now(UTC)) - self.retention
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(COMMUNICATION_LOG).where(
                    COMMUNICATION_LOG.c.started_at_us < to_microseconds(cutoff)
                )
            )
        return int(result.rowcount or 0)


def _create_tables(engine: Engine, attempts: int = 3) -> None:
    """Processes started together race to create the tables; the loser finds them."""
    for attempt in range(1, attempts + 1):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except DatabaseError as error:
            if "already exists" not in str(error) or attempt == attempts:
                raise


def _insert_for(engine: Engine) -> Any:
    if engine.dialect.name == "postgresql":
        return postgresql.insert
    if engine.dialect.name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"no upsert for {engine.dialect.name}")


def _session_view(row: Mapping[str, Any]) -> dict[str, Any]:
    started = _to_time(row["started_at_us"])
    ended = _to_time(row["ended_at_us"])
    assert started is not None and ended is not None
    return {
        "started_at": started,
        "ended_at": ended,
        "duration_ms": round((ended - started) / timedelta(milliseconds=1)),
        "purpose": row["purpose"],
        "outcome": row["outcome"],
        "error": row["error"],
        "octets_sent": row["octets_sent"],
        "octets_received": row["octets_received"],
    }
