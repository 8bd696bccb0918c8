"""High/low against historical usage: each complete UTC day's total against the mean
daily total of the channel's history (its complete days only).

Days with a missing interval are left to the gap rule: their total is not known. Without
enough history there is nothing to compare with, and the rule stays silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.days import daily_grid, daily_values
from domain.vee.rules.slots import amount
from domain.vee.series import Finding, Severity, ValidationContext


@dataclass(frozen=True)
class HistoricalUsageParams:
    high_factor: float = 3.0  # a day above 3 x the average fires
    low_factor: float = 0.2  # a day below 0.2 x the average fires
    min_history_days: int = 7  # complete days of history needed to judge at all

    def __post_init__(self) -> None:
        if not 0 <= self.low_factor <= self.high_factor:
            raise ValueError("factors must satisfy 0 <= low_factor <= high_factor")
        if self.min_history_days < 1:
            raise ValueError("min_history_days must be 1 or more")


@dataclass
class HistoricalUsageCheck:
    name = "historical_usage"
    params: HistoricalUsageParams = field(default_factory=HistoricalUsageParams)
    severity: Severity = "warn"

    def screen(self, batch: DeliveryBatch) -> np.ndarray:
        usage, days = batch.history_usage, batch.days
        if usage is None or days is None:
            return batch.everywhere()
        average, history_days = usage[0][:, None], usage[1]
        complete = ~np.isnan(days).any(axis=2)
        totals = np.nansum(days, axis=2)
        # ``check`` sums in another order: a margin far beyond any rounding keeps a total
        # that is on a limit on the "could" side.
        slack = 1e-9 * (np.abs(totals) + np.abs(average) * max(self.params.high_factor, 1.0))
        slack += 1e-12
        beyond = (totals > self.params.high_factor * average - slack) | (
            totals < self.params.low_factor * average + slack
        )
        unsure = ~np.isfinite(average[:, 0]) | (complete & ~np.isfinite(totals)).any(axis=1)
        could = (complete & beyond).any(axis=1) | unsure
        return (history_days >= self.params.min_history_days) & could

    def check(self, context: ValidationContext) -> list[Finding]:
        if context.history is None or len(context.history) == 0 or len(context.series) == 0:
            return []
        past = daily_values(context.history)
        known = ~np.isnan(past).any(axis=1)  # complete days
        history_days = int(known.sum())
        if history_days < self.params.min_history_days:
            return []
        # Complete days hold no NaN: their plain sums are the totals, bit for bit.
        average = float(past[known].sum(axis=1).mean())
        grid = daily_grid(context.series)
        totals, complete = grid.totals, grid.complete
        high = complete & (totals > self.params.high_factor * average)
        low = complete & (totals < self.params.low_factor * average)
        findings = []
        for row in np.flatnonzero(high | low).tolist():
            side, factor = ("above", self.params.high_factor)
            if low[row]:
                side, factor = ("below", self.params.low_factor)
            total = float(totals[row])
            findings.append(
                Finding(
                    rule=self.name,
                    severity=self.severity,
                    slots=grid.slots_of(row),
                    message=(
                        f"{grid.days[row]:%Y-%m-%d}: {amount(total, context.unit)} used, {side} "
                        f"{factor:g} x the average of {amount(average, context.unit)} a day "
                        f"over {history_days} days"
                    ),
                    suggestion=(
                        "check for a change of occupancy, season or multiplier; "
                        "accept the day if the customer confirms it"
                    ),
                    detail={
                        "day": grid.days[row].isoformat(),
                        "total": total,
                        "average": average,
                        "history_days": history_days,
                        "side": side,
                    },
                )
            )
        return findings
