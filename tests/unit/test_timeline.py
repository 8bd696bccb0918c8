"""Effective-dated timelines: which value holds on which day after changes and corrections."""

from __future__ import annotations

import copy
import json
from datetime import date

from domain.timeline import Timeline, period_start, value_on, with_change, with_correction

JANUARY = date(2025, 1, 1)
FEBRUARY = date(2025, 2, 1)
MARCH = date(2025, 3, 1)


def _ratios() -> Timeline:
    return [["2025-01-01", "40"], ["2025-03-01", "80"]]


def test_nothing_is_in_force_before_the_first_entry() -> None:
    assert value_on(_ratios(), date(2024, 12, 31)) is None
    assert period_start(_ratios(), date(2024, 12, 31)) is None


def test_an_empty_timeline_has_no_value_on_any_day() -> None:
    assert value_on([], MARCH) is None
    assert period_start([], MARCH) is None


def test_a_value_is_in_force_from_its_first_day_to_the_day_before_the_next_entry() -> None:
    timeline = _ratios()

    assert value_on(timeline, JANUARY) == "40"
    assert value_on(timeline, date(2025, 2, 28)) == "40"
    assert value_on(timeline, MARCH) == "80"
    assert value_on(timeline, date(2031, 6, 1)) == "80"


def test_the_period_start_is_the_first_day_of_the_entry_in_force() -> None:
    assert period_start(_ratios(), date(2025, 2, 14)) == "2025-01-01"
    assert period_start(_ratios(), MARCH) == "2025-03-01"


def test_a_change_between_two_entries_holds_until_the_later_one() -> None:
    changed = with_change(_ratios(), FEBRUARY, "60")

    assert changed == [["2025-01-01", "40"], ["2025-02-01", "60"], ["2025-03-01", "80"]]
    assert value_on(changed, date(2025, 1, 31)) == "40"
    assert value_on(changed, FEBRUARY) == "60"
    assert value_on(changed, date(2025, 2, 28)) == "60"
    assert value_on(changed, MARCH) == "80"


def test_a_change_on_the_start_day_of_an_entry_replaces_that_entry() -> None:
    changed = with_change(_ratios(), MARCH, "120")

    assert changed == [["2025-01-01", "40"], ["2025-03-01", "120"]]


def test_a_change_before_the_first_entry_becomes_the_first_entry() -> None:
    changed = with_change(_ratios(), date(2024, 6, 1), "20")

    assert value_on(changed, date(2024, 5, 31)) is None
    assert value_on(changed, date(2024, 6, 1)) == "20"
    assert value_on(changed, JANUARY) == "40"


def test_a_change_after_the_last_entry_holds_from_then_on() -> None:
    changed = with_change(_ratios(), date(2025, 7, 1), "160")

    assert value_on(changed, date(2025, 6, 30)) == "80"
    assert value_on(changed, date(2026, 1, 1)) == "160"


def test_a_change_leaves_the_timeline_it_was_given_untouched() -> None:
    original = _ratios()
    kept = copy.deepcopy(original)

    with_change(original, FEBRUARY, "60")

    assert original == kept


def test_a_correction_rewrites_the_whole_period_and_keeps_its_start() -> None:
    corrected = with_correction(_ratios(), date(2025, 2, 14), "50")

    assert corrected == [["2025-01-01", "50"], ["2025-03-01", "80"]]
    assert value_on(corrected, JANUARY) == "50"
    assert period_start(corrected, date(2025, 2, 14)) == "2025-01-01"


def test_a_correction_on_the_boundary_day_corrects_the_period_starting_that_day() -> None:
    corrected = with_correction(_ratios(), MARCH, "85")

    assert corrected == [["2025-01-01", "40"], ["2025-03-01", "85"]]


def test_a_correction_leaves_other_periods_alone() -> None:
    timeline = with_change(_ratios(), FEBRUARY, "60")

    corrected = with_correction(timeline, date(2025, 2, 10), "65")

    assert [entry[1] for entry in corrected] == ["40", "65", "80"]


def test_a_correction_before_the_first_entry_opens_a_period_on_that_day() -> None:
    corrected = with_correction(_ratios(), date(2024, 12, 1), "35")

    assert value_on(corrected, date(2024, 11, 30)) is None
    assert value_on(corrected, date(2024, 12, 1)) == "35"
    assert value_on(corrected, JANUARY) == "40"


def test_a_correction_leaves_the_timeline_it_was_given_untouched() -> None:
    original = _ratios()
    kept = copy.deepcopy(original)

    with_correction(original, FEBRUARY, "50")

    assert original == kept


def test_a_timeline_survives_a_json_round_trip_unchanged() -> None:
    timeline = with_correction(with_change(_ratios(), FEBRUARY, "60"), JANUARY, "45")

    assert json.loads(json.dumps(timeline)) == timeline
