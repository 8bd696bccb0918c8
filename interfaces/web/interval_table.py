"""The rows of a channel's interval table: recorded intervals and the holes between them.

``Readings.intervals`` answers only intervals with a value or a judgement; a slot
nothing is known for is left out. An operator must see those holes to fill them, so
every slot of a day that has any record, up to the time shown, becomes a row, and the
missing ones say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from interfaces.web.forms import FormProblem

# How interval starts travel in form fields and URLs: UTC with a "Z", so no "+" needs
# escaping in a path and the text sorts like the times.
START_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def start_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(START_FORMAT)


def parse_start(field: str, text: str) -> datetime:
    """An interval start from a form field or URL; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FormProblem(field, f"is not an interval start: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def table_rows(
    recorded: Iterable[dict[str, Any]],
    interval_minutes: int | None,
    start: datetime,
    end: datetime,
    until: datetime,
) -> list[dict[str, Any]]:
    """Recorded rows plus a ``missing`` row for every unknown slot of their days.

    Only days with some record get missing rows (a day nothing was ever delivered for
    is not a hole but an unread day), and only slots starting before ``until`` (the
    rest of today has not happened yet).
    """
    rows = {row["start"]: _shown(row) for row in recorded}
    if interval_minutes:
        step = timedelta(minutes=interval_minutes)
        for day in sorted({moment.date() for moment in rows}):
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            last = min(moment + timedelta(days=1), end, until)
            while moment < last:
                if moment >= start and moment not in rows:
                    rows[moment] = _missing(moment)
                moment += step
    return [rows[moment] for moment in sorted(rows)]


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    raw = row.get("raw_value")
    value = row.get("value")
    return {
        **row,
        "key": start_key(row["start"]),
        # The meter's own value is shown only where a person or an estimate replaced it.
        "raw_differs": raw is not None and (value is None or abs(raw - value) > 1e-9),
    }


def _missing(moment: datetime) -> dict[str, Any]:
    return {
        "start": moment,
        "key": start_key(moment),
        "value": None,
        "raw_value": None,
        "meter_status": 0,
        "quality": "missing",
        "billed": False,
        "raw_differs": False,
    }
