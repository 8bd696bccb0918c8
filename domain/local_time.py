"""Local wall-clock times of a utility's time zone, turned into instants.

Schedules and collection windows are written in local time ("04:00 in Europe/Berlin"),
but a local time names no instant, or two, on the days the clocks change. The rules
here are the only place that decides which instant is meant:

- a local time that does not exist (inside the spring-forward gap, e.g. 02:30 on
  29 March 2026 in Berlin) means the first valid instant after the gap (03:00 CEST):
  the work is due as soon as the clock allows, not skipped and not an hour late;
- a local time that occurs twice (fall-back, 02:30 on 25 October 2026 in Berlin) means
  its first occurrence (``fold=0``, still summer time), so it is due once.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


class UnknownTimeZone(ValueError):
    """A time-zone name the IANA database does not know."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(f"unknown time zone {name!r} (use an IANA name)") from None


def parse_time(text: str) -> time:
    """``HH:MM`` (or ``H:MM``, ``HH:MM:SS``) as a naive local time, without offset."""
    found = _CLOCK.fullmatch(str(text).strip())
    try:
        if found is None:
            raise ValueError
        hour, minute, second = (int(part or 0) for part in found.groups())
        return time(hour, minute, second)
    except ValueError:
        raise ValueError(f"must be a local time HH:MM, not {text!r}") from None


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant (UTC) that local ``at`` on ``day`` names, by the rules above."""
    wall = datetime.combine(day, at, tzinfo=tz)  # fold=0: the first of two occurrences
    instant = wall.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    return _end_of_gap(wall, tz)


def _end_of_gap(wall: datetime, tz: ZoneInfo) -> datetime:
    # Inside a gap, fold=1 reads the wall time with the offset after the change and
    # fold=0 with the one before; the change itself lies between the two readings. It
    # is the first instant whose local reading is past the wall time (bisect seconds:
    # transitions fall on whole seconds).
    naive = wall.replace(tzinfo=None)
    low = int(wall.replace(fold=1).astimezone(UTC).timestamp())
    high = int(wall.replace(fold=0).astimezone(UTC).timestamp())
    low, high = min(low, high), max(low, high)
    while low < high:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) > naive:
            high = middle
        else:
            low = middle + 1
    return datetime.fromtimestamp(low, UTC)


def today_in(name: str) -> date:
    """Today's date in the zone ``name`` (a cycle is in force from its own midnight)."""
    return datetime.now(zone(name)).date()


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def require_aware(instant: datetime, name: str = "instant") -> datetime:
    """Naive datetimes are refused: whether 04:00 is local or UTC must never be guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not {instant.isoformat()}")
    return instant
