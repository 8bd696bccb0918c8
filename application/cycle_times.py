"""When a registered cycle comes due, with its calendars and its history taken into account.

A cycle's schedule and time zone are effective-dated, so the instants of a range are
computed period by period, each with the schedule in force on its days. Named holiday
calendars are looked up in the registry as they list dates with effect on the last
day of the range. Whether an instant really was a firing is decided by the cycle *as
recorded at that instant*: a cycle created at 04:05 was not due at 04:00, and a change
recorded after a due time does not rewrite what was due then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from eventsourcing.application import AggregateNotFoundError

from application.base import HesApplication
from application.errors import UnknownAggregate
from domain.cycle import Cycle
from domain.holiday_calendar import HolidayCalendar
from domain.local_time import local_date, local_instant
from domain.schedule import Schedule, due_between, with_holidays

_LONGEST_LOOKAHEAD = timedelta(days=5 * 366)
_TINY = timedelta(microseconds=1)


class CycleTimes:
    def __init__(self, registry: HesApplication) -> None:
        self.registry = registry
        # Latest versions of cycles, replaced when the catalogue reports a newer one;
        # calendars only within one round (nothing reports their versions).
        self._latest: dict[str, Cycle] = {}
        self._calendars: dict[str, HolidayCalendar] | None = None

    def latest(self, key: str, version: int) -> Cycle:
        """The cycle at ``version`` (its latest), loaded again only when that changed."""
        cached = self._latest.get(key)
        if cached is None or cached.version != version:
            cached = self._latest[key] = self.cycle(key)
        return cached

    @contextmanager
    def one_round(self) -> Iterator[None]:
        """Holiday calendars are read once per round instead of once per cycle."""
        self._calendars = {}
        try:
            yield
        finally:
            self._calendars = None

    def cycle(self, key: str, as_of: datetime | None = None) -> Cycle:
        """The cycle as recorded at ``as_of`` (latest when None)."""
        try:
            found: Cycle = self.registry.get_as_of(Cycle.id_for(key), as_of)
        except AggregateNotFoundError:
            raise UnknownAggregate("cycle", key, as_of) from None
        return found

    def known_at(self, cycle: Cycle, instant: datetime) -> Cycle | None:
        """``cycle`` as it was recorded at ``instant``; None when not recorded yet."""
        if cycle.created_on > instant:
            return None
        if cycle.modified_on <= instant:
            return cycle  # nothing recorded since: no replay needed
        return self.cycle(cycle.key, instant)

    def schedule(self, cycle: Cycle, day: date, holidays_on: date) -> Schedule:
        """The schedule in force on ``day`` with its named calendar's dates added."""
        schedule = cycle.schedule_on(day)
        key = schedule.holidays.calendar
        if key is None:
            return schedule
        return with_holidays(schedule, self._calendar(key).dates_on(holidays_on))

    def _calendar(self, key: str) -> HolidayCalendar:
        if self._calendars is not None and key in self._calendars:
            return self._calendars[key]
        try:
            calendar: HolidayCalendar = self.registry.get_as_of(HolidayCalendar.id_for(key), None)
        except AggregateNotFoundError:
            raise UnknownAggregate("holiday calendar", key) from None
        if self._calendars is not None:
            self._calendars[key] = calendar
        return calendar

    def candidates(
        self, cycle: Cycle, start: datetime, end: datetime, *, enabled_only: bool = True
    ) -> list[datetime]:
        """Due instants in ``(start, end]`` by the cycle's own (effective-dated) rules.

        ``enabled_only=False`` keeps the days the cycle is now recorded as switched off,
        for callers that ask ``confirmed`` what was known at each instant instead.
        """
        found: list[datetime] = []
        periods = cycle.schedule_periods()
        for index, period_start in enumerate(periods):
            until = periods[index + 1] if index + 1 < len(periods) else "9999-12-31"
            schedule = self.schedule(cycle, date.fromisoformat(period_start), cycle.local_day(end))
            zone = cycle.zone_on(date.fromisoformat(period_start))
            for instant in due_between(schedule, start, end):
                day = local_date(instant, zone)
                if not period_start <= day.isoformat() < until:
                    continue
                if cycle.is_enabled_on(day) or not enabled_only:
                    found.append(instant)
        return sorted(set(found))

    def upcoming(self, cycle: Cycle, after: datetime, count: int) -> list[datetime]:
        """The next ``count`` due instants after ``after`` as the cycle stands now."""
        found: list[datetime] = []
        first_day = cycle.first_enabled_day(cycle.local_day(after))
        if first_day is None:
            return []  # switched off or retired for good: nothing to search for
        midnight = local_instant(first_day, time(0), cycle.zone_on(first_day))
        start = after if midnight <= after else midnight - _TINY
        span = timedelta(days=2)
        while len(found) < count and start - after < _LONGEST_LOOKAHEAD:
            found.extend(self.candidates(cycle, start, start + span))
            start, span = start + span, min(span * 4, timedelta(days=400))
        return found[:count]

    def confirmed(self, cycle: Cycle, candidate: datetime) -> Cycle | None:
        """The cycle as known at ``candidate`` (one of ``candidates``) if it was due then.

        ``cycle`` is the latest version the candidate was computed from; only when the
        cycle was changed after the candidate is its older version replayed and asked.
        """
        known = self.known_at(cycle, candidate)
        if known is None or not known.is_enabled_on(known.local_day(candidate)):
            return None
        if known is cycle:
            return known
        day = known.local_day(candidate)
        schedule = self.schedule(known, day, day)
        return known if candidate in due_between(schedule, candidate - _TINY, candidate) else None
