"""Spike: per UTC day, the highest interval against the third-highest.

The third-highest, not the second: a spike split over two intervals (a value stored
across a boundary) is still caught, while a peak lasting three intervals or more is taken
as real load. Days with fewer than three positive values have no meaningful third-highest
and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.days import daily_grid
from domain.vee.rules.slots import amount, intervals
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class SpikeParams:
    # The highest may be up to (1 + 200 %) = 3 x the third-highest; beyond that fires.
    tolerance_percent: float = 200.0
    # Peaks below this (channel unit per interval) are not worth a person's time; 0: off.
    min_highest: float = 0.0

    def __post_init__(self) -> None:
        if self.tolerance_percent < 0:
            raise ValueError("tolerance_percent must be 0 or more")
        if self.min_highest < 0:
            raise ValueError("min_highest must be 0 or more")


@dataclass
class SpikeCheck:
    name = "spike"
    params: SpikeParams = field(default_factory=SpikeParams)
    severity: Severity = "warn"

    def screen(self, batch: DeliveryBatch) -> np.ndarray:
        days = batch.days
        if days is None:
            return batch.everywhere()
        if days.shape[1] == 0 or days.shape[2] < 3:
            return np.zeros(len(batch), dtype=bool)
        # ``check``'s arithmetic, day by day of every row at once.
        ranked = -np.sort(-days, axis=2)
        highest, third = ranked[..., 0], ranked[..., 2]
        ceiling = (1 + self.params.tolerance_percent / 100) * third
        positive = (days > 0).sum(axis=2)
        spiky = (positive >= 3) & (highest > ceiling) & (highest >= self.params.min_highest)
        return spiky.any(axis=1)

    def check(self, context: ValidationContext) -> list[Finding]:
        grid = daily_grid(context.series)
        if grid.values.shape[0] == 0 or grid.values.shape[1] < 3:
            return []  # no day can hold three intervals
        # Descending per day; NaN (missing, or outside the series) sorts last.
        ranked = -np.sort(-grid.values, axis=1)
        highest, third = ranked[:, 0], ranked[:, 2]
        ceiling = (1 + self.params.tolerance_percent / 100) * third
        positive = (grid.values > 0).sum(axis=1)
        spiky = (positive >= 3) & (highest > ceiling) & (highest >= self.params.min_highest)
        findings = []
        for row in np.flatnonzero(spiky).tolist():
            slots = grid.slots_of(row, grid.values[row] > ceiling[row])
            findings.append(
                Finding(
                    rule=self.name,
                    severity=self.severity,
                    slots=slots,
                    message=(
                        f"{grid.days[row]:%Y-%m-%d}: {intervals(len(slots))} up to "
                        f"{amount(float(highest[row]), context.unit)}, more than "
                        f"{self.params.tolerance_percent:g} % above the third-highest "
                        f"{amount(float(third[row]), context.unit)}"
                    ),
                    suggestion=(
                        "compare with the meter's register advance; estimate the spike "
                        "if the register does not confirm it"
                    ),
                    detail={
                        "day": grid.days[row].isoformat(),
                        "highest": float(highest[row]),
                        "third_highest": float(third[row]),
                    },
                )
            )
        return findings
