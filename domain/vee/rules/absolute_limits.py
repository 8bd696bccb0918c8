"""High/low absolute limits: each interval value against fixed limits in the channel's
unit per interval. A value equal to a limit passes; only beyond it fires."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.slots import amount, intervals, present_values, runs, span
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class AbsoluteLimitsParams:
    # 10 kWh in 15 min is 40 kW of average demand: beyond any household connection.
    high: float | None = 10.0
    low: float | None = None  # negative values have their own rule

    def __post_init__(self) -> None:
        if self.high is not None and self.low is not None and self.low > self.high:
            raise ValueError("low must not be above high")


@dataclass
class AbsoluteLimitsCheck:
    name = "absolute_limits"
    params: AbsoluteLimitsParams = field(default_factory=AbsoluteLimitsParams)
    severity: Severity = "fail"

    def screen(self, batch: DeliveryBatch) -> np.ndarray:
        could = np.zeros(len(batch), dtype=bool)
        if self.params.high is not None:
            could |= (batch.present > self.params.high).any(axis=1)
        if self.params.low is not None:
            could |= (batch.present < self.params.low).any(axis=1)
        return could

    def check(self, context: ValidationContext) -> list[Finding]:
        values = present_values(context.series)
        findings = []
        if self.params.high is not None:
            findings += self._beyond(context, values > self.params.high, "high", self.params.high)
        if self.params.low is not None:
            findings += self._beyond(context, values < self.params.low, "low", self.params.low)
        return findings

    def _beyond(
        self, context: ValidationContext, mask: np.ndarray, limit_name: str, limit: float
    ) -> list[Finding]:
        series, unit = context.series, context.unit
        side = "above" if limit_name == "high" else "below"
        findings = []
        for first, stop in runs(mask):
            block = series.values[first:stop]
            extreme = float(block.max() if limit_name == "high" else block.min())
            findings.append(
                Finding(
                    rule=self.name,
                    severity=self.severity,
                    slots=tuple(range(first, stop)),
                    message=(
                        f"{intervals(stop - first)} {side} the {limit_name} limit of "
                        f"{amount(limit, unit)} {span(series, first, stop)}"
                        f" (extreme {amount(extreme, unit)})"
                    ),
                    suggestion=(
                        "check the channel's multiplier and the meter's scaler; "
                        "re-read the load profile, else estimate"
                    ),
                    detail={"limit": limit, "extreme": extreme, "side": side},
                )
            )
        return findings
