"""All read models of one install, fed by their runners from the applications.

The views share the applications' datastore (``shared_datastore(store.url)``), so on
PostgreSQL a batch's rows and tracking position commit in one transaction of the same
connection pool, and on SQLite every writer shares one lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from projections.audit_log import AuditLogProjection, AuditLogView
from projections.billing_exports import BillingExportProjection, BillingExportView
from projections.external_periods import ExternalPeriodProjection, ExternalPeriodView
from projections.interval_days import DayBlock
from projections.interval_view import IntervalProjection, IntervalView
from projections.meter_alarms import MeterAlarmProjection, MeterAlarmView
from projections.meter_directory import MeterDirectoryProjection, MeterDirectoryView
from projections.runner import DecodedEvents, PollingProjectionRunner, ReadModelView
from projections.vee_exceptions import VeeExceptionProjection, VeeExceptionView


class ReadModels:
    """The audit log, the meter directory and the interval view, and their runners."""

    def __init__(
        self,
        store: StoreLocation,
        registry: Application[Any],
        readings: Application[Any],
        security: Application[Any] | None = None,
        *,
        exports: Application[Any] | None = None,
        head_end: Application[Any] | None = None,
        batch_size: int = 500,
        today: Callable[[], date] | None = None,
    ) -> None:
        datastore = shared_datastore(store.url)
        self.audit = AuditLogView(datastore)
        self.directory = (
            MeterDirectoryView(datastore, today=today) if today else MeterDirectoryView(datastore)
        )
        self.intervals = IntervalView(datastore)
        self.vee_exceptions = VeeExceptionView(datastore)
        self.external_periods = ExternalPeriodView(datastore)
        self.billing_exports = BillingExportView(datastore)
        self.alarms = MeterAlarmView(datastore)
        followed: list[tuple[Application[Any], Any]] = [
            (registry, AuditLogProjection(self.audit)),
            (registry, MeterDirectoryProjection(self.directory)),
            (registry, ExternalPeriodProjection(self.external_periods, registry)),
            (readings, IntervalProjection(self.intervals)),
            (readings, VeeExceptionProjection(self.vee_exceptions)),
        ]
        if security is not None:
            followed.append((security, AuditLogProjection(self.audit)))
        if exports is not None:
            followed.append((exports, BillingExportProjection(self.billing_exports)))
        if head_end is not None:
            followed.append((head_end, MeterAlarmProjection(self.alarms)))
        # Runners that follow the same application share what they decoded.
        decoded = {id(app): DecodedEvents(app) for app, _ in followed}
        self.runners = [
            PollingProjectionRunner(
                upstream,
                projection,
                batch_size=batch_size,
                today=today,
                decoded=decoded[id(upstream)],
            )
            for upstream, projection in followed
        ]

    @property
    def views(self) -> list[ReadModelView]:
        return [
            self.audit,
            self.directory,
            self.intervals,
            self.vee_exceptions,
            self.external_periods,
            self.billing_exports,
            self.alarms,
        ]

    def fresh_intervals(self) -> IntervalView:
        """The interval view, caught up first if Readings recorded events it has not
        processed yet (one query tells): an answer from it never misses what was recorded
        before the question."""
        runner, table = self._interval_runner()
        if self.intervals.lags(runner.upstream.name, table):
            runner.catch_up()
        return self.intervals

    def fresh_day_blocks(self, channel_id: UUID, start: datetime, end: datetime) -> list[DayBlock]:
        """``fresh_intervals().day_blocks(...)`` with the check and the rows in one
        transaction (one connection round fewer when nothing is behind, the usual case)."""
        runner, table = self._interval_runner()
        view = self.intervals
        with view.transaction(commit=False):
            behind = view.lags(runner.upstream.name, table)
            blocks = None if behind else view.day_blocks(channel_id, start, end)
        if blocks is None:
            runner.catch_up()
            blocks = view.day_blocks(channel_id, start, end)
        return blocks

    def _interval_runner(self) -> tuple[PollingProjectionRunner[Any], str]:
        runner = next(r for r in self.runners if r.view is self.intervals)
        recorder: Any = runner.upstream.recorder
        return runner, str(recorder.events_table_name)

    def catch_up(self) -> int:
        """Processes everything recorded so far; returns how many notifications were read."""
        return sum(runner.catch_up() for runner in self.runners)

    def start(self, poll_interval: float = 0.2) -> None:
        for runner in self.runners:
            runner.start(poll_interval)

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop()

    def reset_all(self) -> None:
        """Empties every view; the next catch-up (or the running threads) rebuilds them."""
        for view in self.views:
            view.reset()
