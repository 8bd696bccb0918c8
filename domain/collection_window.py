"""The collection window: the local hours by which a cycle's critical work must be done.

Work due on a window day before the window's end is bounded by that end (a 04:00 read
must be complete by 07:00; so must one due at 02:00). Work due after the end, or on a
day without a window, is not bounded and is never reported late. The end is a local
time resolved like every other (``domain.local_time``), so on a switch day 07:00 is
still 07:00 on the wall clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from domain.local_time import local_instant, parse_time
from domain.schedule import DAY_SETS, WEEKDAYS


@dataclass(frozen=True)
class CollectionWindow:
    start: time
    end: time
    days: tuple[int, ...]  # 0 = Monday

    def end_for(self, due_at: datetime, tz: ZoneInfo) -> datetime | None:
        """When work due at ``due_at`` must be done (UTC), or None when unbounded."""
        day = due_at.astimezone(tz).date()
        if day.weekday() not in self.days:
            return None
        end = local_instant(day, self.end, tz)
        return end if due_at < end else None


DEFAULT_WINDOW = CollectionWindow(time(4), time(7), (0, 1, 2, 3, 4))


def window_from_spec(spec: Mapping[str, Any] | None) -> CollectionWindow:
    """``{"start": "04:00", "end": "07:00", "days": ["mon", ...] | "weekdays"}``."""
    if spec is None:
        return DEFAULT_WINDOW
    if not isinstance(spec, Mapping):
        raise ValueError("must be an object with start, end and days")
    if unknown := sorted(set(spec) - {"start", "end", "days"}):
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    start = parse_time(spec.get("start", "04:00"))
    end = parse_time(spec.get("end", "07:00"))
    if end <= start:
        raise ValueError("end must be after start on the same day")
    days = spec.get("days", "weekdays")
    names = DAY_SETS.get(days, ()) if isinstance(days, str) else tuple(days)
    if not names or any(name not in WEEKDAYS for name in names):
        raise ValueError(f"days must be weekday names {', '.join(WEEKDAYS)} or {list(DAY_SETS)}")
    return CollectionWindow(start, end, tuple(sorted({WEEKDAYS.index(n) for n in names})))


def spec_of_window(window: CollectionWindow) -> dict[str, Any]:
    return {
        "start": window.start.isoformat("minutes"),
        "end": window.end.isoformat("minutes"),
        "days": [WEEKDAYS[index] for index in window.days],
    }
