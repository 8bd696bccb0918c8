"""Clock drift: the meter's clock against the head end's at the time of the read.

30 s is the default limit: a clock that far off moves about 3 % of each 15-min interval's
energy into its neighbour, which is where load-profile billing starts to notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class ClockDriftParams:
    max_seconds: float = 30.0  # a deviation of exactly this passes

    def __post_init__(self) -> None:
        if self.max_seconds < 0:
            raise ValueError("max_seconds must be 0 or more")


@dataclass
class ClockDriftCheck:
    name = "clock_drift"
    params: ClockDriftParams = field(default_factory=ClockDriftParams)
    severity: Severity = "warn"

    def check(self, context: ValidationContext) -> list[Finding]:
        deviation = context.clock_deviation_seconds
        if deviation is None or abs(deviation) <= self.params.max_seconds:
            return []
        direction = "ahead of" if deviation > 0 else "behind"
        return [
            Finding(
                rule=self.name,
                severity=self.severity,
                slots=(),
                message=(
                    f"meter clock {abs(deviation):g} s {direction} the head end "
                    f"(limit {self.params.max_seconds:g} s)"
                ),
                suggestion="synchronise the meter's clock; check its battery if it drifts again",
                detail={"deviation_seconds": float(deviation)},
            )
        ]
