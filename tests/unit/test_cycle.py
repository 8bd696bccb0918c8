"""Cycles, holiday calendars and firings on their own: what they record and refuse."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.attributes import InvalidAttributes
from domain.cycle import Cycle
from domain.cycle_firing import CycleFiring
from domain.holiday_calendar import HolidayCalendar
from domain.provenance import Provenance
from domain.schedule import Weekly

OPENED = date(2026, 1, 1)
BY_OPERATOR = Provenance("olga", "new reading cycle", "ui")


def cycle(**overrides: Any) -> Cycle:
    attributes = {
        "cycle_key": "NIGHTLY",
        "name": "nightly read",
        "timezone": "Europe/Berlin",
        "schedule": {"kind": "weekly", "days": "weekdays", "at": "4:00"},
        "task_chain": "read_meter, validate, estimate, export",
        **overrides,
    }
    found = Cycle.register(attributes, OPENED, BY_OPERATOR)
    assert isinstance(found, Cycle)
    return found


def test_a_cycle_records_its_specs_in_one_canonical_json_shape() -> None:
    registered = cycle(meters="M1, M2, M1", enabled="yes", collection_window={"days": "daily"})

    (event,) = registered.collect_events()
    attributes = event.attributes  # type: ignore[attr-defined]
    assert json.loads(json.dumps(attributes)) == attributes
    assert attributes["schedule"] == {
        "kind": "weekly",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "at": "04:00",
    }
    assert attributes["task_chain"] == ["read_meter", "validate", "estimate", "export"]
    assert attributes["meters"] == ["M1", "M2"]
    assert attributes["enabled"] is True
    assert attributes["collection_window"]["start"] == "04:00"


def test_the_schedule_runs_in_the_cycles_time_zone() -> None:
    schedule = cycle().schedule_on(OPENED)

    assert isinstance(schedule, Weekly) and schedule.timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"timezone": "Europe/Berln"}, "timezone"),
        ({"schedule": {"kind": "every", "minutes": 15, "timezone": "UTC"}}, "schedule"),
        ({"schedule": {"kind": "weekly", "days": "weekdays", "at": "4"}}, "schedule"),
        ({"task_chain": []}, "task_chain"),
        ({"task_parameters": {"export_billing": {}}}, "task_parameters"),
        ({"selector": {"colour": "blue"}}, "selector"),
        ({"collection_window": {"start": "07:00", "end": "04:00"}}, "collection_window"),
        ({"enabled": "perhaps"}, "enabled"),
    ],
)
def test_a_cycle_that_cannot_work_is_refused_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidAttributes) as refused:
        cycle(**overrides)

    assert field in refused.value.problems


def test_a_switched_off_or_retired_cycle_is_not_in_force() -> None:
    nightly = cycle()
    nightly.change({"enabled": False}, date(2026, 3, 1), BY_OPERATOR)
    nightly.change({"enabled": True}, date(2026, 4, 1), BY_OPERATOR)
    nightly.retire(date(2026, 6, 1), BY_OPERATOR)

    in_force = [nightly.is_enabled_on(date(2026, m, 15)) for m in (1, 3, 4, 6)]
    assert in_force == [True, False, True, False]
    assert not nightly.is_enabled_on(date(2025, 12, 31))


def test_the_default_window_bounds_weekday_work_until_seven_local() -> None:
    nightly = cycle()
    monday_4 = datetime(2026, 3, 30, 4, tzinfo=ZoneInfo("Europe/Berlin"))

    assert nightly.window_end_for(monday_4) == datetime(2026, 3, 30, 5, tzinfo=UTC)
    assert nightly.window_end_for(monday_4 - timedelta(days=1)) is None  # Sunday


def test_the_chain_names_the_next_task_type_and_its_parameters() -> None:
    nightly = cycle(task_parameters={"read_meter": {"what": "profile", "days": 2}})

    assert nightly.follow_on(OPENED, "read_meter") == "validate"
    assert nightly.follow_on(OPENED, "export") is None
    assert nightly.parameters_on(OPENED, "read_meter") == {"what": "profile", "days": 2}
    assert nightly.parameters_on(OPENED, "validate") == {}


def test_a_firings_id_is_the_same_for_the_same_instant_in_any_offset() -> None:
    due = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    local = due.astimezone(ZoneInfo("Europe/Berlin"))

    assert CycleFiring.id_for("NIGHTLY", due) == CycleFiring.id_for("NIGHTLY", local)
    assert CycleFiring.id_for("NIGHTLY", due) != CycleFiring.id_for("OTHER", due)
    assert CycleFiring.id_for("NIGHTLY", due) != CycleFiring.id_for(
        "NIGHTLY", due + timedelta(minutes=15)
    )


def test_a_firing_after_its_window_closed_was_late() -> None:
    due = datetime(2026, 3, 30, 2, tzinfo=UTC)
    common = {"task_type": "read_meter", "targets_count": 3, "created_count": 3, "fired_by": "a"}

    in_time = CycleFiring.fire("N", due, due, window_end=due + timedelta(hours=3), **common)
    late = CycleFiring.fire("N", due, due + timedelta(hours=4), window_end=due, **common)
    unbounded = CycleFiring.fire("N", due, due + timedelta(days=1), window_end=None, **common)

    assert (in_time.was_late, late.was_late, unbounded.was_late) == (False, True, False)


def test_a_holiday_calendar_keeps_its_dates_sorted_and_unique() -> None:
    calendar = HolidayCalendar.register(
        {"calendar_key": "DE-BY", "name": "Bavaria", "dates": "2026-12-26, 2026-12-25, 2026-12-25"},
        OPENED,
        BY_OPERATOR,
    )
    assert isinstance(calendar, HolidayCalendar)

    assert calendar.dates_on(OPENED) == {date(2026, 12, 25), date(2026, 12, 26)}
    assert calendar.attributes_on(OPENED)["dates"] == ["2026-12-25", "2026-12-26"]
    with pytest.raises(InvalidAttributes):
        HolidayCalendar.register(
            {"calendar_key": "X", "name": "x", "dates": ["25.12.2026"]}, OPENED, BY_OPERATOR
        )
