"""Register scaling: estimates stretched so that known intervals plus estimates equal the
register advance between two reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from domain.vee.estimation.known import known_mask, slot_indexes
from domain.vee.estimation.registers import register_windows
from domain.vee.series import Estimate, ValidationContext


@dataclass(frozen=True)
class RegisterScalingParams:
    register: str = "total"
    read_tolerance_seconds: int = 60
    # A factor outside these bounds means the register and the intervals disagree by more
    # than an estimate can: a person looks instead of the estimates being bent.
    min_factor: float = 0.5
    max_factor: float = 2.0

    def __post_init__(self) -> None:
        if not self.register:
            raise ValueError("register_scaling: register must be named")
        if self.read_tolerance_seconds < 0:
            raise ValueError("register_scaling: read_tolerance_seconds must be >= 0")
        if not 0.0 <= self.min_factor <= 1.0 <= self.max_factor:
            raise ValueError("register_scaling: need 0 <= min_factor <= 1 <= max_factor")


class RegisterScaling:
    """``slots`` are estimates already in ``context.series`` (quality ESTIMATED). Per
    register window holding some of them, with no unknown slot left in it, they are
    multiplied by one factor so the window adds up to the advance. Other values in the
    window (measured, edited, estimates not named) stay as they are."""

    name = "register_scaling"
    params_type: ClassVar[type] = RegisterScalingParams

    def __init__(self, params: RegisterScalingParams | None = None) -> None:
        self.params = params or RegisterScalingParams()

    def estimate(self, context: ValidationContext, slots: tuple[int, ...]) -> Estimate | None:
        series = context.series
        chosen = slot_indexes(slots, len(series))
        known = known_mask(series.values, series.qualities)
        windows = register_windows(
            series, context.registers, self.params.register, self.params.read_tolerance_seconds
        )
        scaled: list[np.ndarray] = []
        values: list[np.ndarray] = []
        factors: list[str] = []
        for window in windows:
            inside = chosen[(chosen >= window.first) & (chosen < window.end)]
            if not inside.size or not known[window.first : window.end].all():
                continue
            estimated = float(series.values[inside].sum())
            fixed = float(series.values[window.first : window.end].sum()) - estimated
            if estimated <= 0.0:
                continue
            factor = (window.advance - fixed) / estimated
            if not self.params.min_factor <= factor <= self.params.max_factor:
                continue
            scaled.append(inside)
            values.append(series.values[inside] * factor)
            factors.append(f"{factor:.4f}")
        if not scaled:
            return None
        order = np.argsort(np.concatenate(scaled))
        return Estimate(
            self.name,
            tuple(int(slot) for slot in np.concatenate(scaled)[order]),
            np.concatenate(values)[order],
            f"scaled to register {self.params.register} by {', '.join(factors)}",
        )
