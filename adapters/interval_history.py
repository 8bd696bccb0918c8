"""History for bulk ingest from the interval read model, checked against the event store.

``IntervalViewHistory`` answers ``application.bulk_ingest.HistorySource``: interval
values of many channels for a period in one query over ``interval_days`` (the
``IntervalView``'s table: one row per channel day, its slots as arrays, so a 28-day
history is 28 rows a channel). A read model lags its application, and a lagging history
would make validation judge against stale values. When the view's tracking position is
the Readings application's last notification id (one query says so), nothing is stale.
Otherwise every channel day of the answer is checked: its version in the read model
against its version in the Readings recorded-time index (``<app>_recorded_times``,
written in the transaction of the events), and a day whose versions differ is read from
the event store (``Readings.series``). Either way the answer is what ``Readings.series``
gives (a row mirrors its ``ChannelDay``); it is only slower while the projection lags.

On PostgreSQL the rows come as one binary ``COPY`` parsed by numpy: every row of one
interval length has the same width, so no Python object is made per row.
``BulkExternalPeriods`` gives billing's periods of many service points in one query.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from sqlalchemy import func, select, text

from application.readings import Readings
from domain.channel_day import ChannelDay
from domain.vee.series import IntervalSeries
from projections.external_periods import EXTERNAL_PERIODS, ExternalPeriodView
from projections.interval_days import INTERVAL_DAYS, day_usage
from projections.interval_view import IntervalView

_DAY = 86_400
_TAIL = 100_000  # aggregates changed since the view's position, listed; more: checked by day
_COPY_HEADER = 19  # signature, flags, header extension length


def _record(slots: int) -> np.dtype:
    """One row of the binary COPY below: big-endian lengths, the arrays as stored (LE)."""
    return np.dtype(
        [("fields", ">i2"), ("l1", ">i4"), ("row", ">i8"), ("l2", ">i4"), ("first", ">i8"),
         ("l3", ">i4"), ("version", ">i4"), ("l4", ">i4"), ("values", "<f8", (slots,)),
         ("l5", ">i4"), ("statuses", "u1", (slots,)), ("l6", ">i4"),
         ("qualities", "u1", (slots,)), ("l7", ">i4"), ("day_id", "S16")]
    )  # fmt: skip


_USAGE = np.dtype(
    [("fields", ">i2"), ("l1", ">i4"), ("row", ">i8"), ("l2", ">i4"), ("first", ">i8"),
     ("l3", ">i4"), ("version", ">i4"), ("l4", ">i4"), ("complete", ">i4"), ("l5", ">i4"),
     ("total", ">f8"), ("l6", ">i4"), ("day_id", "S16")]
)  # fmt: skip


class IntervalViewHistory:
    def __init__(
        self, view: IntervalView, readings: Readings, *, remembered_days: int = 50_000
    ) -> None:
        self.view = view
        self.readings = readings
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
        stale: list[tuple[int, int]] = []
        if channels and count:
            rows = self._rows(channels, first_day * _DAY, stop, step)
            row, day = rows["row"].astype(np.int64), rows["first"] // _DAY - first_day
            values[row, day] = rows["values"]
            statuses[row, day] = rows["statuses"]
            qualities[row, day] = rows["qualities"]
            versions[row, day] = rows["version"]
            if unprojected is None:  # far behind: every day of the window is checked
                stale = self._stale_by_version(channels, versions, first_day)
            elif unprojected:
                stale = self._stale_in_tail(rows, unprojected, channels, versions, first_day)
        for cell, channel_day in self._read_stale(stale, channels, first_day).items():
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
        stale: list[tuple[int, int]] = []
        if channels and day_count:
            rows = self._usage_rows(channels, (first_day * _DAY, stop, step))
            row, day = rows["row"].astype(np.int64), rows["first"] // _DAY - first_day
            totals[row, day] = np.where(rows["complete"] == 1, rows["total"], np.nan)
            versions[row, day] = rows["version"]
            unknown[row[rows["complete"] < 0]] = True
            if unprojected is None:
                stale = self._stale_by_version(channels, versions, first_day)
            elif unprojected:
                stale = self._stale_in_tail(rows, unprojected, channels, versions, first_day)
        for cell, channel_day in self._read_stale(stale, channels, first_day).items():
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

    def _rows(self, channels: list[UUID], first: int, stop: int, step: int) -> np.ndarray:
        """Row index of the channel, day start, version, values, statuses, qualities of
        the channels' days starting in [first, stop) with intervals of ``step`` seconds."""
        record = _record(_DAY // step)
        with self.view.transaction(commit=False) as session:
            if self.view.dialect == "postgresql":
                return self._copied_rows(session, channels, (first, stop, step), record)
            return self._selected_rows(session, channels, (first, stop, step), record)

    def _usage_rows(self, channels: list[UUID], bounds: tuple[int, int, int]) -> np.ndarray:
        """Row index of the channel, day start, version, whether complete (-1: not
        recorded), total and day id of the channels' days in [first, stop)."""
        with self.view.transaction(commit=False) as session:
            if self.view.dialect != "postgresql":
                return self._selected_usage_rows(session, channels, bounds)
            cursor = session.connection().connection.cursor()
            query = cursor.mogrify(
                "SELECT c.n - 1, d.first_second, d.version, coalesce(d.day_complete, -1), "
                "coalesce(d.day_total, 'NaN'), d.day_id "
                "FROM unnest(%s::uuid[]) WITH ORDINALITY AS c(id, n) "
                "JOIN interval_days d ON d.channel_id = c.id "
                "WHERE d.first_second >= %s AND d.first_second < %s AND d.interval_seconds = %s",
                ([str(channel) for channel in channels], *bounds),
            ).decode()
            buffer = io.BytesIO()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
        data = buffer.getbuffer()
        count = (len(data) - _COPY_HEADER - 2) // _USAGE.itemsize
        return np.frombuffer(data, dtype=_USAGE, offset=_COPY_HEADER, count=count)

    def _selected_usage_rows(
        self, session: Any, channels: list[UUID], bounds: tuple[int, int, int]
    ) -> np.ndarray:
        table = INTERVAL_DAYS
        first, stop, step = bounds
        index = {channel: number for number, channel in enumerate(channels)}
        found = []
        for part in range(0, len(channels), 500):
            query = select(
                table.c.channel_id, table.c.first_second, table.c.version,
                table.c.day_complete, table.c.day_total, table.c.day_id,
            ).where(
                table.c.channel_id.in_(channels[part : part + 500]),
                table.c.first_second >= first,
                table.c.first_second < stop,
                table.c.interval_seconds == step,
            )  # fmt: skip
            found.extend(session.execute(query).all())
        rows = np.zeros(len(found), dtype=_USAGE)
        for number, (channel, day_start_s, version, complete, total, day_id) in enumerate(found):
            rows[number]["row"], rows[number]["first"] = index[channel], day_start_s
            rows[number]["version"] = version
            rows[number]["complete"] = -1 if complete is None else complete
            rows[number]["total"] = np.nan if total is None else total
            rows[number]["day_id"] = day_id.bytes
        return rows

    def _copied_rows(
        self, session: Any, channels: list[UUID], bounds: tuple[int, int, int], record: np.dtype
    ) -> np.ndarray:
        cursor = session.connection().connection.cursor()
        # The channel's position in the list comes from the join, so rows need no lookup.
        query = cursor.mogrify(
            "SELECT c.n - 1, d.first_second, d.version, d.slot_values, d.meter_statuses, "
            "d.qualities, d.day_id FROM unnest(%s::uuid[]) WITH ORDINALITY AS c(id, n) "
            "JOIN interval_days d ON d.channel_id = c.id "
            "WHERE d.first_second >= %s AND d.first_second < %s AND d.interval_seconds = %s",
            ([str(channel) for channel in channels], *bounds),
        ).decode()
        buffer = io.BytesIO()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
        data = buffer.getbuffer()
        count = (len(data) - _COPY_HEADER - 2) // record.itemsize
        return np.frombuffer(data, dtype=record, offset=_COPY_HEADER, count=count)

    def _selected_rows(
        self, session: Any, channels: list[UUID], bounds: tuple[int, int, int], record: np.dtype
    ) -> np.ndarray:
        table = INTERVAL_DAYS
        first, stop, step = bounds
        index = {channel: number for number, channel in enumerate(channels)}
        found = []
        for part in range(0, len(channels), 500):
            query = select(
                table.c.channel_id,
                table.c.first_second,
                table.c.version,
                table.c.slot_values,
                table.c.meter_statuses,
                table.c.qualities,
                table.c.day_id,
            ).where(
                table.c.channel_id.in_(channels[part : part + 500]),
                table.c.first_second >= first,
                table.c.first_second < stop,
                table.c.interval_seconds == step,
            )
            found.extend(session.execute(query).all())
        rows = np.zeros(len(found), dtype=record)
        for number, (
            channel,
            first_second,
            version,
            values,
            statuses,
            qualities,
            day_id,
        ) in enumerate(found):
            rows[number]["row"], rows[number]["first"] = index[channel], first_second
            rows[number]["version"] = version
            rows[number]["values"] = np.frombuffer(values, dtype="<f8")
            rows[number]["statuses"] = np.frombuffer(statuses, dtype=np.uint8)
            rows[number]["qualities"] = np.frombuffer(qualities, dtype=np.uint8)
            rows[number]["day_id"] = day_id.bytes
        return rows

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

    def _stale_in_tail(
        self,
        rows: np.ndarray,
        unprojected: dict[UUID, int],
        channels: list[UUID],
        versions: np.ndarray,
        first_day: int,
    ) -> list[tuple[int, int]]:
        """Cells (channel row, day column) the tail of the log changed since the view."""
        tail = np.array([day_id.bytes for day_id in unprojected], dtype="S16")
        behind = np.flatnonzero(np.isin(rows["day_id"], tail))
        stale = [
            (int(rows["row"][at]), int(rows["first"][at] // _DAY - first_day))
            for at in behind
            if unprojected[_day_id(rows["day_id"][at])] != int(rows["version"][at])
        ]
        # Days the view has no row for may have been opened since (ids made only for those).
        for row, column in zip(*np.nonzero(versions == 0), strict=True):
            if ChannelDay.id_for(channels[row], _day(first_day + int(column))) in unprojected:
                stale.append((int(row), int(column)))
        return stale

    def _stale_by_version(
        self, channels: list[UUID], versions: np.ndarray, first_day: int
    ) -> list[tuple[int, int]]:
        cells = {
            ChannelDay.id_for(channel, _day(first_day + column)): (row, column)
            for row, channel in enumerate(channels)
            for column in range(versions.shape[1])
        }
        current = self._event_store_versions(cells)
        return [
            (row, column)
            for day_id, (row, column) in cells.items()
            if current.get(day_id, 0) != versions[row, column]
        ]

    def _read_stale(
        self, stale: list[tuple[int, int]], channels: list[UUID], first_day: int
    ) -> dict[tuple[int, int], ChannelDay | None]:
        """Stale days as the event store has them (None: it has none): remembered ones if
        still current, the others replayed, all in one read."""
        if not stale:
            return {}
        cells = {
            ChannelDay.id_for(channels[row], _day(first_day + col)): (row, col)
            for row, col in stale
        }
        current = self._event_store_versions(cells)
        days: dict[UUID, ChannelDay] = {}
        for day_id, version in current.items():
            remembered = self._remembered.get(day_id)
            if remembered is not None and remembered.version == version:
                days[day_id] = remembered
        wanted = [day_id for day_id in current if day_id not in days]
        if wanted:
            days.update(self.readings.get_many_as_of(wanted, None))
            self.days_read_from_store += len(wanted)
        return {cell: days.get(day_id) for day_id, cell in cells.items()}


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


def _day_id(packed: bytes) -> UUID:
    # numpy drops the trailing zero bytes of an "S16" item: put them back.
    return UUID(bytes=bytes(packed).ljust(16, b"\x00"))


def _uuid(value: Any) -> UUID:
    """An id as the driver gives it from a plain query: UUID, 16 bytes (SQLite) or text."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, bytes | memoryview):
        return UUID(bytes=bytes(value))
    return UUID(str(value))


def _day(number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=number)
