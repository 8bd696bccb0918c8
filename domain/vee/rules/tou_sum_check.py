"""TOU sum check: the advances of the TOU rate registers add up to the total register's.

Each register's advance runs from its first to its last read; the reads of one session
are taken together, so the spans match. A register with fewer than two reads makes the
sum unknown and the rule stays silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from domain.vee.rules.registers import reads_by_register
from domain.vee.rules.slots import amount
from domain.vee.rules.tolerance import SumTolerance, check_tolerances
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class TouSumCheckParams:
    total_register: str = "total"
    tou_registers: tuple[str, ...] = ()  # empty: every register other than the total
    absolute_tolerance: float = 1.0  # channel unit: registers shown in whole kWh
    percent_tolerance: float = 1.0  # of the total register's advance

    def __post_init__(self) -> None:
        check_tolerances(self.absolute_tolerance, self.percent_tolerance)
        if self.total_register in self.tou_registers:
            raise ValueError("the total register cannot be one of the TOU registers")


@dataclass
class TouSumCheck:
    name = "tou_sum_check"
    params: TouSumCheckParams = field(default_factory=TouSumCheckParams)
    severity: Severity = "warn"

    def check(self, context: ValidationContext) -> list[Finding]:
        grouped = reads_by_register(context)
        total_reads = grouped.pop(self.params.total_register, [])
        names = self.params.tou_registers or tuple(sorted(grouped))
        tou_reads = [grouped.get(name, []) for name in names]
        if not names or len(total_reads) < 2 or any(len(reads) < 2 for reads in tou_reads):
            return []
        # Decimal until the end: register values are exact and the tolerance may be small.
        total = total_reads[-1].value - total_reads[0].value
        tou = sum((reads[-1].value - reads[0].value for reads in tou_reads), start=Decimal(0))
        difference = float(tou - total)
        tolerance = SumTolerance(self.params.absolute_tolerance, self.params.percent_tolerance)
        if not tolerance.exceeded_by(difference, float(total)):
            return []
        unit = context.unit
        return [
            Finding(
                rule=self.name,
                severity=self.severity,
                slots=(),
                message=(
                    f"TOU registers {', '.join(names)} advanced {amount(float(tou), unit)} but "
                    f"register {self.params.total_register} advanced "
                    f"{amount(float(total), unit)} (difference {amount(difference, unit)})"
                ),
                suggestion="re-read the registers; check the meter's TOU calendar and registers",
                detail={
                    "tou_advance": float(tou),
                    "total_advance": float(total),
                    "difference": difference,
                },
            )
        ]
