"""The intervals' JSON text is what json.dumps makes of the same rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

import numpy as np

from domain.reading_quality import ReadingQuality
from interfaces.api.interval_json import intervals_json
from projections.interval_days import DayBlock

DAY = datetime(2026, 3, 1, tzinfo=UTC)
QUALITIES = [quality.name.lower() for quality in ReadingQuality]


def block(values: list[float], raw: list[float], qualities: list[int], day: int = 0) -> DayBlock:
    slots = 96
    padded = np.full(slots, np.nan)
    padded[: len(values)] = values
    padded_raw = np.full(slots, np.nan)
    padded_raw[: len(raw)] = raw
    quality = np.zeros(slots, dtype=np.uint8)
    quality[: len(qualities)] = qualities
    return DayBlock(
        day_id=UUID(int=day),
        channel_id=UUID(int=1),
        first_second=int((DAY + timedelta(days=day)).timestamp()),
        interval_seconds=900,
        version=3 + day,
        data_version=3 + day,
        values=padded,
        raw=padded_raw,
        statuses=(np.arange(slots) * 37 % 256).astype(np.uint8),
        qualities=quality,
        billed=np.arange(slots) % 3 == 0,
        written=quality != 0,
    )


def expected(blocks: list[DayBlock], start: datetime, end: datetime) -> list[dict[str, object]]:
    rows = []
    for found in blocks:
        for slot in range(96):
            moment = datetime.fromtimestamp(found.first_second + 900 * slot, UTC)
            if found.qualities[slot] == ReadingQuality.MISSING or not start <= moment < end:
                continue
            value, raw = float(found.values[slot]), float(found.raw[slot])
            rows.append(
                {
                    "start": moment.isoformat(),
                    "value": None if np.isnan(value) else value,
                    "raw_value": None if np.isnan(raw) else raw,
                    "meter_status": int(found.statuses[slot]),
                    "quality": QUALITIES[found.qualities[slot]],
                    "billed": bool(found.billed[slot]),
                    "version": found.version,
                }
            )
    return rows


def test_the_text_is_json_dumps_of_the_rows_for_awkward_numbers() -> None:
    values = [0.1 + 0.2, -0.0, 0.0, 1e-05, 1e16, 123.0, np.nan, 5e-324, 2.5]
    raw = [0.1 + 0.2, 0.0, -0.0, 1e-05, 1e16, 124.0, 7.25, np.nan, 2.5]
    qualities = [1, 2, 3, 4, 5, 6, 3, 2, 0]
    blocks = [block(values, raw, qualities), block(raw, values, qualities, day=1)]
    start, end = DAY, DAY + timedelta(days=2)

    count, text = intervals_json(blocks, start, end)

    rows = expected(blocks, start, end)
    assert count == len(rows) == 16
    assert text == json.dumps(rows, separators=(",", ":"))


def test_only_slots_starting_in_the_window_are_given() -> None:
    blocks = [block([1.0] * 96, [1.0] * 96, [2] * 96), block([2.0] * 96, [2.0] * 96, [2] * 96, 1)]
    start, end = DAY + timedelta(hours=23, minutes=50), DAY + timedelta(days=1, minutes=31)

    count, text = intervals_json(blocks, start, end)

    assert [row["start"] for row in json.loads(text)] == [
        "2026-03-02T00:00:00+00:00",
        "2026-03-02T00:15:00+00:00",
        "2026-03-02T00:30:00+00:00",
    ]
    assert count == 3
    assert intervals_json([], start, end) == (0, "[]")
