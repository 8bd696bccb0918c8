"""Gap: intervals with no value (NaN, quality MISSING), one finding per contiguous gap."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.slots import intervals, missing, runs, span
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class GapParams:
    # Gaps of up to this many intervals are tolerated; 0: any missing interval fires.
    max_gap_intervals: int = 0
    # Gaps up to this long are suggested for linear interpolation, longer ones for a
    # re-read: interpolation over more than an hour misses the shape of the load.
    interpolate_up_to_minutes: int = 60

    def __post_init__(self) -> None:
        if self.max_gap_intervals < 0:
            raise ValueError("max_gap_intervals must be 0 or more")
        if self.interpolate_up_to_minutes < 0:
            raise ValueError("interpolate_up_to_minutes must be 0 or more")


@dataclass
class GapCheck:
    name = "gap"
    params: GapParams = field(default_factory=GapParams)
    severity: Severity = "fail"

    def screen(self, batch: DeliveryBatch) -> np.ndarray:
        # No gap can be longer than all the row's missing slots together.
        return batch.missing.sum(axis=1) > self.params.max_gap_intervals

    def check(self, context: ValidationContext) -> list[Finding]:
        series = context.series
        findings = []
        for first, stop in runs(missing(series)):
            length = stop - first
            if length <= self.params.max_gap_intervals:
                continue
            minutes = length * series.interval_minutes
            if minutes <= self.params.interpolate_up_to_minutes:
                suggestion = "estimate by linear interpolation"
            else:
                suggestion = "re-read the load profile from the meter, else estimate from history"
            findings.append(
                Finding(
                    rule=self.name,
                    severity=self.severity,
                    slots=tuple(range(first, stop)),
                    message=f"{intervals(length)} missing {span(series, first, stop)}",
                    suggestion=suggestion,
                    detail={"missing_intervals": length, "missing_minutes": minutes},
                )
            )
        return findings
