"""Value fill: every slot of the gap gets one stated value (e.g. 0 for a vacant premise)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from domain.vee.estimation.known import gap_lengths, known_mask, slot_indexes
from domain.vee.series import Estimate, ValidationContext


@dataclass(frozen=True)
class ValueFillParams:
    value: float = 0.0  # per interval, in the channel's unit
    # None: gaps of any length. A plan that fills only short gaps with a contracted
    # value sets a limit and leaves longer ones to a person.
    max_gap_minutes: int | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise ValueError("value_fill: value must be a finite number")
        if self.max_gap_minutes is not None and self.max_gap_minutes <= 0:
            raise ValueError("value_fill: max_gap_minutes must be positive")


class ValueFill:
    name = "value_fill"
    params_type: ClassVar[type] = ValueFillParams

    def __init__(self, params: ValueFillParams | None = None) -> None:
        self.params = params or ValueFillParams()

    def estimate(self, context: ValidationContext, slots: tuple[int, ...]) -> Estimate | None:
        series = context.series
        chosen = slot_indexes(slots, len(series))
        limit = self.params.max_gap_minutes
        if limit is not None:
            known = known_mask(series.values, series.qualities)
            known[chosen] = False
            if int(gap_lengths(known, chosen).max()) * series.interval_minutes > limit:
                return None
        values = np.full(len(chosen), self.params.value)
        return Estimate(self.name, tuple(int(slot) for slot in chosen), values)
