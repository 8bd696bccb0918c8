"""What validation rules and estimation methods are given, and what they answer.

Arrays are aligned slot by slot: ``values[i]`` is the interval starting at
``start + i * interval``. A missing value is NaN (its quality says MISSING).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

import numpy as np

Severity = Literal["warn", "fail"]


@dataclass(frozen=True)
class IntervalSeries:
    """Consecutive intervals of one channel (values NaN where missing)."""

    start: datetime  # tz-aware UTC, start of the first interval
    interval_minutes: int
    values: np.ndarray  # float64
    statuses: np.ndarray  # uint8, meter status bits (domain.reading_quality.METER_STATUS_BITS)
    qualities: np.ndarray  # uint8, domain.reading_quality.ReadingQuality

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.interval_minutes)

    def slot_start(self, index: int) -> datetime:
        return self.start + self.step * index

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class RegisterRead:
    """A cumulative register reading (e.g. 1.8.0 total, 1.8.1 TOU rate 1) at a moment."""

    read_at: datetime
    value: Decimal
    register: str = "total"


@dataclass(frozen=True)
class PowerOutage:
    """A power-down / power-up pair reported by the meter's event log."""

    down_at: datetime
    up_at: datetime | None  # None: still down at the end of the data


@dataclass(frozen=True)
class ValidationContext:
    """Everything a rule may look at; rules use what they need and ignore the rest."""

    series: IntervalSeries
    # Earlier, already validated data of the same channel (e.g. the last 30 days), for
    # rules comparing against historical usage. May be None.
    history: IntervalSeries | None = None
    # Register reads bracketing the series (start and end), total and TOU registers.
    registers: tuple[RegisterRead, ...] = ()
    outages: tuple[PowerOutage, ...] = ()
    # Periods during which the meter's relay was disconnected.
    disconnections: tuple[tuple[datetime, datetime | None], ...] = ()
    clock_deviation_seconds: float | None = None  # meter clock minus HES clock at read
    # Starts of intervals already delivered before, with their delivered values
    # (duplicate delivery detection).
    previously_delivered: IntervalSeries | None = None
    unit: str = "kWh"


@dataclass(frozen=True)
class Finding:
    """A rule fired: which intervals, how severe, why, and what a person might do."""

    rule: str
    severity: Severity
    slots: tuple[int, ...]  # indexes into ValidationContext.series (empty: whole series)
    message: str
    suggestion: str = ""
    detail: dict[str, float | int | str] = field(default_factory=dict)

    def as_stored(self) -> dict[str, Any]:
        """As an event records it (plain JSON values)."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "slots": list(self.slots),
            "message": self.message,
            "suggestion": self.suggestion,
            "detail": dict(self.detail),
        }


class ValidationRule(Protocol):
    """One rule: a small class whose parameters are a frozen dataclass (``params``)."""

    name: str
    severity: Severity

    def check(self, context: ValidationContext) -> list[Finding]: ...


@dataclass(frozen=True)
class Estimate:
    """Values proposed for the slots of a gap, by one method, with what it relied on."""

    method: str
    slots: tuple[int, ...]
    values: np.ndarray  # float64, one per slot
    note: str = ""


class EstimationMethod(Protocol):
    name: str

    def estimate(self, context: ValidationContext, slots: tuple[int, ...]) -> Estimate | None:
        """Values for ``slots`` of ``context.series``; None when the method cannot apply."""
        ...
