"""Register advances over whole slots of a series: what the meter says was consumed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from domain.vee.series import IntervalSeries, RegisterRead


@dataclass(frozen=True)
class RegisterWindow:
    """Slots ``first`` up to (not including) ``end`` consumed ``advance`` by the register."""

    first: int
    end: int
    advance: float


def register_windows(
    series: IntervalSeries,
    reads: Iterable[RegisterRead],
    register: str,
    tolerance_seconds: int,
) -> list[RegisterWindow]:
    """Windows between consecutive reads of ``register`` that fall on slot boundaries of the
    series (within ``tolerance_seconds``). A read off the grid cannot be split between the
    slots around it, so it is not used; a falling register (rollover, exchange) is no
    advance."""
    boundaries: list[tuple[int, RegisterRead]] = []
    for read in sorted((r for r in reads if r.register == register), key=lambda r: r.read_at):
        boundary = round((read.read_at - series.start) / series.step)
        # In timedelta arithmetic: exact to the microsecond, unlike float slot offsets.
        off_grid = abs(read.read_at - series.slot_start(boundary)).total_seconds()
        if off_grid <= tolerance_seconds and 0 <= boundary <= len(series):
            boundaries.append((boundary, read))
    return [
        RegisterWindow(first, end, float(later.value - earlier.value))
        for (first, earlier), (end, later) in pairwise(boundaries)
        if end > first and later.value >= earlier.value
    ]
