"""Firing cycles on real SQLite and PostgreSQL: once per due time, targets as of then."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.persistence.store import StoreLocation
from adapters.scheduling_sources import open_scheduling
from application.cycles import Scheduling
from application.registry import KINDS, Registry
from domain.cycle import Cycle
from domain.holiday_calendar import HolidayCalendar
from domain.provenance import Provenance

SETUP = Provenance("olga", "cycle set up", "api")
QUARTER_HOURLY = {"kind": "every", "minutes": 15}
DAILY_AT_4 = {"kind": "weekly", "days": "daily", "at": "04:00"}
BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def a_future_monday() -> datetime:
    """Midnight UTC of a Monday after today: every due time is after the cycle's creation."""
    day = date.today() + timedelta(days=14)
    day += timedelta(days=-day.weekday())
    return datetime.combine(day, time(0), tzinfo=UTC)


MONDAY = a_future_monday()


class CountingSink:
    """Idempotent by (cycle, due time, meter, task type), like the Operations application."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime, list[str], str, dict[str, object]]] = []
        self.tasks: set[tuple[str, datetime, str, str]] = set()

    def create_cycle_tasks(
        self,
        cycle_key: str,
        due_at: datetime,
        targets: Sequence[str],
        task_type: str,
        parameters: Mapping[str, object],
        provenance: Provenance,
    ) -> int:
        self.calls.append((cycle_key, due_at, list(targets), task_type, dict(parameters)))
        new = {(cycle_key, due_at, target, task_type) for target in targets} - self.tasks
        self.tasks |= new
        return len(new)


@pytest.fixture(autouse=True)
def registry_knows_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    # Until application/registry.py lists them in KINDS; a no-op afterwards.
    monkeypatch.setitem(KINDS, "cycle", Cycle)
    monkeypatch.setitem(KINDS, "holiday_calendar", HolidayCalendar)


@pytest.fixture
def registry(store: StoreLocation) -> Registry:
    return Registry(env=store.application_env())


@pytest.fixture
def scheduling(store: StoreLocation, registry: Registry) -> Iterator[Scheduling]:
    found, _ = open_scheduling(store, registry)
    yield found
    found.close()


def register_cycle(
    registry: Registry, key: str, schedule: dict[str, Any], **attributes: Any
) -> None:
    values = {
        "cycle_key": key,
        "name": f"cycle {key}",
        "timezone": "UTC",
        "schedule": schedule,
        "task_chain": ["read_meter", "validate", "estimate", "export"],
        "task_parameters": {"read_meter": {"what": "profile", "days": 2}},
        **attributes,
    }
    registry.register("cycle", values, date.today() - timedelta(days=1), SETUP)


def test_fire_due_fires_each_due_time_once_however_often_it_is_called(
    store: StoreLocation, registry: Registry, scheduling: Scheduling
) -> None:
    register_cycle(registry, "Q", QUARTER_HOURLY, meters=["M1", "M2"])
    sink, now = CountingSink(), MONDAY + timedelta(hours=1)

    fired = scheduling.fire_due(now, sink)
    again = scheduling.fire_due(now, sink)
    fresh, _ = open_scheduling(store, registry)  # a standby taking over: no memory
    after_takeover = fresh.fire_due(now + timedelta(minutes=20), sink)

    horizon = now - timedelta(hours=6)  # older missed due times are left behind
    assert [firing.due for firing in fired] == [
        horizon + timedelta(minutes=15 * n) for n in range(1, 25)
    ]
    assert again == []
    assert [firing.due for firing in after_takeover] == [now + timedelta(minutes=15)]
    assert len(sink.calls) == 25  # the sink was asked once per due time
    assert {firing.created_count for firing in fired} == {2}
    assert fired[0].task_type == "read_meter"
    assert sink.calls[0][4] == {"what": "profile", "days": 2}


def test_the_second_of_two_racing_schedulers_records_nothing(
    store: StoreLocation, registry: Registry, scheduling: Scheduling
) -> None:
    register_cycle(registry, "R", DAILY_AT_4, meters=["M1"])
    rival, _ = open_scheduling(store, registry)
    sink, now = CountingSink(), MONDAY + timedelta(hours=4)
    (due,) = rival.due_firings(now)
    (same,) = scheduling.due_firings(now)

    first = scheduling.fire(same, now, sink)
    rival._firing = lambda key, at: None  # type: ignore[method-assign]  # lost the race
    second = rival.fire(due, now + timedelta(seconds=1), sink)

    assert first is not None and second is None
    assert [firing.due for firing in scheduling.firings("R", MONDAY, now)] == [now]
    assert len(sink.tasks) == 1  # asked twice, created once: the sink is idempotent


def test_a_cycle_is_not_due_at_times_before_it_was_recorded(
    registry: Registry, scheduling: Scheduling
) -> None:
    now = datetime.now(UTC)
    register_cycle(registry, "NEW", QUARTER_HOURLY)  # in force since yesterday

    fired = scheduling.fire_due(now + timedelta(seconds=1), CountingSink())

    assert fired == []  # the quarter hours before its recording were never its due times


def test_targets_are_the_meters_assigned_on_the_due_day(
    registry: Registry, scheduling: Scheduling
) -> None:
    register_cycle(registry, "D", DAILY_AT_4, meters=["M1", "M2"])
    tuesday = (MONDAY + timedelta(days=1)).date()
    registry.change("cycle", "D", {"meters": ["M2", "M3"]}, tuesday, SETUP)
    sink = CountingSink()

    scheduling.fire_due(MONDAY + timedelta(hours=5), sink)
    scheduling.fire_due(MONDAY + timedelta(days=1, hours=5), sink)

    assert [call[2] for call in sink.calls] == [["M1", "M2"], ["M2", "M3"]]


def test_a_change_recorded_after_a_due_time_does_not_rewrite_it(
    registry: Registry, scheduling: Scheduling, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_cycle(registry, "LATE", DAILY_AT_4, meters=["M1"])
    recorded_later = MONDAY + timedelta(hours=4, minutes=30)
    monkeypatch.setattr(Cycle.Changed, "create_timestamp", staticmethod(lambda: recorded_later))
    registry.change("cycle", "LATE", {"meters": ["M9"], "enabled": False}, MONDAY.date(), SETUP)
    sink = CountingSink()

    fired = scheduling.fire_due(MONDAY + timedelta(hours=5), sink)  # the scheduler was late

    assert [firing.due for firing in fired] == [MONDAY + timedelta(hours=4)]
    assert sink.calls[0][2] == ["M1"]  # as known at 04:00, when it was still enabled
    assert scheduling.fire_due(MONDAY + timedelta(days=1, hours=5), sink) == []


def test_a_selector_takes_the_meters_in_service_on_the_due_day(
    registry: Registry, scheduling: Scheduling
) -> None:
    since = date.today() - timedelta(days=30)
    for serial, meter_type in (("E1", "E350"), ("E2", "E350"), ("G1", "G100")):
        registry.register("meter", {"serial": serial, "meter_type": meter_type}, since, SETUP)
    registry.retire("meter", "E2", MONDAY.date(), SETUP)
    register_cycle(registry, "SEL", DAILY_AT_4, meters=["X9"], selector={"meter_type": "E350"})
    sink = CountingSink()

    scheduling.fire_due(MONDAY - timedelta(hours=19), sink)  # Sunday 04:00 and Monday 04:00
    scheduling.fire_due(MONDAY + timedelta(hours=5), sink)

    assert [call[2] for call in sink.calls] == [["X9", "E1", "E2"], ["X9", "E1"]]


def test_holidays_of_a_named_calendar_are_skipped(
    registry: Registry, scheduling: Scheduling
) -> None:
    tuesday = (MONDAY + timedelta(days=1)).date()
    registry.register(
        "holiday_calendar",
        {"calendar_key": "TEST", "name": "test holidays", "dates": [tuesday.isoformat()]},
        date.today() - timedelta(days=1),
        SETUP,
    )
    weekdays = {
        "kind": "weekly",
        "days": "weekdays",
        "at": "04:00",
        "holidays": {"calendar": "TEST"},
    }
    register_cycle(registry, "H", weekdays, meters=["M1"])

    upcoming = scheduling.next_due("H", MONDAY, count=3)
    fired = [
        firing
        for day in range(3)  # Monday to Wednesday at 05:00
        for firing in scheduling.fire_due(MONDAY + timedelta(days=day, hours=5), CountingSink())
    ]

    assert [instant.day for instant in upcoming] == [
        (MONDAY + timedelta(days=n)).day for n in (0, 2, 3)
    ]
    assert [firing.due.day for firing in fired] == [upcoming[0].day, upcoming[1].day]


def test_work_fired_after_its_window_closed_or_not_at_all_is_reported_late(
    registry: Registry, scheduling: Scheduling
) -> None:
    register_cycle(registry, "W", DAILY_AT_4, meters=["M1"])  # window 04:00-07:00 weekdays
    scheduling.fire_due(MONDAY + timedelta(hours=8), CountingSink())  # Monday: fired late

    late = scheduling.late_work(
        MONDAY, MONDAY + timedelta(days=2), MONDAY + timedelta(days=1, hours=8)
    )

    monday_4, tuesday_4 = MONDAY + timedelta(hours=4), MONDAY + timedelta(days=1, hours=4)
    assert [(work.due_at, work.fired_at) for work in late] == [
        (monday_4, MONDAY + timedelta(hours=8)),
        (tuesday_4, None),  # never fired, and its window closed at 07:00
    ]
    assert late[0].window_end == MONDAY + timedelta(hours=7)


def test_a_cycle_naming_a_missing_calendar_does_not_hold_up_the_others(
    registry: Registry, scheduling: Scheduling
) -> None:
    broken = {**DAILY_AT_4, "holidays": {"calendar": "MISSING"}}
    register_cycle(registry, "BROKEN", broken, meters=["M1"])
    register_cycle(registry, "FINE", DAILY_AT_4, meters=["M1"])
    now = MONDAY + timedelta(hours=8)

    fired = scheduling.fire_due(now, CountingSink())
    late = scheduling.late_work(MONDAY, now, now)

    assert [firing.cycle_key for firing in fired] == ["FINE"]
    assert [work.cycle_key for work in late] == ["FINE"]  # fired at 08:00, window until 07:00


def test_a_switched_off_cycle_has_no_next_due_time_until_it_is_switched_on(
    registry: Registry, scheduling: Scheduling
) -> None:
    register_cycle(registry, "OFF", {"kind": "every", "minutes": 1}, enabled=False)
    register_cycle(registry, "LATER", DAILY_AT_4, enabled=False)
    registry.change("cycle", "LATER", {"enabled": True}, MONDAY.date(), SETUP)

    assert scheduling.next_due("OFF", MONDAY) == []
    assert scheduling.next_due("LATER", datetime.now(UTC), 2) == [
        MONDAY + timedelta(hours=4),
        MONDAY + timedelta(days=1, hours=4),
    ]


def test_the_chain_says_what_follows_each_task_type(
    registry: Registry, scheduling: Scheduling
) -> None:
    register_cycle(registry, "CH", DAILY_AT_4, task_parameters={"export": {"format": "csv"}})
    due = MONDAY + timedelta(hours=4)

    assert scheduling.follow_on("CH", due, "read_meter") == ("validate", {})
    assert scheduling.follow_on("CH", due, "estimate") == ("export", {"format": "csv"})
    assert scheduling.follow_on("CH", due, "export") is None


def local_times(firings: Sequence[Any], zone: str) -> list[str]:
    return [f.due.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes") for f in firings]


def per_local_day(firings: Sequence[Any], zone: str) -> Counter[str]:
    return Counter(time[:10] for time in local_times(firings, zone))


def test_a_simulated_spring_and_autumn_fire_every_cycle_when_expected(
    sqlite_store: StoreLocation, registry_knows_cycles: None
) -> None:
    registry = Registry(env=sqlite_store.application_env())
    scheduling, _ = open_scheduling(sqlite_store, registry)
    easter = ["2027-03-26", "2027-03-29"]
    registry.register(
        "holiday_calendar",
        {"calendar_key": "EASTER", "name": "Easter 2027", "dates": easter},
        date.today(),
        SETUP,
    )
    cycles = {
        "D4": {"kind": "weekly", "days": "daily", "at": "04:00"},
        "D230": {"kind": "weekly", "days": "daily", "at": "02:30"},
        "H": {"kind": "every", "minutes": 60},
        "EOM": {"kind": "monthly", "day": "last", "at": "02:30"},
        "WD": {"kind": "weekly", "days": "weekdays", "at": "04:00"},
    }
    cycles["WD"]["holidays"] = {"calendar": "EASTER"}
    for key, schedule in cycles.items():
        register_cycle(registry, key, schedule, timezone=BERLIN, meters=["M1"])
    ny_daily = {"kind": "weekly", "days": "daily", "at": "01:30"}
    register_cycle(registry, "NY", ny_daily, timezone=NEW_YORK, meters=["M1"])
    # March 2027 (Berlin springs forward on the 28th, New York on the 14th) and October
    # to 8 November (Berlin falls back on 31 October, New York on 7 November).
    spring = datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 31, 23, tzinfo=UTC)
    autumn = datetime(2027, 10, 1, tzinfo=UTC), datetime(2027, 11, 8, 12, tzinfo=UTC)
    sink = CountingSink()

    for start, end in (spring, autumn):
        now = start
        while now < end:  # an uneven tick (within the catch-up horizon) never lines up
            now += timedelta(minutes=241)
            scheduling.fire_due(now, sink)

    def fired(key: str, zone: str = BERLIN) -> list[str]:
        return local_times(
            scheduling.firings(key, *spring) + scheduling.firings(key, *autumn), zone
        )

    assert per_local_day(scheduling.firings("D4", *spring), BERLIN) == Counter(
        {f"2027-03-{day:02}": 1 for day in range(1, 32)}
    )
    assert {time[11:] for time in fired("D4")} == {"04:00+01:00", "04:00+02:00"}
    spring_hours = per_local_day(scheduling.firings("H", *spring), BERLIN)
    autumn_hours = per_local_day(scheduling.firings("H", *autumn), BERLIN)
    assert (spring_hours["2027-03-27"], spring_hours["2027-03-28"]) == (24, 23)
    assert (autumn_hours["2027-10-30"], autumn_hours["2027-10-31"]) == (24, 25)
    assert "2027-03-28T03:00+02:00" in fired("D230")  # 02:30 did not exist that night
    assert [time for time in fired("D230") if time.startswith("2027-10-31")] == [
        "2027-10-31T02:30+02:00"  # 02:30 came twice that night; fired once
    ]
    assert fired("EOM") == ["2027-03-31T02:30+02:00", "2027-10-31T02:30+02:00"]
    weekdays = {time[:10] for time in local_times(scheduling.firings("WD", *spring), BERLIN)}
    assert len(weekdays) == 21 and not weekdays & set(easter)  # 23 weekdays less Easter
    new_york = fired("NY", NEW_YORK)
    assert len(new_york) == 31 + 39 and len(set(time[:10] for time in new_york)) == 70
    assert "2027-11-07T01:30-04:00" in new_york  # the first 01:30 of the repeated hour
    assert len(sink.calls) == len({(call[0], call[1]) for call in sink.calls})  # none twice


def test_a_due_cycle_creates_one_task_per_meter_in_the_operations_application(
    store: StoreLocation, registry: Registry, scheduling: Scheduling
) -> None:
    from application.operations import Operations
    from domain.task import Task

    operations = Operations(env=store.application_env())
    register_cycle(registry, "OPS", DAILY_AT_4, meters=["M1", "M2"])
    due = MONDAY + timedelta(hours=4)

    (firing,) = scheduling.fire_due(MONDAY + timedelta(hours=5), operations)
    repeated = operations.create_cycle_tasks(
        "OPS", due, ["M1", "M2"], "read_meter", {"what": "profile", "days": 2}, SETUP
    )

    assert (firing.targets_count, firing.created_count, repeated) == (2, 2, 0)
    for serial in ("M1", "M2"):
        task = operations.task(Task.id_for(Task.cycle_key_of("OPS", due, serial, "read_meter")))
        assert (task.task_type, task.target, task.cycle_key) == ("read_meter", serial, "OPS")
        assert task.parameters == {"what": "profile", "days": 2}
