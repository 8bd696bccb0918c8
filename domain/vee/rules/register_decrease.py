"""Register must not decrease: a cumulative register read lower than the one before it."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from domain.vee.rules.registers import reads_by_register
from domain.vee.rules.slots import amount, moment, slots_within
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class RegisterDecreaseParams:
    # A decrease up to this much passes (a register re-scaled by the head end).
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise ValueError("tolerance must be 0 or more")


@dataclass
class RegisterDecreaseCheck:
    name = "register_decrease"
    params: RegisterDecreaseParams = field(default_factory=RegisterDecreaseParams)
    severity: Severity = "fail"

    def check(self, context: ValidationContext) -> list[Finding]:
        findings = []
        for register, reads in reads_by_register(context).items():
            for earlier, later in pairwise(reads):
                decrease = float(earlier.value - later.value)
                if decrease <= self.params.tolerance:
                    continue
                slots = slots_within(context.series, earlier.read_at, later.read_at)
                findings.append(
                    Finding(
                        rule=self.name,
                        severity=self.severity,
                        slots=tuple(slots),
                        message=(
                            f"register {register} went down by {amount(decrease, context.unit)}"
                            f" from {earlier.value} at {moment(earlier.read_at)}"
                            f" to {later.value} at {moment(later.read_at)}"
                        ),
                        suggestion=(
                            "check for a meter exchange, a register rollover or a reset; "
                            "re-read the register"
                        ),
                        detail={
                            "register": register,
                            "earlier": float(earlier.value),
                            "later": float(later.value),
                            "decrease": decrease,
                        },
                    )
                )
        return findings
