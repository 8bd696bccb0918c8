"""History for bulk ingest from the interval read model, checked against the event store.

``IntervalViewHistory`` answers ``application.bulk_ingest.DailyUsageSource``: interval
values of many channels for a period in one query over ``interval_days`` (the
``IntervalView``'s table: one row per channel day, its slots as arrays, so a 28-day
history is 28 rows a channel), or only each day's usage (``daily_usage``: what the
historical-usage check needs). The rows are read by ``adapters/interval_day_rows.py``.

A read model lags its application (its projection may run in another process), and a
lagging history would make validation judge against stale values. Before the rows, one
query lists the aggregates the log's unprojected tail changed, with their latest
versions; a day among them whose row is older (or missing) is stale. A stale day is
taken from what the caller saved last (``remember``) when that is still the event
store's version, else replayed from the event store, all stale days in one read. A view
too far behind to list its tail (over ``_TAIL`` aggregates) has every day of the answer
checked against the Readings recorded-time index instead. Either way the answer is what
``Readings.series`` gives (a row mirrors its ``ChannelDay``).

``BulkExternalPeriods`` gives billing's periods of many service points in one query.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from sqlalchemy import func, select, text

from adapters.interval_day_rows import day_id_of, slot_rows, usage_rows
from application.readings import Readings
from domain.channel_day import ChannelDay
from domain.vee.series import IntervalSeries
from projections.external_periods import EXTERNAL_PERIODS, ExternalPeriodView
from projections.interval_days import day_usage
from projections.interval_view import IntervalView

_DAY = 86_400
_TAIL = 100_000  # aggregates changed since the view's position, listed; more: checked by day


class IntervalViewHistory:
    def __init__(
        self,
        view: IntervalView,
        readings: Readings,
        *,
        remembered_days: int = 50_000,
        catch_up: Callable[[], object] | None = None,
    ) -> None:
        """``catch_up``: brings the view up to date; called when it is too far behind to
        list what it lacks (no projection running anywhere, say), so that the cost of a
        read stays bounded instead of replaying ever more days."""
        self.view = view
        self.readings = readings
        self.catch_up = catch_up
        recorder: Any = readings.recorder
        self._versions = recorder.recorded_times  # adapters.persistence.recorder
        self._remembered: OrderedDict[UUID, ChannelDay] = OrderedDict()
        self._remembered_days = remembered_days
        self.days_read_from_store = 0  # what lag cost: days replayed from the event store

    def remember(self, channel_days: Iterable[ChannelDay]) -> None:
        """Channel days just saved by the caller, as saved: while the read model has not
        caught up with them, the history takes them from here instead of replaying them
        (only at the very version the event store holds: anyone's later change wins)."""
        for channel_day in channel_days:
            self._remembered[channel_day.id] = channel_day
            self._remembered.move_to_end(channel_day.id)
        while len(self._remembered) > self._remembered_days:
            self._remembered.popitem(last=False)

    def series(
        self, channel_ids: Sequence[UUID], interval_minutes: int, start: datetime, end: datetime
    ) -> Mapping[UUID, IntervalSeries]:
        step = interval_minutes * 60
        first, stop = int(start.timestamp()), int(end.timestamp())
        count = max(0, (stop - first) // step)
        channels = list(dict.fromkeys(channel_ids))
        first_day = first // _DAY
        day_count = max(0, -(-stop // _DAY) - first_day)
        per_day = _DAY // step
        # The days' slots side by side, then the asked window cut out of them.
        values = np.full((len(channels), day_count, per_day), np.nan)
        statuses = np.zeros((len(channels), day_count, per_day), dtype=np.uint8)
        qualities = np.zeros((len(channels), day_count, per_day), dtype=np.uint8)
        versions = np.zeros((len(channels), day_count), dtype=np.int64)
        # Read before the rows: rows read after it are at least as new as this.
        unprojected = self._unprojected()
        stale: dict[tuple[int, int], ChannelDay | None] = {}
        if channels and count:
            rows = slot_rows(self.view, channels, first_day * _DAY, stop, step)
            row, day = rows["row"].astype(np.int64), rows["first"] // _DAY - first_day
            values[row, day] = rows["values"]
            statuses[row, day] = rows["statuses"]
            qualities[row, day] = rows["qualities"]
            versions[row, day] = rows["version"]
            stale = self._stale_days(rows, unprojected, channels, versions, first_day)
        for cell, channel_day in stale.items():
            if channel_day is None:  # the event store has no such day: nothing is known
                values[cell], statuses[cell], qualities[cell] = np.nan, 0, 0
            else:
                values[cell] = channel_day.values
                statuses[cell] = channel_day.statuses
                qualities[cell] = channel_day.qualities
        offset = first - first_day * _DAY
        window = slice(offset // step, offset // step + count)
        if offset % step:  # no slot starts on this grid: nothing is known on it
            window = slice(0, 0)
        result = {}
        for index, channel_id in enumerate(channels):
            series = IntervalSeries(
                start,
                interval_minutes,
                np.full(count, np.nan),
                np.zeros(count, dtype=np.uint8),
                np.zeros(count, dtype=np.uint8),
            )
            known = window.stop - window.start
            series.values[:known] = values[index].reshape(-1)[window]
            series.statuses[:known] = statuses[index].reshape(-1)[window]
            series.qualities[:known] = qualities[index].reshape(-1)[window]
            result[channel_id] = series
        return result

    def daily_usage(
        self, channel_ids: Sequence[UUID], interval_minutes: int, start: datetime, end: datetime
    ) -> Mapping[UUID, np.ndarray]:
        """Per channel, each UTC day's usage over [start, end) as ``series`` would give
        it: the day's total when every slot of it lies in the period and has a value,
        else NaN. One small value a day instead of the day's slots: what the
        historical-usage check needs. A channel with a day the read model cannot tell
        about (a row written before it recorded day usage) is left out."""
        step = interval_minutes * 60
        first, stop = int(start.timestamp()), int(end.timestamp())
        channels = list(dict.fromkeys(channel_ids))
        first_day = first // _DAY
        day_count = max(0, -(-stop // _DAY) - first_day)
        totals = np.full((len(channels), day_count), np.nan)
        unknown = np.zeros(len(channels), dtype=bool)
        versions = np.zeros((len(channels), day_count), dtype=np.int64)
        unprojected = self._unprojected()
        stale: dict[tuple[int, int], ChannelDay | None] = {}
        if channels and day_count:
            rows = usage_rows(self.view, channels, (first_day * _DAY, stop, step))
            row, day = rows["row"].astype(np.int64), rows["first"] // _DAY - first_day
            totals[row, day] = np.where(rows["complete"] == 1, rows["total"], np.nan)
            versions[row, day] = rows["version"]
            unknown[row[rows["complete"] < 0]] = True
            stale = self._stale_days(rows, unprojected, channels, versions, first_day)
        for cell, channel_day in stale.items():
            totals[cell] = np.nan
            if channel_day is not None:
                usage = day_usage(channel_day.values, channel_day.qualities)
                totals[cell] = usage["day_total"] if usage["day_complete"] else np.nan
        # Days the period covers only in part are not complete in it.
        if first % _DAY:
            totals[:, 0] = np.nan
        if stop % _DAY and day_count:
            totals[:, -1] = np.nan
        return {c: totals[index] for index, c in enumerate(channels) if not unknown[index]}

    def recorded_days(self, day_ids: Collection[UUID]) -> Collection[UUID]:
        return set(self._event_store_versions(day_ids))

    # -- internals -------------------------------------------------------------------

    @property
    def _events_table(self) -> str:
        recorder: Any = self.readings.recorder
        return str(recorder.events_table_name)

    def _event_store_versions(self, day_ids: Collection[UUID]) -> dict[UUID, int]:
        table = self._versions
        wanted = list(day_ids)
        found: dict[UUID, int] = {}
        with self.view.transaction(commit=False) as session:
            for part in range(0, len(wanted), 5_000):
                query = (
                    select(table.c.originator_id, func.max(table.c.originator_version))
                    .where(table.c.originator_id.in_(wanted[part : part + 5_000]))
                    .group_by(table.c.originator_id)
                )
                found.update((row[0], int(row[1])) for row in session.execute(query))
        return found

    def _unprojected(self) -> dict[UUID, int] | None:
        """The latest version of every aggregate with events the view has not processed
        (empty: the view is caught up); None when there are too many to list."""
        tail = self._tail()
        if tail is None and self.catch_up is not None:
            self.catch_up()
            tail = self._tail()
        return tail

    def _tail(self) -> dict[UUID, int] | None:
        recorder: Any = self.readings.recorder
        query = text(
            f"SELECT originator_id, max(originator_version) FROM {recorder.events_table_name}"
            f" WHERE id > coalesce((SELECT max(notification_id) FROM"
            f" {self.view.tracking_table_name} WHERE application_name = :name), 0)"
            " GROUP BY originator_id LIMIT :limit"
        )
        with self.view.transaction(commit=False) as session:
            found = session.execute(query, {"name": self.readings.name, "limit": _TAIL + 1})
            tail = {_uuid(originator): int(version) for originator, version in found}
        return None if len(tail) > _TAIL else tail

    def _stale_days(
        self,
        rows: np.ndarray,
        unprojected: dict[UUID, int] | None,
        channels: list[UUID],
        versions: np.ndarray,
        first_day: int,
    ) -> dict[tuple[int, int], ChannelDay | None]:
        """By cell (channel row, day column), the days the rows do not show as the event
        store has them now (None: it has no such day)."""
        if unprojected is None:  # far behind: every day of the window is checked
            return self._read_stale(self._stale_by_version(channels, versions, first_day))
        if not unprojected:
            return {}
        return self._read_stale(
            self._stale_in_tail(rows, unprojected, channels, versions, first_day)
        )

    def _stale_in_tail(
        self,
        rows: np.ndarray,
        unprojected: dict[UUID, int],
        channels: list[UUID],
        versions: np.ndarray,
        first_day: int,
    ) -> dict[UUID, tuple[int, int, int]]:
        """Days the log's unprojected tail changed since the view: by day id, the cell
        (channel row, day column) and the version the event store holds."""
        tail = np.array([day_id.bytes for day_id in unprojected], dtype="S16")
        stale = {}
        for at in np.flatnonzero(np.isin(rows["day_id"], tail)):
            day_id = day_id_of(rows["day_id"][at])
            if unprojected[day_id] != int(rows["version"][at]):
                cell = (int(rows["row"][at]), int(rows["first"][at] // _DAY - first_day))
                stale[day_id] = (*cell, unprojected[day_id])
        # Days the view has no row for may have been opened since (ids made only for those).
        for row, column in zip(*np.nonzero(versions == 0), strict=True):
            day_id = ChannelDay.id_for(channels[row], _day(first_day + int(column)))
            if day_id in unprojected:
                stale[day_id] = (int(row), int(column), unprojected[day_id])
        return stale

    def _stale_by_version(
        self, channels: list[UUID], versions: np.ndarray, first_day: int
    ) -> dict[UUID, tuple[int, int, int]]:
        cells = {
            ChannelDay.id_for(channel, _day(first_day + column)): (row, column)
            for row, channel in enumerate(channels)
            for column in range(versions.shape[1])
        }
        current = self._event_store_versions(cells)
        return {
            day_id: (row, column, current.get(day_id, 0))
            for day_id, (row, column) in cells.items()
            if current.get(day_id, 0) != versions[row, column]
        }

    def _read_stale(
        self, stale: Mapping[UUID, tuple[int, int, int]]
    ) -> dict[tuple[int, int], ChannelDay | None]:
        """Stale days at the versions the event store holds (None: it has none): the
        remembered ones at that very version, the others replayed, in one read."""
        days: dict[UUID, ChannelDay] = {}
        for day_id, (_, _, version) in stale.items():
            remembered = self._remembered.get(day_id)
            if version and remembered is not None and remembered.version == version:
                days[day_id] = remembered
        wanted = [
            day_id for day_id, (_, _, version) in stale.items() if version and day_id not in days
        ]
        if wanted:
            days.update(self.readings.get_many_as_of(wanted, None))
            self.days_read_from_store += len(wanted)
        return {(row, column): days.get(day_id) for day_id, (row, column, _) in stale.items()}


class BulkExternalPeriods:
    """``ExternalPeriodView.periods``, and the same for many service points in one query."""

    def __init__(self, view: ExternalPeriodView) -> None:
        self.view = view

    def periods(
        self, service_point_id: str, start: datetime, end: datetime
    ) -> list[tuple[str, datetime, datetime]]:
        return self.view.periods(service_point_id, start, end)

    def periods_by_point(
        self, service_point_ids: Collection[str], start: datetime, end: datetime
    ) -> dict[str, list[tuple[str, datetime, datetime]]]:
        """Per service point, what ``periods`` gives for it (points without any: absent)."""
        table = EXTERNAL_PERIODS
        query = (
            select(table.c.service_point_id, table.c.kind, table.c.starts_at, table.c.ends_at)
            .where(
                table.c.service_point_id.in_(list(service_point_ids)),
                table.c.starts_at < int(end.timestamp()),
                table.c.ends_at > int(start.timestamp()),
            )
            .order_by(table.c.service_point_id, table.c.starts_at)
        )
        found: dict[str, list[tuple[str, datetime, datetime]]] = {}
        with self.view.transaction(commit=False) as session:
            for point, kind, first, last in session.execute(query):
                moments = (datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC))
                found.setdefault(point, []).append((kind, *moments))
        return found


def _uuid(value: Any) -> UUID:
    """An id as the driver gives it from a plain query: UUID, 16 bytes (SQLite) or text."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, bytes | memoryview):
        return UUID(bytes=bytes(value))
    return UUID(str(value))


def _day(number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=number)
