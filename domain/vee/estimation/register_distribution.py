"""Register distribution: what the register advanced and the known intervals do not
account for is shared equally by the unknown intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from domain.vee.estimation.known import known_mask, slot_indexes
from domain.vee.estimation.registers import register_windows
from domain.vee.series import Estimate, ValidationContext


@dataclass(frozen=True)
class RegisterDistributionParams:
    register: str = "total"  # RegisterRead.register whose advance is distributed
    # Reads are taken to be at the nearest slot boundary when this close to it.
    read_tolerance_seconds: int = 60

    def __post_init__(self) -> None:
        if not self.register:
            raise ValueError("register_distribution: register must be named")
        if self.read_tolerance_seconds < 0:
            raise ValueError("register_distribution: read_tolerance_seconds must be >= 0")


class RegisterDistribution:
    """Needs two reads bracketing the gap. Every unknown slot between them - in this gap or
    another - gets (advance - known intervals) / unknown slots, so gaps estimated one
    after the other still add up to the advance."""

    name = "register_distribution"
    params_type: ClassVar[type] = RegisterDistributionParams

    def __init__(self, params: RegisterDistributionParams | None = None) -> None:
        self.params = params or RegisterDistributionParams()

    def estimate(self, context: ValidationContext, slots: tuple[int, ...]) -> Estimate | None:
        series = context.series
        chosen = slot_indexes(slots, len(series))
        known = known_mask(series.values, series.qualities)
        known[chosen] = False
        windows = register_windows(
            series, context.registers, self.params.register, self.params.read_tolerance_seconds
        )
        filled: list[np.ndarray] = []
        shares: list[np.ndarray] = []
        for window in windows:
            inside = chosen[(chosen >= window.first) & (chosen < window.end)]
            if not inside.size:
                continue
            span = slice(window.first, window.end)
            remainder = window.advance - float(series.values[span][known[span]].sum())
            # Known intervals above the advance: register or intervals are wrong, and
            # a person has to find out which.
            if remainder < -1e-9 * max(1.0, window.advance):
                continue
            unknown = int((~known[span]).sum())
            filled.append(inside)
            shares.append(np.full(inside.size, max(remainder, 0.0) / unknown))
        if not filled:
            return None
        order = np.argsort(np.concatenate(filled))
        return Estimate(
            self.name,
            tuple(int(slot) for slot in np.concatenate(filled)[order]),
            np.concatenate(shares)[order],
            f"register {self.params.register}",
        )
