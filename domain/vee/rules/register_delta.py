"""Register delta high/low: the advance of one register from its first to its last read,
scaled to a day so that the limits hold whatever the time between the reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from domain.vee.rules.registers import reads_of
from domain.vee.rules.slots import amount, moment, slots_within
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class RegisterDeltaParams:
    register: str = "total"
    # 200 kWh a day is 8.3 kW around the clock: far beyond a household.
    high_per_day: float | None = 200.0
    low_per_day: float | None = None

    def __post_init__(self) -> None:
        high, low = self.high_per_day, self.low_per_day
        if high is not None and low is not None and low > high:
            raise ValueError("low_per_day must not be above high_per_day")


@dataclass
class RegisterDeltaCheck:
    name = "register_delta"
    params: RegisterDeltaParams = field(default_factory=RegisterDeltaParams)
    severity: Severity = "fail"

    def check(self, context: ValidationContext) -> list[Finding]:
        reads = reads_of(context, self.params.register)
        if len(reads) < 2 or reads[-1].read_at == reads[0].read_at:
            return []
        first, last = reads[0], reads[-1]
        days = (last.read_at - first.read_at) / timedelta(days=1)
        advance = float(last.value - first.value)
        per_day = advance / days
        high, low = self.params.high_per_day, self.params.low_per_day
        if high is not None and per_day > high:
            side, limit = "above", high
        elif low is not None and per_day < low:
            side, limit = "below", low
        else:
            return []
        unit = context.unit
        return [
            Finding(
                rule=self.name,
                severity=self.severity,
                slots=tuple(slots_within(context.series, first.read_at, last.read_at)),
                message=(
                    f"register {self.params.register} advanced {amount(advance, unit)} from "
                    f"{moment(first.read_at)} to {moment(last.read_at)}: "
                    f"{amount(per_day, unit)} a day, {side} the limit of {amount(limit, unit)}"
                ),
                suggestion=(
                    "check the register's scaler and the channel's multiplier; re-read the register"
                ),
                detail={"advance": advance, "per_day": per_day, "limit": limit, "side": side},
            )
        ]
