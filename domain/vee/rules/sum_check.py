"""Sum check: the intervals between two reads of a register add up to its advance.

The first and last read of the register bound the span; each read counts at the interval
boundary nearest to it (meters snapshot registers on boundaries, a read a few seconds late
still means that boundary). The check needs the whole span inside the series with every
interval present; otherwise the sum is not known and the gap rule speaks instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.registers import reads_of
from domain.vee.rules.slots import amount, missing, slot_position, span
from domain.vee.rules.tolerance import SumTolerance, check_tolerances
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class SumCheckParams:
    register: str = "total"
    absolute_tolerance: float = 1.0  # channel unit: a register shown in whole kWh
    percent_tolerance: float = 2.0  # of the register advance

    def __post_init__(self) -> None:
        check_tolerances(self.absolute_tolerance, self.percent_tolerance)


@dataclass
class SumCheck:
    name = "sum_check"
    params: SumCheckParams = field(default_factory=SumCheckParams)
    severity: Severity = "fail"

    def check(self, context: ValidationContext) -> list[Finding]:
        series = context.series
        reads = reads_of(context, self.params.register)
        if len(reads) < 2:
            return []
        first, last = reads[0], reads[-1]
        begin = int(np.floor(slot_position(series, first.read_at) + 0.5))
        stop = int(np.floor(slot_position(series, last.read_at) + 0.5))
        if not 0 <= begin < stop <= len(series) or missing(series)[begin:stop].any():
            return []
        interval_sum = float(series.values[begin:stop].sum())
        advance = float(last.value - first.value)
        difference = interval_sum - advance
        tolerance = SumTolerance(self.params.absolute_tolerance, self.params.percent_tolerance)
        if not tolerance.exceeded_by(difference, advance):
            return []
        unit = context.unit
        return [
            Finding(
                rule=self.name,
                severity=self.severity,
                slots=tuple(range(begin, stop)),
                message=(
                    f"intervals {span(series, begin, stop)} add up to {amount(interval_sum, unit)}"
                    f" but register {self.params.register} advanced {amount(advance, unit)}"
                    f" (difference {amount(difference, unit)})"
                ),
                suggestion=(
                    "re-read the load profile and the register; check the channel's "
                    "multiplier, else prorate the intervals to the register advance"
                ),
                detail={
                    "interval_sum": interval_sum,
                    "register_advance": advance,
                    "difference": difference,
                },
            )
        ]
