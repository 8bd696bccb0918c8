"""Power-gap fill: no power, no consumption - slots inside a power-down/power-up pair are 0."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import numpy as np

from domain.vee.estimation.known import slot_indexes
from domain.vee.series import Estimate, IntervalSeries, ValidationContext


@dataclass(frozen=True)
class PowerGapFillParams:
    # Share of a slot that must lie inside the outage. 1.0: only slots wholly without
    # power; a slot cut by power-down or power-up had some consumption, which the meter
    # usually recorded, and is left to the next method.
    min_inside_fraction: float = 1.0
    # A relay the HES opened stops consumption too, but the issue asks only for outages.
    include_disconnections: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.min_inside_fraction <= 1.0:
            raise ValueError("power_gap_fill: min_inside_fraction must be in (0, 1]")


class PowerGapFill:
    """Zero for the slots of the gap inside an outage; the other slots of the gap (if any)
    are left out of the estimate for the next method of the plan."""

    name = "power_gap_fill"
    params_type: ClassVar[type] = PowerGapFillParams

    def __init__(self, params: PowerGapFillParams | None = None) -> None:
        self.params = params or PowerGapFillParams()

    def estimate(self, context: ValidationContext, slots: tuple[int, ...]) -> Estimate | None:
        series = context.series
        chosen = slot_indexes(slots, len(series))
        periods = [(outage.down_at, outage.up_at) for outage in context.outages]
        if self.params.include_disconnections:
            periods.extend(context.disconnections)
        if not periods:
            return None
        down, up = _offsets(series, periods)
        # Overlap of slot [i, i+1) with each period, in slots; slots x periods at once.
        starts = chosen[:, np.newaxis].astype(np.float64)
        overlap = np.clip(np.minimum(starts + 1, up) - np.maximum(starts, down), 0.0, 1.0)
        # A tiny tolerance: datetime offsets divide into floats.
        inside = overlap.max(axis=1) >= self.params.min_inside_fraction - 1e-9
        if not inside.any():
            return None
        filled = tuple(int(slot) for slot in chosen[inside])
        return Estimate(self.name, filled, np.zeros(len(filled)), "power was off")


def _offsets(
    series: IntervalSeries, periods: list[tuple[datetime, datetime | None]]
) -> tuple[np.ndarray, np.ndarray]:
    """Period bounds in slots from the series start; a period not yet ended runs on."""
    down = np.array([(start - series.start) / series.step for start, _ in periods])
    up = np.array(
        [np.inf if end is None else (end - series.start) / series.step for _, end in periods]
    )
    return down, up
