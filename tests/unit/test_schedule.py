"""Recurrence rules across months with daylight-saving changes, holidays and month ends."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from domain.collection_window import DEFAULT_WINDOW, window_from_spec
from domain.local_time import local_instant
from domain.schedule import (
    Holidays,
    ScheduleError,
    due_between,
    every,
    monthly,
    next_due_after,
    schedule_from_spec,
    spec_of,
    weekly,
    with_holidays,
)

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
# (zone, first day simulated, last day simulated, the switch day, hours of that day).
# New York falls back on 1 November 2026, so its autumn run covers October too.
SWITCH_MONTHS = [
    (BERLIN, date(2026, 3, 1), date(2026, 3, 31), date(2026, 3, 29), 23),
    (BERLIN, date(2026, 10, 1), date(2026, 10, 31), date(2026, 10, 25), 25),
    (NEW_YORK, date(2026, 3, 1), date(2026, 3, 31), date(2026, 3, 8), 23),
    (NEW_YORK, date(2026, 10, 1), date(2026, 11, 30), date(2026, 11, 1), 25),
]


def month_of(zone: str, first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """(start, end] covering every local day from first to last (default: month end)."""
    after = (first + timedelta(days=32)).replace(day=1) if last is None else last + timedelta(1)
    start = local_instant(first, time(0), ZoneInfo(zone)) - timedelta(microseconds=1)
    end = local_instant(after, time(0), ZoneInfo(zone)) - timedelta(microseconds=1)
    return start, end


def local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


@pytest.mark.parametrize(("zone", "first", "last", "switch", "hours"), SWITCH_MONTHS)
def test_a_daily_cycle_fires_at_four_local_every_day_of_a_switch_month(
    zone: str, first: date, last: date, switch: date, hours: int
) -> None:
    start, end = month_of(zone, first, last)

    fired = due_between(weekly("daily", "04:00", zone), start, end)

    days = [local(instant, zone).date() for instant in fired]
    assert days == [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert {local(instant, zone).time() for instant in fired} == {time(4)}
    gaps = {local(later, zone).date(): later - earlier for earlier, later in pairwise(fired)}
    assert gaps.pop(switch) == timedelta(hours=hours)  # 23 h / 25 h apart in UTC
    assert set(gaps.values()) == {timedelta(hours=24)}


@pytest.mark.parametrize(("zone", "first", "last", "switch", "hours"), SWITCH_MONTHS)
def test_a_quarter_hourly_cycle_fires_92_or_100_times_on_the_switch_day(
    zone: str, first: date, last: date, switch: date, hours: int
) -> None:
    start, end = month_of(zone, first, last)

    fired = due_between(every(15, zone), start, end)

    per_day = Counter(local(instant, zone).date() for instant in fired)
    assert per_day.pop(switch) == hours * 4  # 92 in spring, 100 in autumn
    assert set(per_day.values()) == {96}
    assert len(per_day) == (last - first).days
    assert len(set(fired)) == len(fired)
    steps = {later - earlier for earlier, later in pairwise(fired)}
    assert steps == {timedelta(minutes=15)}  # elapsed time: no hole, no double


def test_a_time_in_the_spring_gap_fires_at_the_first_instant_after_the_gap() -> None:
    spring = datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 30, 12, tzinfo=UTC)

    fired = due_between(weekly("daily", "02:30", BERLIN), *spring)

    assert [local(instant, BERLIN).isoformat() for instant in fired] == [
        "2026-03-29T03:00:00+02:00",  # 02:30 does not exist; the clock jumps 02:00 -> 03:00
        "2026-03-30T02:30:00+02:00",
    ]
    assert fired[0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_a_time_repeated_in_autumn_fires_once_at_its_first_occurrence() -> None:
    autumn = datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 26, 12, tzinfo=UTC)

    fired = due_between(weekly("daily", "02:30", BERLIN), *autumn)

    assert [instant.isoformat() for instant in fired] == [
        "2026-10-25T00:30:00+00:00",  # 02:30 CEST (fold=0), not again at 02:30 CET
        "2026-10-26T01:30:00+00:00",
    ]


def test_new_york_spring_gap_and_autumn_repeat_follow_the_same_rules() -> None:
    spring = due_between(weekly("daily", "02:30", NEW_YORK), *month_of(NEW_YORK, date(2026, 3, 1)))
    autumn = due_between(weekly("daily", "01:30", NEW_YORK), *month_of(NEW_YORK, date(2026, 11, 1)))

    assert local(spring[7], NEW_YORK).isoformat() == "2026-03-08T03:00:00-04:00"
    assert local(autumn[0], NEW_YORK).isoformat() == "2026-11-01T01:30:00-04:00"
    assert local(autumn[1], NEW_YORK).isoformat() == "2026-11-02T01:30:00-05:00"


def test_next_due_after_is_strictly_after_and_crosses_the_gap() -> None:
    daily = weekly("daily", "02:30", BERLIN)
    at_the_firing = datetime(2026, 3, 28, 1, 30, tzinfo=UTC)  # 02:30 CET on the 28th

    assert next_due_after(daily, at_the_firing) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert next_due_after(daily, at_the_firing - timedelta(seconds=1)) == at_the_firing


def test_due_between_excludes_its_start_and_includes_its_end() -> None:
    hourly = every(60, "UTC")
    start = datetime(2026, 6, 1, 0, tzinfo=UTC)

    assert due_between(hourly, start, start + timedelta(hours=2)) == [
        start + timedelta(hours=1),
        start + timedelta(hours=2),
    ]
    assert due_between(hourly, start, start) == []


def test_last_day_of_month_fires_on_each_months_last_day() -> None:
    year = datetime(2025, 12, 31, 12, tzinfo=UTC), datetime(2026, 12, 31, 23, tzinfo=UTC)

    fired = due_between(monthly("last", "04:00", BERLIN), *year)

    assert [local(instant, BERLIN).date().isoformat() for instant in fired] == [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30",
        "2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31",
    ]  # fmt: skip
    assert fired[2].utcoffset() == timedelta(0) and fired[2].hour == 2  # 04:00 CEST


def test_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    spring = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 4, 15, tzinfo=UTC)

    fired = due_between(monthly(31, "06:00", "UTC"), *spring)

    assert [instant.date().isoformat() for instant in fired] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
    ]


def test_a_weekday_cycle_never_fires_on_a_weekend() -> None:
    fired = due_between(weekly("weekdays", "04:00", BERLIN), *month_of(BERLIN, date(2026, 3, 1)))

    days = [local(instant, BERLIN).date() for instant in fired]
    assert len(days) == 22
    assert all(day.weekday() < 5 for day in days)


def test_holidays_are_skipped() -> None:
    easter = {date(2026, 4, 3), date(2026, 4, 6)}  # Good Friday, Easter Monday
    schedule = weekly("weekdays", "04:00", BERLIN, Holidays(frozenset(easter)))

    fired = due_between(
        schedule, datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 4, 8, tzinfo=UTC)
    )

    assert [local(instant, BERLIN).day for instant in fired] == [31, 1, 2, 7]


def test_a_shifted_holiday_moves_to_the_next_day_that_is_not_a_holiday() -> None:
    christmas = frozenset({date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)})
    schedule = monthly(24, "04:00", BERLIN, Holidays(christmas, rule="next"))

    fired = due_between(
        schedule, datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )

    assert [local(instant, BERLIN).isoformat() for instant in fired] == [
        "2026-12-27T04:00:00+01:00"
    ]


def test_a_shifted_occurrence_merges_with_the_next_days_own() -> None:
    schedule = weekly("daily", "04:00", "UTC", Holidays(frozenset({date(2026, 5, 1)}), rule="next"))

    fired = due_between(
        schedule, datetime(2026, 4, 30, 12, tzinfo=UTC), datetime(2026, 5, 2, 12, tzinfo=UTC)
    )

    assert fired == [datetime(2026, 5, 2, 4, tzinfo=UTC)]


def test_a_named_calendars_dates_are_added_to_the_schedules_own() -> None:
    named = schedule_from_spec(
        {"kind": "every", "minutes": 60, "timezone": "UTC", "holidays": {"calendar": "DE"}}
    )
    resolved = with_holidays(named, [date(2026, 5, 1)])

    start = datetime(2026, 5, 1, tzinfo=UTC) - timedelta(microseconds=1)
    day = start, start + timedelta(days=2)
    assert len(due_between(named, *day)) == 48
    assert len(due_between(resolved, *day)) == 24
    assert resolved.holidays.calendar == "DE"


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "weekly", "days": "weekdays", "at": "4:00", "timezone": BERLIN},
        {"kind": "monthly", "day": "last", "at": "23:30", "timezone": NEW_YORK},
        {
            "kind": "every",
            "minutes": 15,
            "timezone": BERLIN,
            "holidays": {"dates": ["2026-12-25"], "calendar": "DE", "rule": "skip"},
        },
    ],
)
def test_a_spec_survives_json_in_one_canonical_shape(spec: dict[str, object]) -> None:
    canonical = spec_of(schedule_from_spec(spec))

    assert json.loads(json.dumps(canonical)) == canonical
    assert spec_of(schedule_from_spec(canonical)) == canonical


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"kind": "yearly", "timezone": "UTC"}, "kind must be"),
        ({"kind": "every", "minutes": 7, "timezone": "UTC"}, "do not divide a day"),
        ({"kind": "every", "minutes": 0, "timezone": "UTC"}, "1-1440"),
        ({"kind": "weekly", "days": ["mon"], "at": "25:00", "timezone": "UTC"}, "local time"),
        ({"kind": "weekly", "days": ["monday"], "at": "04:00", "timezone": "UTC"}, "weekday"),
        ({"kind": "monthly", "day": 32, "at": "04:00", "timezone": "UTC"}, "1-31"),
        ({"kind": "weekly", "days": "daily", "at": "04:00", "timezone": "Mars/Base"}, "time zone"),
        ({"kind": "every", "minutes": 5, "timezone": "UTC", "holidays": {"rule": "next"}}, "skip"),
        ({"kind": "every", "minutes": 5, "timezone": "UTC", "cron": "*"}, "unknown"),
    ],
)
def test_a_spec_that_names_no_clear_recurrence_is_refused(
    spec: dict[str, object], problem: str
) -> None:
    with pytest.raises(ScheduleError, match=problem):
        schedule_from_spec(spec)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_due_after(every(15, BERLIN), datetime(2026, 3, 29, 2, 0))


def test_the_collection_window_ends_at_seven_local_even_on_a_switch_day() -> None:
    berlin = ZoneInfo(BERLIN)
    monday_after_switch = local_instant(date(2026, 3, 30), time(4), berlin)
    switch_sunday = local_instant(date(2026, 3, 29), time(4), berlin)
    window = window_from_spec({"start": "04:00", "end": "07:00", "days": "daily"})

    assert DEFAULT_WINDOW.end_for(monday_after_switch, berlin) == datetime(
        2026, 3, 30, 5, tzinfo=UTC
    )
    assert DEFAULT_WINDOW.end_for(switch_sunday, berlin) is None  # weekdays only
    assert window.end_for(switch_sunday, berlin) == datetime(2026, 3, 29, 5, tzinfo=UTC)
    assert window.end_for(monday_after_switch + timedelta(hours=3), berlin) is None
