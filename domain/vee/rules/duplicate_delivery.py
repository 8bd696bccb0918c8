"""Duplicate delivery: intervals delivered before, again, with the same or other values.

The same values again change nothing (a ChannelDay records nothing for them) but say the
head end or a concentrator repeats itself: always a warning. Other values for an interval
already delivered are a conflict a person may have to settle: ``severity`` (fail by
default) applies to those.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.vee.rules.batch import DeliveryBatch
from domain.vee.rules.slots import amount, intervals, missing, runs, span
from domain.vee.series import Finding, IntervalSeries, Severity, ValidationContext


@dataclass(frozen=True)
class DuplicateDeliveryParams:
    tolerance: float = 0.0  # values within this of the earlier ones count as the same
    report_identical: bool = True

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise ValueError("tolerance must be 0 or more")


@dataclass
class DuplicateDeliveryCheck:
    name = "duplicate_delivery"
    params: DuplicateDeliveryParams = field(default_factory=DuplicateDeliveryParams)
    severity: Severity = "fail"

    def screen(self, batch: DeliveryBatch) -> np.ndarray:
        earlier = batch.previously_present
        if earlier is None:
            return np.array([c.previously_delivered is not None for c in batch.contexts])
        return (~batch.missing & ~np.isnan(earlier)).any(axis=1)

    def check(self, context: ValidationContext) -> list[Finding]:
        series, earlier = context.series, context.previously_delivered
        if earlier is None or earlier.interval_minutes != series.interval_minutes:
            return []
        previous = _aligned(series, earlier)
        if previous is None:
            return []
        both = ~missing(series) & ~np.isnan(previous)
        change = np.abs(series.values - previous)
        same = both & (change <= self.params.tolerance)
        findings = [self._finding(context, run, change, "different") for run in runs(both & ~same)]
        if self.params.report_identical:
            findings += [self._finding(context, run, change, "same") for run in runs(same)]
        return findings

    def _finding(
        self, context: ValidationContext, run: tuple[int, int], change: np.ndarray, kind: str
    ) -> Finding:
        first, stop = run
        largest = float(change[first:stop].max())
        message = f"{intervals(stop - first)} {span(context.series, first, stop)} delivered again"
        if kind == "same":
            message += " with the same values"
            suggestion = "nothing to correct; check why the head end delivered them twice"
        else:
            message += f" with other values (largest change {amount(largest, context.unit)})"
            suggestion = "re-read the meter's load profile and keep the values it confirms"
        return Finding(
            rule=self.name,
            severity="warn" if kind == "same" else self.severity,
            slots=tuple(range(first, stop)),
            message=message,
            suggestion=suggestion,
            detail={"values": kind, "largest_change": largest},
        )


def _aligned(series: IntervalSeries, earlier: IntervalSeries) -> np.ndarray | None:
    """The earlier values slot by slot with ``series`` (NaN where none); None when the two
    do not share interval boundaries."""
    offset = (series.start - earlier.start) / series.step
    if offset != int(offset):
        return None
    shift = int(offset)
    previous = np.full(len(series), np.nan)
    first, stop = max(0, -shift), min(len(series), len(earlier) - shift)
    if first < stop:
        previous[first:stop] = np.where(missing(earlier), np.nan, earlier.values)[
            first + shift : stop + shift
        ]
    return previous
