"""Recurrence rules of cycles: the instants at which a cycle comes due.

A schedule is a frozen value built from a JSON-stable spec (stored in Cycle events):

    {"kind": "weekly", "days": ["mon", "tue", "wed", "thu", "fri"], "at": "04:00",
     "timezone": "Europe/Berlin"}
    {"kind": "monthly", "day": "last", "at": "23:30", "timezone": "Europe/Berlin"}
    {"kind": "every", "minutes": 15, "timezone": "America/New_York"}

each with optional ``"holidays": {"dates": [...], "calendar": "DE-BY", "rule": "skip"}``.

Local times follow ``domain.local_time`` (a time in the spring-forward gap is due at
the first instant after the gap; a repeated time once, at its first occurrence).
``every`` counts elapsed minutes from local midnight, so a 15-minute cycle is due 92
times on a 23-hour day and 100 times on a 25-hour day, never twice at one instant.
``monthly`` day 29-31 falls on the month's last day in shorter months.

Holidays are local dates. ``skip`` drops every occurrence on a holiday; ``next`` (not
for ``every``) moves a day's occurrence to the same local time on the next day that is
not a holiday, where it merges with that day's own occurrence if there is one. Named
calendars are resolved by the application (``with_holidays``) before computing.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.local_time import local_instant, parse_time, require_aware, zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {"daily": WEEKDAYS, "weekdays": WEEKDAYS[:5], "weekends": WEEKDAYS[5:]}
HOLIDAY_RULES = ("skip", "next")
_LONGEST_SEARCH = timedelta(days=5 * 366)


class ScheduleError(ValueError):
    """A schedule spec that names no well-defined recurrence."""


@dataclass(frozen=True)
class Holidays:
    dates: frozenset[date] = frozenset()
    calendar: str | None = None  # a HolidayCalendar key, resolved by the application
    rule: str = "skip"


@dataclass(frozen=True)
class Weekly:
    days: tuple[int, ...]  # 0 = Monday
    at: time
    timezone: str
    holidays: Holidays = field(default_factory=Holidays)

    def base_times(self, day: date) -> list[time]:
        return [self.at] if day.weekday() in self.days else []


@dataclass(frozen=True)
class Monthly:
    day: int | None  # None: the last day of the month
    at: time
    timezone: str
    holidays: Holidays = field(default_factory=Holidays)

    def base_times(self, day: date) -> list[time]:
        last = calendar.monthrange(day.year, day.month)[1]
        wanted = last if self.day is None else min(self.day, last)
        return [self.at] if day.day == wanted else []


@dataclass(frozen=True)
class Every:
    minutes: int
    timezone: str
    holidays: Holidays = field(default_factory=Holidays)


Schedule = Weekly | Monthly | Every


def weekly(days: Iterable[str] | str, at: str, tz: str, holidays: Holidays | None = None) -> Weekly:
    names = DAY_SETS.get(days, ()) if isinstance(days, str) else tuple(days)
    unknown = [name for name in names if name not in WEEKDAYS]
    if not names or unknown:
        raise ScheduleError(f"days must be weekday names {', '.join(WEEKDAYS)} or {list(DAY_SETS)}")
    indexes = tuple(sorted({WEEKDAYS.index(name) for name in names}))
    return Weekly(indexes, _time(at), _zone_name(tz), holidays or Holidays())


def monthly(day: int | str, at: str, tz: str, holidays: Holidays | None = None) -> Monthly:
    if day == "last":
        number = None
    elif isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 31:
        number = day
    else:
        raise ScheduleError(f"day must be 1-31 or 'last', not {day!r}")
    return Monthly(number, _time(at), _zone_name(tz), holidays or Holidays())


def every(minutes: int, tz: str, holidays: Holidays | None = None) -> Every:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 1440:
        raise ScheduleError(f"minutes must be a whole number 1-1440, not {minutes!r}")
    if 1440 % minutes:
        raise ScheduleError(f"{minutes} minutes do not divide a day: cannot align to midnight")
    found = Every(minutes, _zone_name(tz), holidays or Holidays())
    if found.holidays.rule != "skip":
        raise ScheduleError("an 'every' schedule can only skip holidays")
    return found


def with_holidays(schedule: Schedule, dates: Iterable[date]) -> Schedule:
    """The schedule with ``dates`` (a named calendar's) added to its own holidays."""
    merged = schedule.holidays.dates | frozenset(dates)
    return replace(schedule, holidays=replace(schedule.holidays, dates=merged))


# -- computing instants -----------------------------------------------------------------


def due_between(
    spec: Schedule | Mapping[str, Any], start: datetime, end: datetime
) -> list[datetime]:
    """Instants (UTC) at which the schedule is due, ``start < t <= end``, in order."""
    schedule = as_schedule(spec)
    require_aware(start, "start")
    require_aware(end, "end")
    if end <= start:
        return []
    tz = zone(schedule.timezone)
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    found: set[datetime] = set()
    day = first
    while day <= last:
        found.update(t for t in _occurrences_on(schedule, day, tz) if start < t <= end)
        day += timedelta(days=1)
    return sorted(found)


def next_due_after(spec: Schedule | Mapping[str, Any], instant: datetime) -> datetime:
    """The first instant (UTC) strictly after ``instant`` at which the schedule is due."""
    schedule = as_schedule(spec)
    require_aware(instant)
    step = timedelta(days=2)
    start = instant
    while start - instant < _LONGEST_SEARCH:
        found = due_between(schedule, start, start + step)
        if found:
            return found[0]
        start, step = start + step, min(step * 4, timedelta(days=400))
    raise ScheduleError("the schedule is not due within five years (every day a holiday?)")


def _occurrences_on(schedule: Schedule, day: date, tz: ZoneInfo) -> list[datetime]:
    holidays = schedule.holidays
    if day in holidays.dates:
        return []
    if isinstance(schedule, Every):
        return _every_on(schedule, day, tz)
    days = [day]
    if holidays.rule == "next":
        # Occurrences of the holidays just before ``day`` were moved here.
        earlier = day - timedelta(days=1)
        while earlier in holidays.dates:
            days.append(earlier)
            earlier -= timedelta(days=1)
    return [local_instant(day, at, tz) for base in days for at in schedule.base_times(base)]


def _every_on(schedule: Every, day: date, tz: ZoneInfo) -> list[datetime]:
    # Elapsed time from local midnight to the next: 23 or 25 hours on switch days.
    midnight = local_instant(day, time(0), tz)
    next_midnight = local_instant(day + timedelta(days=1), time(0), tz)
    step = timedelta(minutes=schedule.minutes)
    found, moment = [], midnight
    while moment < next_midnight:
        found.append(moment)
        moment += step
    return found


# -- specs ------------------------------------------------------------------------------


def as_schedule(spec: Schedule | Mapping[str, Any]) -> Schedule:
    if isinstance(spec, Weekly | Monthly | Every):
        return spec
    return schedule_from_spec(spec)


def schedule_from_spec(spec: Mapping[str, Any]) -> Schedule:
    """Builds a schedule from its JSON spec; raises ScheduleError naming the problem."""
    if not isinstance(spec, Mapping):
        raise ScheduleError("a schedule must be an object with a 'kind'")
    known = {"kind", "days", "at", "day", "minutes", "timezone", "holidays"}
    if unknown := sorted(set(spec) - known):
        raise ScheduleError(f"unknown schedule fields: {', '.join(unknown)}")
    kind, tz = spec.get("kind"), str(spec.get("timezone") or "")
    holidays = _holidays(spec.get("holidays"))
    if kind == "weekly":
        return weekly(spec.get("days") or (), str(spec.get("at") or ""), tz, holidays)
    if kind == "monthly":
        return monthly(spec.get("day", "last"), str(spec.get("at") or ""), tz, holidays)
    if kind == "every":
        return every(spec.get("minutes"), tz, holidays)  # type: ignore[arg-type]
    raise ScheduleError(f"kind must be weekly, monthly or every, not {kind!r}")


def spec_of(schedule: Schedule) -> dict[str, Any]:
    """The JSON-stable spec of a schedule (what a Cycle event stores)."""
    spec: dict[str, Any]
    if isinstance(schedule, Weekly):
        days = [WEEKDAYS[index] for index in schedule.days]
        spec = {"kind": "weekly", "days": days, "at": schedule.at.isoformat("minutes")}
    elif isinstance(schedule, Monthly):
        day: int | str = "last" if schedule.day is None else schedule.day
        spec = {"kind": "monthly", "day": day, "at": schedule.at.isoformat("minutes")}
    else:
        spec = {"kind": "every", "minutes": schedule.minutes}
    spec["timezone"] = schedule.timezone
    holidays = schedule.holidays
    if holidays != Holidays():
        spec["holidays"] = {
            "dates": sorted(day.isoformat() for day in holidays.dates),
            "calendar": holidays.calendar,
            "rule": holidays.rule,
        }
    return spec


def _holidays(value: Any) -> Holidays:
    if value is None:
        return Holidays()
    if not isinstance(value, Mapping):
        raise ScheduleError("holidays must be an object with dates, calendar and rule")
    rule = value.get("rule") or "skip"
    if rule not in HOLIDAY_RULES:
        raise ScheduleError(f"holiday rule must be one of {', '.join(HOLIDAY_RULES)}")
    try:
        dates = frozenset(date.fromisoformat(str(day)) for day in value.get("dates") or ())
    except ValueError:
        raise ScheduleError("holiday dates must be YYYY-MM-DD") from None
    calendar_key = value.get("calendar")
    return Holidays(dates, str(calendar_key).strip() if calendar_key else None, str(rule))


def _time(text: str) -> time:
    try:
        return parse_time(text)
    except ValueError as error:
        raise ScheduleError(f"at {error}") from None


def _zone_name(name: str) -> str:
    try:
        zone(name)
    except ValueError as error:
        raise ScheduleError(str(error)) from None
    return name
