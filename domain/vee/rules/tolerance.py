"""The two-sided tolerance of sum checks: a difference passes when it is within the
absolute tolerance (register resolution) OR within the percent (rounding of many values);
it fires only when it exceeds both."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SumTolerance:
    absolute: float
    percent: float

    def exceeded_by(self, difference: float, reference: float) -> bool:
        # Multiplied out rather than divided, so that exactly the tolerance passes.
        beyond_absolute = abs(difference) > self.absolute
        beyond_percent = abs(difference) * 100 > self.percent * abs(reference)
        return beyond_absolute and beyond_percent


def check_tolerances(absolute: float, percent: float) -> None:
    if absolute < 0 or percent < 0:
        raise ValueError("absolute_tolerance and percent_tolerance must be 0 or more")
