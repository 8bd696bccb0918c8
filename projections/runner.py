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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar, cast
from uuid import UUID

import sqlalchemy.exc
from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.projection import Projection
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.recorders import SQLAlchemyTrackingRecorder
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

_log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_microseconds(value: int) -> datetime:
    """Inverse of ``adapters.persistence.recorder.to_microseconds`` (tz-aware UTC)."""
    return _EPOCH + timedelta(microseconds=value)


def continued_originators(notifications: Sequence[Notification]) -> list[UUID]:
    """Aggregates whose first event in ``notifications`` is not their first event ever:
    the ones a view may hold rows of already (the others it cannot)."""
    first_versions: dict[UUID, int] = {}
    for notification in notifications:
        originator_id = cast(UUID, notification.originator_id)
        first_versions.setdefault(originator_id, notification.originator_version)
    return [originator_id for originator_id, version in first_versions.items() if version > 1]


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

    def prepare_batch(self, notifications: Sequence[Notification]) -> None:
        """Called in the batch's transaction before its events: views that write per
        batch read here, in one query, what the batch's events will change."""

    def flush(self) -> None:
        """Called in the batch's transaction after its events: views that buffer a
        batch write it here, so rows and tracking position commit together."""

    def abandon_batch(self) -> None:
        """The batch failed and is rolled back: forget what ``prepare_batch`` read."""

    @property
    def batch_open(self) -> bool:
        """Whether a batch is being processed (views that buffer say so)."""
        return False

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around a buffering view's write: inside a runner's batch it joins the batch;
        outside one (a direct call) it is a batch of its own, written at once."""
        if self.batch_open:
            yield
            return
        with self.lock, self.transaction(commit=True):
            self.prepare_batch(())
            try:
                yield
                self.flush()
            except BaseException:
                self.abandon_batch()
                raise

    def max_tracking_id(self, application_name: str) -> int | None:
        """The library's lookup as one Core query (it builds an ORM object)."""
        table = self.tracking_table
        query = select(func.max(table.c.notification_id)).where(
            table.c.application_name == application_name
        )
        with self.transaction(commit=False) as session:
            position = session.execute(query).scalar()
        return None if position is None else int(position)

    def refresh_for_day(self, today: date) -> int:
        """Rows whose content depends on the calendar day are brought up to ``today``."""
        return 0


TView = TypeVar("TView", bound=ReadModelView)


class DecodedEvents:
    """What runners following one application read and decoded, shared among them: the
    second projection of a batch reads and decodes nothing again (together about half a
    projection's work). Notification ids commit in order, so a list read once is a valid
    run of the log for any runner at the same position; events are immutable."""

    def __init__(self, upstream: Application[Any], size: int = 5_000) -> None:
        self.upstream = upstream
        self.size = size
        self._events: dict[int, Any] = {}
        self._last_read: tuple[tuple[int | None, int], Sequence[Notification]] | None = None
        self._lock = threading.Lock()

    def notifications_after(self, position: int | None, limit: int) -> Sequence[Notification]:
        with self._lock:
            last = self._last_read
        if self.size and last is not None and last[0] == (position, limit):
            return last[1]
        found = self.upstream.recorder.select_notifications(
            start=position, limit=limit, inclusive_of_start=False
        )
        if found:  # an empty read says nothing about what is recorded next
            with self._lock:
                self._last_read = ((position, limit), found)
        return found

    def of(self, notification: Notification) -> Any:
        with self._lock:
            found = self._events.get(notification.id)
        if found is None:
            found = self.upstream.mapper.to_domain_event(notification)
            with self._lock:
                while self._events and len(self._events) >= self.size:
                    del self._events[next(iter(self._events))]  # the oldest
                if self.size:
                    self._events[notification.id] = found
        return found


class PollingProjectionRunner(Generic[TView]):
    """Feeds one application's events, in notification order, to one projection."""

    def __init__(
        self,
        upstream: Application[Any],
        projection: Projection[TView],
        *,
        batch_size: int = 500,
        today: Callable[[], date] | None = None,
        decoded: DecodedEvents | None = None,
    ) -> None:
        self.upstream = upstream
        self.projection = projection
        self.decoded = decoded or DecodedEvents(upstream, size=0)
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
        notifications = self.decoded.notifications_after(previous, self.batch_size)
        if not notifications:
            return 0
        topics = self.projection.topics
        with self.view.transaction(commit=True) as session:
            # First, so a concurrent runner blocks here instead of doing the work twice.
            self.view.advance_tracking(session, name, previous, notifications[-1].id)
            self.view.prepare_batch(notifications)
            try:
                for notification in notifications:
                    if topics and notification.topic not in topics:
                        continue  # not decoded at all: the cheapest way to skip
                    domain_event = self.decoded.of(notification)
                    self.projection.process_event(domain_event, Tracking(name, notification.id))
                self.view.flush()
            except BaseException:
                self.view.abandon_batch()
                raise
        return len(notifications)

    def _refresh_if_new_day(self) -> None:
        today = self._today()
        if today != self._refreshed_on:
            with self.view.lock:
                self.view.refresh_for_day(today)
            self._refreshed_on = today
