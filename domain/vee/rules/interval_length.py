"""Interval length: the series has the channel's capture period and starts on a boundary
of it (a changed capture period or a shifted clock misplaces every value)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class IntervalLengthParams:
    interval_minutes: int = 15  # the channel's configured capture period

    def __post_init__(self) -> None:
        if self.interval_minutes <= 0:
            raise ValueError("interval_minutes must be more than 0")


@dataclass
class IntervalLengthCheck:
    name = "interval_length"
    params: IntervalLengthParams = field(default_factory=IntervalLengthParams)
    severity: Severity = "fail"

    def check(self, context: ValidationContext) -> list[Finding]:
        series = context.series
        expected = self.params.interval_minutes
        if series.interval_minutes != expected:
            return [
                self._finding(
                    f"intervals are {series.interval_minutes} min long; "
                    f"the channel expects {expected} min",
                    "check the meter's load-profile capture period against the channel",
                    series.interval_minutes,
                    0.0,
                )
            ]
        start = series.start.astimezone(UTC)
        midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
        offset_seconds = (start - midnight).total_seconds() % (expected * 60)
        if offset_seconds:
            return [
                self._finding(
                    f"intervals start {offset_seconds:g} s after a {expected}-min boundary",
                    "check the meter's clock and capture times; shift or re-read the data",
                    series.interval_minutes,
                    offset_seconds,
                )
            ]
        return []

    def _finding(self, message: str, suggestion: str, minutes: int, offset: float) -> Finding:
        return Finding(
            rule=self.name,
            severity=self.severity,
            slots=(),
            message=message,
            suggestion=suggestion,
            detail={
                "interval_minutes": minutes,
                "expected_minutes": self.params.interval_minutes,
                "offset_seconds": offset,
            },
        )
