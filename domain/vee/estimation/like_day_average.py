"""Like-day average: each slot of the gap is the average of the same time of day on the
nearest earlier days of the same type (working day, Saturday, Sunday or holiday)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from domain.vee.estimation.known import actual_mask, slot_indexes
from domain.vee.estimation.like_days import (
    SlotTimeline,
    day_type,
    local_date,
    midnight_offset,
    overlaps_outage,
)
from domain.vee.series import Estimate, ValidationContext


@dataclass(frozen=True)
class LikeDayAverageParams:
    days: int = 3  # like days averaged
    min_days: int = 1  # fewer usable like days found: the method does not apply
    max_samples: int = 10  # like days examined at most, nearest first, usable or not
    max_lookback_days: int = 70  # calendar days searched back (ten weeks of Sundays)
    holidays: tuple[str, ...] = ()  # ISO dates that count as Sundays
    timezone: str = "UTC"  # the calendar that decides where days start and their type
    # Scale the like-day average to the known part of the gap's own day (a colder or
    # busier day than usual), when that part is at least min_reference_minutes long.
    scale_to_day_level: bool = False
    min_reference_minutes: int = 240

    def __post_init__(self) -> None:
        if not 1 <= self.min_days <= self.days <= self.max_samples:
            raise ValueError("like_day_average: need 1 <= min_days <= days <= max_samples")
        if self.max_lookback_days < 1 or self.min_reference_minutes < 1:
            raise ValueError(
                "like_day_average: max_lookback_days and min_reference_minutes must be >= 1"
            )
        for holiday in self.holidays:
            try:
                date.fromisoformat(holiday)
            except ValueError:
                raise ValueError(f"like_day_average: holiday {holiday!r} is no ISO date") from None
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"like_day_average: unknown timezone {self.timezone!r}") from None


class LikeDayAverage:
    """Like days are taken from the history and the series before the gap's day; a day is
    skipped when any of its slots at the gap's times is missing, failed or estimated, or
    when a power outage touches it. Only earlier days count, so re-running an estimate
    later gives the same values. Slots are matched by time since local midnight (on the
    day clocks change, by time elapsed since midnight). A gap over several days is
    estimated day by day; a day without min_days like days is left out of the estimate
    for the plan's next method."""

    name = "like_day_average"
    params_type: ClassVar[type] = LikeDayAverageParams

    def __init__(self, params: LikeDayAverageParams | None = None) -> None:
        self.params = params or LikeDayAverageParams()
        self._holidays = frozenset(date.fromisoformat(day) for day in self.params.holidays)
        self._zone = ZoneInfo(self.params.timezone)

    def estimate(self, context: ValidationContext, slots: tuple[int, ...]) -> Estimate | None:
        series = context.series
        chosen = slot_indexes(slots, len(series))
        timeline = SlotTimeline.of(context)
        parts: list[tuple[np.ndarray, np.ndarray, str]] = []
        day = local_date(series, int(chosen.min()), self._zone)
        last = local_date(series, int(chosen.max()), self._zone)
        while day <= last:
            part = self._for_day(context, timeline, chosen, day)
            if part is not None:
                parts.append(part)
            day += timedelta(days=1)
        if not parts:
            return None
        filled = np.concatenate([group for group, _, _ in parts])
        order = np.argsort(filled)
        return Estimate(
            self.name,
            tuple(int(slot) for slot in filled[order]),
            np.concatenate([values for _, values, _ in parts])[order],
            "; ".join(note for _, _, note in parts),
        )

    def _for_day(
        self, context: ValidationContext, timeline: SlotTimeline, chosen: np.ndarray, day: date
    ) -> tuple[np.ndarray, np.ndarray, str] | None:
        """The slots of ``chosen`` on local ``day``, their values and how they were found."""
        midnight = midnight_offset(context.series, day, self._zone)
        end = midnight_offset(context.series, day + timedelta(days=1), self._zone)
        group = chosen[(chosen >= midnight) & (chosen < end)]
        if not group.size:
            return None
        like = self._like_days(context, timeline, day, group, midnight)
        if len(like) < self.params.min_days:
            return None
        shifts = [shift for _, shift in like]
        profile = np.mean([timeline.at(group + shift)[0] for shift in shifts], axis=0)
        factor = self._day_level(context, timeline, group, (midnight, end), shifts)
        used = ", ".join(like_day.isoformat() for like_day, _ in like)
        scaled = f", scaled x{factor:.3f} to the day's level" if factor != 1.0 else ""
        return group, profile * factor, f"{day}: like days {used}{scaled}"

    def _like_days(
        self,
        context: ValidationContext,
        timeline: SlotTimeline,
        day: date,
        group: np.ndarray,
        midnight: float,
    ) -> list[tuple[date, int]]:
        """Usable like days, nearest first, with their offset in slots from ``day``."""
        kind = day_type(day, self._holidays)
        found: list[tuple[date, int]] = []
        examined = 0
        for back in range(1, self.params.max_lookback_days + 1):
            candidate = day - timedelta(days=back)
            if day_type(candidate, self._holidays) is not kind:
                continue
            examined += 1
            if examined > self.params.max_samples:
                break
            shift = midnight_offset(context.series, candidate, self._zone) - midnight
            if not shift.is_integer():
                continue
            like_values, like_qualities = timeline.at(group + int(shift))
            if actual_mask(like_values, like_qualities).all() and not overlaps_outage(
                context, candidate, self._zone
            ):
                found.append((candidate, int(shift)))
                if len(found) == self.params.days:
                    break
        return found

    def _day_level(
        self,
        context: ValidationContext,
        timeline: SlotTimeline,
        group: np.ndarray,
        bounds: tuple[float, float],
        shifts: list[int],
    ) -> float:
        """Known consumption of the gap's day over the like days' at the same slots."""
        if not self.params.scale_to_day_level:
            return 1.0
        day = np.arange(math.ceil(bounds[0]), math.ceil(bounds[1]))
        reference = np.setdiff1d(day, group)
        own, own_qualities = timeline.at(reference)
        usable = actual_mask(own, own_qualities)
        like = []
        for shift in shifts:
            like_values, like_qualities = timeline.at(reference + shift)
            usable &= actual_mask(like_values, like_qualities)
            like.append(like_values)
        minutes = int(usable.sum()) * context.series.interval_minutes
        expected = float(np.mean(like, axis=0)[usable].sum()) if like else 0.0
        if minutes < self.params.min_reference_minutes or expected <= 0.0:
            return 1.0
        return float(own[usable].sum()) / expected
