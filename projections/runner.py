"""Drives projections by polling an application's notification log.

SQLite has no subscription (``recorder.subscribe()`` raises), so on the embedded default
a runner must poll; polling also works on PostgreSQL, which keeps one code path. Each
batch of notifications is processed in ONE transaction of the view's datastore (shared
with the applications), and the view's tracking position is advanced in that same
transaction: rows and position commit together or not at all.

The tracking position is advanced by compare-and-set, so two processes running the same
projection (``hes projections`` beside a web server that catches up on request) cannot
both record one batch: the second finds the position moved, rolls back and re-reads.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

import sqlalchemy.exc
from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.recorders import SQLAlchemyTrackingRecorder
from sqlalchemy import Table, delete, insert, update
from sqlalchemy.orm import Session

_log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_microseconds(value: int) -> datetime:
    """Inverse of ``adapters.persistence.recorder.to_microseconds`` (tz-aware UTC)."""
    return _EPOCH + timedelta(microseconds=value)


class PositionTaken(Exception):
    """Another runner advanced the tracking position first; this batch is rolled back."""


class ReadModelView(SQLAlchemyTrackingRecorder):
    """A tracking recorder that owns read-model tables on the applications' datastore.

    ``lock`` serialises writers in this process: runners sharing the view (the audit log
    follows two applications) and ``reset()`` never interleave their batches.
    """

    def __init__(
        self,
        datastore: SQLAlchemyDatastore,
        *,
        tracking_table_name: str,
        tables: Sequence[Table],
        create_tables: bool = True,
    ) -> None:
        with warnings.catch_warnings():
            # The library names every tracking record class alike; only SQLAlchemy's
            # string lookup table notices, and nothing here looks classes up by name.
            warnings.filterwarnings("ignore", "This declarative base already contains")
            super().__init__(datastore, tracking_table_name=tracking_table_name)
        self.tables.extend(tables)
        self.lock = threading.RLock()
        if create_tables:
            self.create_table()

    @property
    def dialect(self) -> str:
        assert self.datastore.engine is not None
        return str(self.datastore.engine.dialect.name)

    def advance_tracking(
        self, session: Session, application_name: str, previous: int | None, position: int
    ) -> None:
        """Moves the position from ``previous`` to ``position``, or raises PositionTaken."""
        table = self.tracking_table
        if previous is None:
            try:
                session.execute(
                    insert(table).values(
                        application_name=application_name, notification_id=position
                    )
                )
            except sqlalchemy.exc.IntegrityError:  # the transaction is rolled back whole
                raise PositionTaken(application_name) from None
            return
        moved = session.execute(
            update(table)
            .where(
                table.c.application_name == application_name,
                table.c.notification_id == previous,
            )
            .values(notification_id=position)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise PositionTaken(application_name)

    def reset(self) -> None:
        """Forgets every row and every tracking position: the next catch-up rebuilds."""
        with self.lock, self.transaction(commit=True) as session:
            for table in self.tables:
                session.execute(delete(table))
            session.execute(delete(self.tracking_table))
        self.forget_cached()

    def forget_cached(self) -> None:
        """Views that cache immutable facts in memory drop them here."""

    def refresh_for_day(self, today: date) -> int:
        """Rows whose content depends on the calendar day are brought up to ``today``."""
        return 0


TView = TypeVar("TView", bound=ReadModelView)


class PollingProjectionRunner(Generic[TView]):
    """Feeds one application's events, in notification order, to one projection."""

    def __init__(
        self,
        upstream: Application[Any],
        projection: Projection[TView],
        *,
        batch_size: int = 500,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.upstream = upstream
        self.projection = projection
        self.view: TView = projection.view
        self.batch_size = batch_size
        self._today = today or (lambda: datetime.now(UTC).date())
        self._refreshed_on: date | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def position(self) -> int | None:
        return self.view.max_tracking_id(self.upstream.name)

    def catch_up(self) -> int:
        """Processes everything recorded so far; returns how many notifications it read."""
        return self._catch_up(stopping=None)

    def start(self, poll_interval: float = 0.2) -> None:
        if self._thread is not None:
            raise RuntimeError("this runner is already running")
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._poll,
            args=(poll_interval,),
            name=f"projection-{self.projection.name}-{self.upstream.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Lets the batch in progress commit, then joins the thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"{self._thread.name} did not stop within {timeout} s")
            self._thread = None

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- internals ------------------------------------------------------------------

    def _poll(self, poll_interval: float) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._catch_up(stopping=self._stopping)
                failures = 0
            except Exception:
                # Keep the thread alive: the batch was rolled back whole, and a
                # database restart or a fixed bug lets the next attempt succeed.
                failures += 1
                _log.exception("projection %s failed; will retry", self.projection.name)
            self._stopping.wait(min(poll_interval * 2 ** min(failures, 10), 30.0))

    def _catch_up(self, stopping: threading.Event | None) -> int:
        total = 0
        while stopping is None or not stopping.is_set():
            with self.view.lock:
                try:
                    processed = self._process_next_batch()
                except PositionTaken:
                    continue  # another process recorded this batch; read on from there
            if processed == 0:
                break
            total += processed
        self._refresh_if_new_day()
        return total

    def _process_next_batch(self) -> int:
        name = self.upstream.name
        previous = self.view.max_tracking_id(name)
        notifications: Sequence[Notification] = self.upstream.recorder.select_notifications(
            start=previous, limit=self.batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        topics = self.projection.topics
        with self.view.transaction(commit=True) as session:
            # First, so a concurrent runner blocks here instead of doing the work twice.
            self.view.advance_tracking(session, name, previous, notifications[-1].id)
            for notification in notifications:
                if topics and notification.topic not in topics:
                    continue  # not decoded at all: the cheapest way to skip
                domain_event = self.upstream.mapper.to_domain_event(notification)
                self.projection.process_event(domain_event, Tracking(name, notification.id))
        return len(notifications)

    def _refresh_if_new_day(self) -> None:
        today = self._today()
        if today != self._refreshed_on:
            with self.view.lock:
                self.view.refresh_for_day(today)
            self._refreshed_on = today
