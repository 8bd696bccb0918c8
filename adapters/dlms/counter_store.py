"""`SqlInvocationCounters`: the last accepted invocation counter per meter system title in
a plain table on the installation's engine (SQLite or PostgreSQL), so that replay
protection survives a restart and holds across HES processes.

Acceptance is one conditional UPDATE (`... WHERE last_counter < :counter`): two processes
receiving the same APDU cannot both accept it. Each call is one short transaction on the
calling thread; a session makes one per ciphered APDU.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

metadata = MetaData()
invocation_counters = Table(
    "dlms_invocation_counters",
    metadata,
    Column("system_title", String(16), primary_key=True),  # 8 octets, hex
    Column("last_counter", BigInteger, nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
)


class SqlInvocationCounters:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        metadata.create_all(engine, checkfirst=True)

    def last_accepted(self, system_title: bytes) -> int | None:
        with self._engine.connect() as connection:
            found = connection.execute(
                select(invocation_counters.c.last_counter).where(
                    invocation_counters.c.system_title == system_title.hex()
                )
            ).scalar()
        return int(found) if found is not None else None

    def accept(self, system_title: bytes, counter: int) -> bool:
        title, now = system_title.hex(), dt.datetime.now(dt.UTC)
        for _attempt in range(2):  # a concurrent first insert: the UPDATE decides again
            with self._engine.begin() as connection:
                moved = connection.execute(
                    update(invocation_counters)
                    .where(invocation_counters.c.system_title == title)
                    .where(invocation_counters.c.last_counter < counter)
                    .values(last_counter=counter, accepted_at=now)
                ).rowcount
                if moved:
                    return True
                exists = connection.execute(
                    select(invocation_counters.c.last_counter).where(
                        invocation_counters.c.system_title == title
                    )
                ).first()
                if exists is not None:
                    return False  # not above the last accepted: a replay
            try:
                with self._engine.begin() as connection:
                    connection.execute(
                        invocation_counters.insert().values(
                            system_title=title, last_counter=counter, accepted_at=now
                        )
                    )
                return True
            except IntegrityError:
                continue
        return False
