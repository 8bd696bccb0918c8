"""Power outage count: more outages over the series' period than the limit.

The data may be right; the supply is poor, or the meter's supply connection is loose. An
outage still going at the end of the data counts, however short so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.slots import moment, slots_touching
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class OutageCountParams:
    max_outages: int = 3  # exactly this many pass
    # Shorter outages are not counted; EN 50160 calls those under 180 s short interruptions.
    min_duration_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.max_outages < 0 or self.min_duration_seconds < 0:
            raise ValueError("max_outages and min_duration_seconds must be 0 or more")


@dataclass
class OutageCountCheck:
    name = "outage_count"
    params: OutageCountParams = field(default_factory=OutageCountParams)
    severity: Severity = "warn"

    def screen(self, batch: DeliveryBatch) -> np.ndarray:
        # Outages outside the series or too short only lower the count.
        return batch.counts("outages") > self.params.max_outages

    def check(self, context: ValidationContext) -> list[Finding]:
        series = context.series
        end = series.slot_start(len(series))
        counted = [
            outage
            for outage in context.outages
            if outage.down_at < end
            and (outage.up_at is None or outage.up_at > series.start)
            and (
                outage.up_at is None
                or (outage.up_at - outage.down_at).total_seconds()
                >= self.params.min_duration_seconds
            )
        ]
        if len(counted) <= self.params.max_outages:
            return []
        slots = sorted(
            {
                slot
                for outage in counted
                for slot in slots_touching(series, outage.down_at, outage.up_at)
            }
        )
        first = min(outage.down_at for outage in counted)
        return [
            Finding(
                rule=self.name,
                severity=self.severity,
                slots=tuple(slots),
                message=(
                    f"{len(counted)} power outages from {moment(first)} "
                    f"(more than {self.params.max_outages})"
                ),
                suggestion=(
                    "report the supply to the network operator; check the meter's "
                    "connections if only this meter sees them"
                ),
                detail={"outages": len(counted), "max_outages": self.params.max_outages},
            )
        ]
