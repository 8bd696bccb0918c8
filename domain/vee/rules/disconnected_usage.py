"""Usage on a disconnected meter: consumption in intervals lying wholly inside a period
when the relay was open (an interval the relay opened or closed in holds real usage).

Usage there means a bypass, a tamper or a relay that did not open.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.slots import (
    amount,
    intervals,
    moment,
    present_values,
    runs,
    slots_within,
    span,
)
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class DisconnectedUsageParams:
    threshold: float = 0.0  # an interval above this fires; an open relay measures nothing

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError("threshold must be 0 or more")


@dataclass
class DisconnectedUsageCheck:
    name = "disconnected_usage"
    params: DisconnectedUsageParams = field(default_factory=DisconnectedUsageParams)
    severity: Severity = "fail"

    def screen(self, batch: DeliveryBatch) -> np.ndarray:
        return batch.counts("disconnections") > 0

    def check(self, context: ValidationContext) -> list[Finding]:
        series = context.series
        values = present_values(series)
        findings = []
        for opened, closed in context.disconnections:
            inside = np.zeros(len(series), dtype=bool)
            within = slots_within(series, opened, closed)
            inside[within.start : within.stop] = True
            for first, stop in runs(inside & (values > self.params.threshold)):
                used = float(values[first:stop].sum())
                findings.append(
                    Finding(
                        rule=self.name,
                        severity=self.severity,
                        slots=tuple(range(first, stop)),
                        message=(
                            f"{amount(used, context.unit)} used in {intervals(stop - first)} "
                            f"{span(series, first, stop)} while the relay was open "
                            f"(disconnected at {moment(opened)})"
                        ),
                        suggestion=(
                            "check the relay state and look for a bypass or tampering on site"
                        ),
                        detail={"usage": used, "disconnected_at": opened.isoformat()},
                    )
                )
        return findings
