"""History for bulk ingest from the interval read model, checked against the event store.

``IntervalValuesHistory`` answers ``application.bulk_ingest.HistorySource``: interval
values of many channels for a period in one query over ``interval_values`` (the
``IntervalView``'s table). A read model lags its application, and a lagging history would
make validation judge against stale values. When the view's tracking position is the
Readings application's last notification id, nothing is stale. Otherwise every channel
day of the answer is checked: its highest ``day_version`` in the read model against its
version in the Readings recorded-time index (``<app>_recorded_times``, written in the
transaction of the events), and a day whose versions differ is read from the event store
(``Readings.series``). Either way the answer is what ``Readings.series`` would give; it
is only slower while the projection lags.

Two differences from ``Readings.series``, neither seen by any rule (no rule reads the
meter status of history, and a day re-read is exact): the meter status of a slot held by
a person's edit or a billed estimate is the one the read model last wrote (the aggregate
keeps the newer one delivered), and a day whose last event changed no values
(``EstimatesBilled``) is re-read from the event store whenever the view lags.

On PostgreSQL the rows come as one binary ``COPY`` parsed by numpy: a 28-day history is
2,688 rows a channel, and a row tuple costs about a microsecond in Python.
``BulkExternalPeriods`` gives billing's periods of many service points in one query.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from sqlalchemy import case, func, select

from application.readings import Readings
from domain.channel_day import ChannelDay, day_start
from domain.reading_quality import ReadingQuality
from domain.vee.series import IntervalSeries
from projections.external_periods import EXTERNAL_PERIODS, ExternalPeriodView
from projections.interval_view import INTERVAL_VALUES, IntervalView

_DAY = 86_400
_CODES = {quality.name.lower(): int(quality) for quality in ReadingQuality}
# One fixed-width record per row of the binary COPY below (big-endian, length-prefixed).
_RECORD = np.dtype(
    [("fields", ">i2"), ("l1", ">i4"), ("row", ">i8"), ("l2", ">i4"), ("start", ">i8"),
     ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"), ("status", ">i4"), ("l5", ">i4"),
     ("quality", ">i2"), ("l6", ">i4"), ("version", ">i4")]
)  # fmt: skip
_COPY_HEADER = 19  # signature, flags, header extension length


class IntervalValuesHistory:
    def __init__(self, view: IntervalView, readings: Readings) -> None:
        self.view = view
        self.readings = readings
        recorder: Any = readings.recorder
        self._versions = recorder.recorded_times  # adapters.persistence.recorder

    def series(
        self, channel_ids: Sequence[UUID], interval_minutes: int, start: datetime, end: datetime
    ) -> Mapping[UUID, IntervalSeries]:
        step = interval_minutes * 60
        first, stop = int(start.timestamp()), int(end.timestamp())
        count = max(0, (stop - first) // step)
        channels = list(dict.fromkeys(channel_ids))
        values = np.full((len(channels), count), np.nan)
        statuses = np.zeros((len(channels), count), dtype=np.uint8)
        qualities = np.zeros((len(channels), count), dtype=np.uint8)
        first_day = first // _DAY
        day_count = -(-stop // _DAY) - first_day
        versions = np.zeros((len(channels), max(day_count, 0)), dtype=np.int64)
        # Read before the rows: rows read after it are at least as new as this position.
        caught_up = self._caught_up()
        if channels and count:
            row, start_at, value, status, quality, version = self._rows(channels, first, stop)
            slot = (start_at - first) // step
            on_grid = (start_at - first) % step == 0
            values[row[on_grid], slot[on_grid]] = value[on_grid]
            statuses[row[on_grid], slot[on_grid]] = status[on_grid]
            qualities[row[on_grid], slot[on_grid]] = quality[on_grid]
            np.maximum.at(versions, (row, start_at // _DAY - first_day), version)
        result = {
            channel_id: IntervalSeries(
                start, interval_minutes, values[index], statuses[index], qualities[index]
            )
            for index, channel_id in enumerate(channels)
        }
        if not caught_up:
            self._refresh_stale(result, channels, versions, first_day, (start, end))
        return result

    def recorded_days(self, day_ids: Collection[UUID]) -> Collection[UUID]:
        return set(self._event_store_versions(day_ids))

    # -- internals -------------------------------------------------------------------

    def _caught_up(self) -> bool:
        position = self.view.max_tracking_id(self.readings.name)
        return position == self.readings.recorder.max_notification_id()

    def _rows(self, channels: list[UUID], first: int, stop: int) -> tuple[np.ndarray, ...]:
        """Row index of the channel, start, value (NaN for NULL), status, quality, version."""
        with self.view.transaction(commit=False) as session:
            if self.view.dialect == "postgresql":
                return self._copied_rows(session, channels, first, stop)
            return self._selected_rows(session, channels, first, stop)

    def _copied_rows(
        self, session: Any, channels: list[UUID], first: int, stop: int
    ) -> tuple[np.ndarray, ...]:
        codes = " ".join(f"WHEN '{name}' THEN {code}" for name, code in _CODES.items())
        cursor = session.connection().connection.cursor()
        # The channel's position in the list comes from the join, so rows need no lookup.
        query = cursor.mogrify(
            "SELECT c.n - 1, v.start_at, coalesce(v.value, 'NaN'::float8), v.meter_status, "
            f"(CASE v.quality {codes} ELSE 0 END)::int2, v.day_version "
            "FROM unnest(%s::uuid[]) WITH ORDINALITY AS c(id, n) "
            "JOIN interval_values v ON v.channel_id = c.id "
            "WHERE v.start_at >= %s AND v.start_at < %s",
            ([str(channel) for channel in channels], first, stop),
        ).decode()
        # psycopg2 writes a row at a time: BytesIO's C write keeps that cheap.
        buffer = io.BytesIO()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
        data = buffer.getbuffer()
        count = (len(data) - _COPY_HEADER - 2) // _RECORD.itemsize
        rows = np.frombuffer(data, dtype=_RECORD, offset=_COPY_HEADER, count=count)
        return (
            rows["row"].astype(np.int64),
            rows["start"].astype(np.int64),
            rows["value"].astype(np.float64),
            rows["status"].astype(np.uint8),
            rows["quality"].astype(np.uint8),
            rows["version"].astype(np.int64),
        )

    def _selected_rows(
        self, session: Any, channels: list[UUID], first: int, stop: int
    ) -> tuple[np.ndarray, ...]:
        table = INTERVAL_VALUES
        code = case(_CODES, value=table.c.quality, else_=int(ReadingQuality.MISSING))
        query = select(
            table.c.channel_id,
            table.c.start_at,
            table.c.value,  # NULL becomes NaN in the float array below
            table.c.meter_status,
            code,
            table.c.day_version,
        ).where(
            table.c.channel_id.in_(channels), table.c.start_at >= first, table.c.start_at < stop
        )
        rows = session.execute(query).all()
        index = {channel: number for number, channel in enumerate(channels)}
        columns = list(zip(*rows, strict=True)) or [()] * 6
        return (
            np.array([index[channel] for channel in columns[0]], dtype=np.int64),
            np.array(columns[1], dtype=np.int64),
            np.array(columns[2], dtype=np.float64),
            np.array(columns[3], dtype=np.uint8),
            np.array(columns[4], dtype=np.uint8),
            np.array(columns[5], dtype=np.int64),
        )

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

    def _refresh_stale(
        self,
        result: Mapping[UUID, IntervalSeries],
        channels: list[UUID],
        versions: np.ndarray,
        first_day: int,
        period: tuple[datetime, datetime],
    ) -> None:
        """Days the read model has not caught up with are read from the event store."""
        days = {
            ChannelDay.id_for(channel, _day(first_day + column)): (row, column)
            for row, channel in enumerate(channels)
            for column in range(versions.shape[1])
        }
        current = self._event_store_versions(days)
        start, end = period
        for day_id, (row, column) in days.items():
            if current.get(day_id, 0) == versions[row, column]:
                continue
            series = result[channels[row]]
            day = _day(first_day + column)
            first = max(start, day_start(day))
            stop = min(end, day_start(day) + timedelta(days=1))
            exact = self.readings.series(channels[row], series.interval_minutes, first, stop)
            target = slice((first - start) // series.step, (stop - start) // series.step)
            series.values[target] = exact.values
            series.statuses[target] = exact.statuses
            series.qualities[target] = exact.qualities


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


def _day(number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=number)
