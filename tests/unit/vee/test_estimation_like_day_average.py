from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from domain.reading_quality import ReadingQuality
from domain.vee.estimation import LikeDayAverage, LikeDayAverageParams
from domain.vee.series import IntervalSeries, PowerOutage
from tests.unit.vee.estimation_builders import MONDAY, context_of, series_of, slots

# Five weeks of hourly values from Monday 3 February 2025; every hour of day n holds n + 1,
# so an estimate tells which days were averaged. Day 28 is Monday 3 March.
DAYS = 35
MON, FRI, SAT, SUN = 28, 32, 33, 34


def _series(start: datetime = MONDAY, days: int = DAYS) -> IntervalSeries:
    return series_of(np.repeat(np.arange(1.0, days + 1), 24), start, interval_minutes=60)


def _gap(day: int, first_hour: int = 8, hours: int = 4) -> tuple[int, ...]:
    return slots(day * 24 + first_hour, hours)


def _mark(series: IntervalSeries, days: list[int], quality: ReadingQuality) -> IntervalSeries:
    """The 08:00-12:00 slots of ``days`` get ``quality`` (NaN when missing)."""
    for day in days:
        chosen = list(_gap(day))
        series.qualities[chosen] = quality
        if quality == ReadingQuality.MISSING:
            series.values[chosen] = np.nan
    return series


def _estimate(series: IntervalSeries, gap: tuple[int, ...], **params: object) -> np.ndarray | None:
    context = context_of(series)
    estimate = LikeDayAverage(LikeDayAverageParams(**params)).estimate(context, gap)
    return None if estimate is None else estimate.values


def test_a_working_day_gap_is_the_average_of_the_three_nearest_working_days() -> None:
    estimate = LikeDayAverage().estimate(context_of(_series()), _gap(MON))

    assert estimate is not None
    assert estimate.method == "like_day_average"
    assert estimate.slots == _gap(MON)
    # Friday, Thursday and Wednesday before: days 25, 24, 23.
    assert np.array_equal(estimate.values, np.full(4, 25.0))
    assert "2025-02-28, 2025-02-27, 2025-02-26" in estimate.note


@pytest.mark.parametrize(("day", "expected"), [(SAT, 20.0), (SUN, 21.0)])
def test_saturdays_and_sundays_are_estimated_from_their_own_kind(day: int, expected: float) -> None:
    assert np.array_equal(_estimate(_series(), _gap(day)), np.full(4, expected))


def test_a_holiday_is_estimated_from_sundays() -> None:
    values = _estimate(_series(), _gap(MON), holidays=("2025-03-03",))

    assert np.array_equal(values, np.full(4, 21.0))


def test_an_earlier_holiday_is_no_like_day_for_a_working_day() -> None:
    values = _estimate(_series(), _gap(MON), holidays=("2025-02-28",))

    assert np.array_equal(values, np.full(4, 24.0))


@pytest.mark.parametrize(
    "quality", [ReadingQuality.ESTIMATED, ReadingQuality.MISSING, ReadingQuality.FAILED]
)
def test_a_like_day_without_measured_values_at_the_gaps_times_is_skipped(
    quality: ReadingQuality,
) -> None:
    series = _mark(_series(), [FRI - 7], quality)

    assert np.array_equal(_estimate(series, _gap(MON)), np.full(4, 24.0))


def test_estimates_at_other_times_of_a_like_day_do_not_matter() -> None:
    series = _series()
    series.qualities[25 * 24 : 25 * 24 + 8] = ReadingQuality.ESTIMATED

    assert np.array_equal(_estimate(series, _gap(MON)), np.full(4, 25.0))


def test_a_like_day_touched_by_an_outage_is_skipped() -> None:
    friday_night = datetime(2025, 2, 28, 23, 30, tzinfo=UTC)
    context = context_of(
        _series(), outages=[PowerOutage(friday_night, friday_night + timedelta(minutes=20))]
    )

    estimate = LikeDayAverage().estimate(context, _gap(MON))

    assert estimate is not None
    assert np.array_equal(estimate.values, np.full(4, 24.0))


def test_days_says_how_many_like_days_are_averaged() -> None:
    assert np.array_equal(_estimate(_series(), _gap(MON), days=1), np.full(4, 26.0))


