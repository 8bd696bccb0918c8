from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from adapters.loadshapes import DayType, day_type, load_shape

SATURDAY = dt.date(2025, 1, 4)
SUNDAY = dt.date(2025, 1, 5)
MONDAY = dt.date(2025, 1, 6)


def _year(year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    return [first + dt.timedelta(days=n) for n in range((dt.date(year + 1, 1, 1) - first).days)]


@pytest.mark.parametrize("name", ["h25", "g25", "l25"])
def test_a_day_has_96_quarter_hours_of_positive_float64_energy(name: str) -> None:
    quarters = load_shape(name).quarter_hours(MONDAY)

    assert quarters.shape == (96,)
    assert quarters.dtype == np.float64
    assert (quarters > 0).all()


def test_calendar_days_map_to_bdew_day_types() -> None:
    assert day_type(SATURDAY) is DayType.SATURDAY
    assert day_type(SUNDAY) is DayType.SUNDAY_OR_HOLIDAY
    assert [day_type(MONDAY + dt.timedelta(days=n)) for n in range(5)] == [DayType.WORKING_DAY] * 5


def test_each_day_type_reads_its_own_csv_column() -> None:
    shape = load_shape("h25")

    # First quarter-hour of January as published in bdew_h25.csv: SA 22.152, FT 23.148,
    # WT 20.126 (per 1,000,000 kWh/year).
    assert shape.quarter_hours(SATURDAY)[0] == pytest.approx(0.022152)
    assert shape.quarter_hours(SUNDAY)[0] == pytest.approx(0.023148)
    assert shape.quarter_hours(MONDAY)[0] == pytest.approx(0.020126)
    # Last quarter-hour of a December working day: 21.911.
    assert shape.quarter_hours(dt.date(2025, 12, 31))[-1] == pytest.approx(0.021911)


def test_months_pick_different_columns() -> None:
    shape = load_shape("h25")

    assert not np.array_equal(
        shape.quarter_hours(dt.date(2025, 1, 6)), shape.quarter_hours(dt.date(2025, 7, 7))
    )


def test_a_household_year_sums_to_about_1000_kwh() -> None:
    shape = load_shape("h25")

    total = sum(float(shape.quarter_hours(day).sum()) for day in _year(2025))

    assert total == pytest.approx(1000.0, rel=0.01)


def test_shapes_are_shared_and_read_only() -> None:
    quarters = load_shape("h25").quarter_hours(MONDAY)

    assert load_shape("h25") is load_shape("h25")
    with pytest.raises(ValueError):
        quarters[0] = 1.0


def test_an_unknown_shape_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown load shape"):
        load_shape("x99")
