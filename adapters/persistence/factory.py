"""Infrastructure factory: one shared datastore per database URL in a process.

Sharing matters on SQLite: the library serialises writers with a lock per datastore,
so applications and projections on one file must share it, or they contend on the
file lock. On PostgreSQL it shares one connection pool, and lets a projection write
its rows and its tracking position in one transaction.
"""

from __future__ import annotations

from threading import Lock
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory

from adapters.persistence.recorder import IndexedApplicationRecorder, IndexedProcessRecorder
from adapters.persistence.transcodings import register_hes_transcodings

_datastores: dict[str, SQLAlchemyDatastore] = {}
_datastores_lock = Lock()


def shared_datastore(url: str) -> SQLAlchemyDatastore:
    with _datastores_lock:
        if url not in _datastores:
            _datastores[url] = SQLAlchemyDatastore(url=url, **_engine_options(url))
        return _datastores[url]


def dispose_datastore(url: str) -> None:
    """Closes the pool of ``url`` (tests drop their databases afterwards)."""
    with _datastores_lock:
        datastore = _datastores.pop(url, None)
    if datastore is not None and datastore.engine is not None:
        datastore.engine.dispose()  # type: ignore[union-attr]


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Another process (the CLI beside the server) may hold the write lock briefly.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


class HesFactory(SQLAlchemyFactory):
    application_recorder_class = IndexedApplicationRecorder
    process_recorder_class = IndexedProcessRecorder

    def __init__(self, env: Environment) -> None:
        InfrastructureFactory.__init__(self, env)
        self._schema_name = self.env.get(self.SQLALCHEMY_SCHEMA)
        url = self.env.get(self.SQLALCHEMY_URL)
        if not url:
            raise ValueError("SQLALCHEMY_URL is not set for the event store")
        self.datastore = shared_datastore(url)

    def close(self) -> None:
        """The datastore outlives one application: see ``dispose_datastore``."""

    def transcoder(self) -> Any:
        # Registered here, not in the applications, so application/ stays free of
        # adapter imports while every application gets numpy and date transcodings.
        transcoder = super().transcoder()
        register_hes_transcodings(transcoder)
        return transcoder
