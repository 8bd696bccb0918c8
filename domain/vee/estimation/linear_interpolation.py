"""Linear interpolation: short gaps on the line between the values around them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from domain.vee.estimation.known import gap_lengths, known_mask, slot_indexes
from domain.vee.series import Estimate, ValidationContext


@dataclass(frozen=True)
class LinearInterpolationParams:
    # Consumption follows a line only over a short time: a longer gap misses the daily
    # shape (measured on BDEW profiles in docs/VEE.md).
    max_gap_minutes: int = 120
    # With a known value on one side only (the gap runs to the edge of the data), repeat
    # that value; False: leave such gaps to another method.
    flat_when_one_sided: bool = True

    def __post_init__(self) -> None:
        if self.max_gap_minutes <= 0:
            raise ValueError("linear_interpolation: max_gap_minutes must be positive")


class LinearInterpolation:
    """Each slot gets the value on the line from the last known value before the gap to
    the first known value after it; with one known side, that side's value."""

    name = "linear_interpolation"
    params_type: ClassVar[type] = LinearInterpolationParams

    def __init__(self, params: LinearInterpolationParams | None = None) -> None:
        self.params = params or LinearInterpolationParams()

    def estimate(self, context: ValidationContext, slots: tuple[int, ...]) -> Estimate | None:
        series = context.series
        chosen = slot_indexes(slots, len(series))
        known = known_mask(series.values, series.qualities)
        # The slots being estimated are never their own anchors, whatever they hold now.
        known[chosen] = False
        if not known.any():
            return None
        longest = int(gap_lengths(known, chosen).max())
        if longest * series.interval_minutes > self.params.max_gap_minutes:
            return None
        anchors = np.flatnonzero(known)
        one_sided = (chosen < anchors[0]) | (chosen > anchors[-1])
        if one_sided.any() and not self.params.flat_when_one_sided:
            return None
        # np.interp is the line between the nearest anchors, and flat beyond the outer ones.
        values = np.interp(chosen, anchors, series.values[anchors])
        note = "flat: known value on one side only" if one_sided.any() else ""
        return Estimate(self.name, tuple(int(slot) for slot in chosen), values, note)
