"""Negative consumption: an import (delivered energy) channel cannot run backwards."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.slots import amount, intervals, present_values, runs, span
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class NegativeConsumptionParams:
    # Values down to -tolerance pass (rounding in a head end's unit conversion).
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise ValueError("tolerance must be 0 or more")


@dataclass
class NegativeConsumptionCheck:
    name = "negative_consumption"
    params: NegativeConsumptionParams = field(default_factory=NegativeConsumptionParams)
    severity: Severity = "fail"

    def screen(self, batch: DeliveryBatch) -> np.ndarray:
        return np.asarray((batch.present < -self.params.tolerance).any(axis=1))

    def check(self, context: ValidationContext) -> list[Finding]:
        series = context.series
        negative = present_values(series) < -self.params.tolerance
        findings = []
        for first, stop in runs(negative):
            lowest = float(series.values[first:stop].min())
            findings.append(
                Finding(
                    rule=self.name,
                    severity=self.severity,
                    slots=tuple(range(first, stop)),
                    message=(
                        f"{intervals(stop - first)} negative {span(series, first, stop)}"
                        f" (lowest {amount(lowest, context.unit)})"
                    ),
                    suggestion=(
                        "check the channel's direction (import/export) and the CT wiring; "
                        "estimate the intervals"
                    ),
                    detail={"lowest": lowest, "tolerance": self.params.tolerance},
                )
            )
        return findings
