"""Interval count: each UTC day the series touches has enough of its intervals present.

Meant for complete days (a daily load-profile read); on a partial delivery the day is
short by design and the gap rule is the one to use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.days import MINUTES_PER_DAY, daily_grid
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class IntervalCountParams:
    # A day fires when fewer than this share of its intervals are present.
    min_complete_percent: float = 100.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_complete_percent <= 100:
            raise ValueError("min_complete_percent must be between 0 and 100")


@dataclass
class IntervalCountCheck:
    name = "interval_count"
    params: IntervalCountParams = field(default_factory=IntervalCountParams)
    severity: Severity = "warn"

    def check(self, context: ValidationContext) -> list[Finding]:
        series = context.series
        grid = daily_grid(series)
        expected = MINUTES_PER_DAY // series.interval_minutes
        present = (~np.isnan(grid.values)).sum(axis=1)
        # Compared multiplied out, so that exactly the minimum share does not fire.
        short = present * 100 < expected * self.params.min_complete_percent
        findings = []
        for row in np.flatnonzero(short).tolist():
            count = int(present[row])
            absent = np.isnan(grid.values[row])
            # Point at the missing slots the series holds; when they all lie outside it
            # (a partial day), at the day's slots that are there.
            slots = grid.slots_of(row, absent) or grid.slots_of(row)
            findings.append(
                Finding(
                    rule=self.name,
                    severity=self.severity,
                    slots=slots,
                    message=(
                        f"{grid.days[row]:%Y-%m-%d}: {count} of {expected} intervals present "
                        f"({count * 100 / expected:.1f} %, at least "
                        f"{self.params.min_complete_percent:g} % expected)"
                    ),
                    suggestion="re-read the day's load profile from the meter",
                    detail={
                        "day": grid.days[row].isoformat(),
                        "present": count,
                        "expected": expected,
                    },
                )
            )
        return findings
