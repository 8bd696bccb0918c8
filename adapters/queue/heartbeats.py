"""Worker heartbeats in a plain table: one row per worker process, overwritten.

Not events (a beat every few seconds from every worker would swamp the event store),
and not in Redis (a Redis that lost its data would make every worker look dead at
once). Times are the writer's clock in microseconds since the epoch; hosts are assumed
NTP-synchronised to well under the lost-after interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, delete, select, update
from sqlalchemy.engine import Engine

from adapters.persistence.recorder import to_microseconds
from projections.runner import from_microseconds

metadata = MetaData()
heartbeats = Table(
    "operations_heartbeats",
    metadata,
    Column("instance", String(200), primary_key=True),
    Column("server", String(64), nullable=False, index=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer(), nullable=False),
    Column("started_at_us", BigInteger(), nullable=False),
    Column("last_seen_us", BigInteger(), nullable=False),
)


@dataclass(frozen=True)
class Beat:
    instance: str
    server: str
    host: str
    pid: int
    last_seen: datetime


class Heartbeats:
    def __init__(self, engine: Engine, lost_after: timedelta = timedelta(seconds=30)) -> None:
        self._engine = engine
        self.lost_after = lost_after
        metadata.create_all(engine, checkfirst=True)

    def beat(self, instance: str, server: str, host: str, pid: int) -> None:
        now = to_microseconds(datetime.now(UTC))
        with self._engine.begin() as connection:
            found = connection.execute(
                update(heartbeats).where(heartbeats.c.instance == instance).values(last_seen_us=now)
            )
            if found.rowcount == 0:
                connection.execute(
                    heartbeats.insert().values(
                        instance=instance,
                        server=server,
                        host=host,
                        pid=pid,
                        started_at_us=now,
                        last_seen_us=now,
                    )
                )

    def is_alive(self, instance: str) -> bool:
        """Beat within ``lost_after``; an instance never seen counts as gone."""
        query = select(heartbeats.c.last_seen_us).where(heartbeats.c.instance == instance)
        with self._engine.connect() as connection:
            last_seen = connection.execute(query).scalar()
        return last_seen is not None and last_seen >= self._cutoff()

    def alive_instances(self) -> set[str]:
        query = select(heartbeats.c.instance).where(heartbeats.c.last_seen_us >= self._cutoff())
        with self._engine.connect() as connection:
            return set(connection.execute(query).scalars())

    def silent(self) -> list[Beat]:
        """Worker processes whose last beat is older than ``lost_after``."""
        query = select(heartbeats).where(heartbeats.c.last_seen_us < self._cutoff())
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            Beat(
                row["instance"],
                row["server"],
                row["host"],
                row["pid"],
                from_microseconds(row["last_seen_us"]),
            )
            for row in rows
        ]

    def forget(self, instance: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(heartbeats).where(heartbeats.c.instance == instance))

    def _cutoff(self) -> int:
        return to_microseconds(datetime.now(UTC) - self.lost_after)
