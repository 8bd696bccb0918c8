"""The period a chain step looks at: its own parameters, else what its cycle's read covered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from application.workflow.period import InvalidPeriod, Period, period_of

DUE = datetime(2026, 3, 5, 4, 0, tzinfo=UTC)
NOW = DUE + timedelta(minutes=2)


def test_without_parameters_or_a_read_it_is_the_day_before_the_due_time() -> None:
    period = period_of({}, due_at=DUE, now=NOW)
    assert (period.start, period.until) == (DUE - timedelta(days=1), DUE)
    assert period.days() == [date(2026, 3, 4), date(2026, 3, 5)]


def test_the_read_of_the_cycle_gives_the_period_it_covered() -> None:
    read = (DUE - timedelta(days=2, seconds=-3), DUE + timedelta(seconds=3))
    period = period_of({}, due_at=DUE, now=NOW, read_window=read)
    assert (period.start, period.until) == read
    # On whole quarter hours: from the interval holding the start, up to the last one read.
    assert period.slots_for(15) == (DUE - timedelta(days=2), DUE)


def test_the_steps_own_parameters_win_and_a_zone_less_time_is_utc() -> None:
    read = (DUE - timedelta(days=2), DUE)
    period = period_of(
        {"start": "2026-03-01T00:00", "end": "2026-03-03T00:00:00+00:00"},
        due_at=DUE,
        now=NOW,
        read_window=read,
    )
    assert (period.start, period.until) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 3, tzinfo=UTC),
    )
    assert period.days() == [date(2026, 3, 1), date(2026, 3, 2)]
    three_days = period_of({"days": 3}, due_at=DUE, now=NOW, read_window=read)
    assert three_days.start == DUE - timedelta(days=3)


def test_a_period_never_reaches_past_now() -> None:
    period = period_of({"end": "2026-03-09T00:00:00+00:00"}, due_at=DUE, now=NOW)
    assert period.until == NOW


@pytest.mark.parametrize(
    "parameters",
    [{"days": 0}, {"days": True}, {"days": 63}, {"start": "yesterday"}, {"start": "2026-03-06"}],
)
def test_parameters_that_name_no_usable_period_are_refused(parameters: dict[str, object]) -> None:
    with pytest.raises(InvalidPeriod):
        period_of(parameters, due_at=DUE, now=NOW)


def test_an_hourly_channel_is_judged_on_whole_hours() -> None:
    period = Period(datetime(2026, 3, 4, 4, 10, tzinfo=UTC), datetime(2026, 3, 5, 4, 5, tzinfo=UTC))
    assert period.slots_for(60) == (
        datetime(2026, 3, 4, 4, 0, tzinfo=UTC),
        datetime(2026, 3, 5, 4, 0, tzinfo=UTC),
    )


def test_a_chain_steps_period_parameters_are_refused_when_the_task_is_asked_for() -> None:
    from domain.task_types import InvalidTaskParameters, task_type_named

    assert task_type_named("export").checked({"days": 2, "revisit_days": 0, "note": "x"})
    for bad in ({"days": 0}, {"start": "last tuesday"}, {"revisit_days": 63}):
        with pytest.raises(InvalidTaskParameters):
            task_type_named("export").checked(bad)
