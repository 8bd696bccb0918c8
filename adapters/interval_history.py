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
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
from sqlalchemy import func, select

from application.readings import Readings
from domain.channel_day import ChannelDay, day_start
from domain.vee.series import IntervalSeries
from projections.external_periods import EXTERNAL_PERIODS, ExternalPeriodView
from projections.interval_days import INTERVAL_DAYS
from projections.interval_view import IntervalView

_DAY = 86_400
_COPY_HEADER = 19  # signature, flags, header extension length


def _record(slots: int) -> np.dtype:
    """One row of the binary COPY below: big-endian lengths, the arrays as stored (LE)."""
    return np.dtype(
        [("fields", ">i2"), ("l1", ">i4"), ("row", ">i8"), ("l2", ">i4"), ("first", ">i8"),
         ("l3", ">i4"), ("version", ">i4"), ("l4", ">i4"), ("values", "<f8", (slots,)),
         ("l5", ">i4"), ("statuses", "u1", (slots,)), ("l6", ">i4"),
         ("qualities", "u1", (slots,))]
    )  # fmt: skip


class IntervalViewHistory:
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
        first_day = first // _DAY
        day_count = max(0, -(-stop // _DAY) - first_day)
        per_day = _DAY // step
        # The days' slots side by side, then the asked window cut out of them.
        values = np.full((len(channels), day_count, per_day), np.nan)
        statuses = np.zeros((len(channels), day_count, per_day), dtype=np.uint8)
        qualities = np.zeros((len(channels), day_count, per_day), dtype=np.uint8)
        versions = np.zeros((len(channels), day_count), dtype=np.int64)
        # Read before the rows: rows read after it are at least as new as this position.
        caught_up = not self.view.lags(self.readings.name, self._events_table)
        if channels and count:
            rows = self._rows(channels, first_day * _DAY, stop, step)
            row, day = rows["row"].astype(np.int64), rows["first"] // _DAY - first_day
            values[row, day] = rows["values"]
            statuses[row, day] = rows["statuses"]
            qualities[row, day] = rows["qualities"]
            versions[row, day] = rows["version"]
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
        if not caught_up:
            self._refresh_stale(result, channels, versions, first_day, (start, end))
        return result

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

    def _copied_rows(
        self, session: Any, channels: list[UUID], bounds: tuple[int, int, int], record: np.dtype
    ) -> np.ndarray:
        cursor = session.connection().connection.cursor()
        # The channel's position in the list comes from the join, so rows need no lookup.
        query = cursor.mogrify(
            "SELECT c.n - 1, d.first_second, d.version, d.slot_values, d.meter_statuses, "
            "d.qualities FROM unnest(%s::uuid[]) WITH ORDINALITY AS c(id, n) "
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
            ).where(
                table.c.channel_id.in_(channels[part : part + 500]),
                table.c.first_second >= first,
                table.c.first_second < stop,
                table.c.interval_seconds == step,
            )
            found.extend(session.execute(query).all())
        rows = np.zeros(len(found), dtype=record)
        for number, (channel, first_second, version, values, statuses, qualities) in enumerate(
            found
        ):
            rows[number]["row"], rows[number]["first"] = index[channel], first_second
            rows[number]["version"] = version
            rows[number]["values"] = np.frombuffer(values, dtype="<f8")
            rows[number]["statuses"] = np.frombuffer(statuses, dtype=np.uint8)
            rows[number]["qualities"] = np.frombuffer(qualities, dtype=np.uint8)
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