# The ten nearest working days before Monday 3 March are days 25 down to 14; all but
# days 25 and 24 lack values at the gap's times. Day 11 is the eleventh.
UNUSABLE = [23, 22, 21, 18, 17, 16, 15, 14]


@pytest.mark.parametrize(("min_days", "expected"), [(2, 25.5), (3, None)])
def test_fewer_usable_like_days_than_min_days_leaves_the_gap(
    min_days: int, expected: float | None
) -> None:
    series = _mark(_series(), UNUSABLE, ReadingQuality.MISSING)

    values = _estimate(series, _gap(MON), min_days=min_days)

    assert values is None if expected is None else np.array_equal(values, np.full(4, expected))


@pytest.mark.parametrize(("max_samples", "expected"), [(10, None), (11, 21.0)])
def test_no_more_than_max_samples_like_days_are_examined(
    max_samples: int, expected: float | None
) -> None:
    series = _mark(_series(), UNUSABLE, ReadingQuality.MISSING)

    values = _estimate(series, _gap(MON), min_days=3, max_samples=max_samples)

    # Days 25, 24 and 11: (26 + 25 + 12) / 3.
    assert values is None if expected is None else np.array_equal(values, np.full(4, expected))


@pytest.mark.parametrize(("lookback", "expected"), [(7, 27.0), (6, None)])
def test_like_days_are_searched_back_max_lookback_days(
    lookback: int, expected: float | None
) -> None:
    values = _estimate(_series(), _gap(SAT), max_lookback_days=lookback)

    assert values is None if expected is None else np.array_equal(values, np.full(4, expected))


def test_like_days_come_from_the_history_before_the_series() -> None:
    whole = _series()
    history = series_of(whole.values[: MON * 24], MONDAY, interval_minutes=60)
    week = series_of(whole.values[MON * 24 :], MONDAY + timedelta(days=MON), interval_minutes=60)

    estimate = LikeDayAverage().estimate(context_of(week, history), _gap(0))

    assert estimate is not None
    assert np.array_equal(estimate.values, np.full(4, 25.0))


def test_history_on_another_interval_grid_is_not_used() -> None:
    history = series_of(np.ones(96 * MON), MONDAY)
    week = series_of(np.ones(24 * 7), MONDAY + timedelta(days=MON), interval_minutes=60)

    assert LikeDayAverage().estimate(context_of(week, history), _gap(0)) is None


def test_a_gap_across_midnight_takes_each_days_own_like_days() -> None:
    gap = slots(FRI * 24 + 22, 4)  # Friday 22:00 to Saturday 02:00

    values = _estimate(_series(), gap)

    assert np.array_equal(values, [31.0, 31.0, 20.0, 20.0])


@pytest.mark.parametrize(("hours", "expected"), [(20, 29.0), (21, 25.0)])
def test_the_level_of_the_day_scales_the_estimate_when_enough_of_it_is_known(
    hours: int, expected: float
) -> None:
    # The known part of Monday is at 29, its like days at 25: scaled by 29 / 25.
    values = _estimate(_series(), _gap(MON, 0, hours), scale_to_day_level=True)

    assert np.allclose(values, np.full(hours, expected))


def test_like_days_follow_the_local_calendar_of_the_timezone() -> None:
    # Hourly values by Berlin day: the series starts at Berlin midnight (23:00 UTC).
    series = _series(datetime(2025, 2, 2, 23, tzinfo=UTC))
    gap = _gap(MON, 0, 2)  # Berlin Monday 00:00-02:00, in UTC Sunday 23:00-01:00

    assert np.array_equal(_estimate(series, gap, timezone="Europe/Berlin"), [25.0, 25.0])
    # In UTC the first hour is a Sunday: Sundays' 23:00 are Berlin Mondays' first hours.
    assert np.array_equal(_estimate(series, gap), [15.0, 25.0])


def test_without_earlier_days_there_is_nothing_to_average() -> None:
    assert _estimate(_series(days=7), _gap(0)) is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"min_days": 4}, "min_days"),
        ({"days": 11}, "max_samples"),
        ({"max_lookback_days": 0}, "max_lookback_days"),
        ({"holidays": ("3 March",)}, "ISO date"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_parameters_are_checked(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LikeDayAverageParams(**params)
