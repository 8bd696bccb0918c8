"""Consecutive zeros: a run of values at or below a threshold, long enough to suggest a
stopped meter or a lost supply, yet short enough not to be a vacant premise.

A missing interval ends a run (it is not known to be zero). A run touching either end of
the series is judged on the part inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.slots import amount, intervals, present_values, runs, span
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class ConsecutiveZerosParams:
    min_hours: float = 2.0  # a run lasting at least this long fires
    max_hours: float = 24.0  # a run lasting longer than this is a vacant premise: silent
    threshold: float = 0.0  # values <= threshold count as zero

    def __post_init__(self) -> None:
        if not 0 < self.min_hours <= self.max_hours:
            raise ValueError("hours must satisfy 0 < min_hours <= max_hours")


@dataclass
class ConsecutiveZerosCheck:
    name = "consecutive_zeros"
    params: ConsecutiveZerosParams = field(default_factory=ConsecutiveZerosParams)
    severity: Severity = "warn"

    def screen(self, batch: DeliveryBatch) -> np.ndarray:
        # No run of zeros is longer than all the row's zeros together.
        zeros = (batch.present <= self.params.threshold).sum(axis=1)
        return zeros * batch.interval_minutes >= self.params.min_hours * 60

    def check(self, context: ValidationContext) -> list[Finding]:
        series = context.series
        # Compared in minutes: whole numbers for any sensible parameter, so that a run of
        # exactly min_hours fires and exactly max_hours still does.
        shortest = self.params.min_hours * 60
        longest = self.params.max_hours * 60
        findings = []
        for first, stop in runs(present_values(series) <= self.params.threshold):
            minutes = (stop - first) * series.interval_minutes
            if not shortest <= minutes <= longest:
                continue
            findings.append(
                Finding(
                    rule=self.name,
                    severity=self.severity,
                    slots=tuple(range(first, stop)),
                    message=(
                        f"{intervals(stop - first)} at or below "
                        f"{amount(self.params.threshold, context.unit)} "
                        f"{span(series, first, stop)} ({minutes / 60:g} h)"
                    ),
                    suggestion=(
                        "check for a power outage, a stopped meter or an open relay; "
                        "estimate if the meter was at fault"
                    ),
                    detail={"hours": minutes / 60, "intervals": stop - first},
                )
            )
        return findings
