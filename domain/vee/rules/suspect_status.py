"""Suspect meter status: intervals whose meter status carries a bit that makes the value
doubtful. One finding per run of intervals with the same suspect bits."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from domain.reading_quality import METER_STATUS_BITS
from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.slots import intervals, runs, span
from domain.vee.series import Finding, Severity, ValidationContext

CRITICAL_ERROR, CLOCK_INVALID, DATA_NOT_VALID, POWER_DOWN = 0x01, 0x02, 0x04, 0x80


@dataclass(frozen=True)
class SuspectStatusParams:
    status_mask: int = CRITICAL_ERROR | CLOCK_INVALID | DATA_NOT_VALID | POWER_DOWN  # 0x87

    def __post_init__(self) -> None:
        if not 0 < self.status_mask <= 0xFF:
            raise ValueError("status_mask must be a bit mask between 1 and 255")


@dataclass
class SuspectStatusCheck:
    name = "suspect_status"
    params: SuspectStatusParams = field(default_factory=SuspectStatusParams)
    severity: Severity = "fail"

    def screen(self, batch: DeliveryBatch) -> np.ndarray:
        return ((batch.statuses & self.params.status_mask) != 0).any(axis=1)

    def check(self, context: ValidationContext) -> list[Finding]:
        series = context.series
        suspect = np.asarray(series.statuses, dtype=np.uint8) & self.params.status_mask
        # A run ends where the suspect bits change, so each finding names its own flags.
        changes = np.flatnonzero(np.diff(suspect)) + 1
        findings = []
        for first, stop in runs(suspect != 0):
            for begin, end in _split(first, stop, changes):
                bits = int(suspect[begin])
                flags = ", ".join(
                    METER_STATUS_BITS.get(bit, f"bit 0x{bit:02X}")
                    for bit in (1 << shift for shift in range(8))
                    if bits & bit
                )
                findings.append(
                    Finding(
                        rule=self.name,
                        severity=self.severity,
                        slots=tuple(range(begin, end)),
                        message=(
                            f"{intervals(end - begin)} flagged {flags} {span(series, begin, end)}"
                        ),
                        suggestion=(
                            "check the meter's event log; estimate the intervals "
                            "or accept them if the event explains them"
                        ),
                        detail={"status_bits": bits, "flags": flags},
                    )
                )
        return findings


def _split(first: int, stop: int, changes: np.ndarray) -> list[tuple[int, int]]:
    inner = [int(at) for at in changes[(changes > first) & (changes < stop)]]
    bounds = [first, *inner, stop]
    return list(pairwise(bounds))
