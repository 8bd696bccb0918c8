"""Many deliveries as one matrix, one row each, for rules that screen them all at once.

A rule's ``check`` costs tens of microseconds a delivery, nearly all of it numpy's
per-call overhead on a day's 96 values; a bulk ingest runs every rule on hundreds of
deliveries, most of which pass. A rule's ``screen(batch)`` asks the rule's question of
every row in a few numpy calls and answers, per row, whether ``check`` could find
anything there. A screen may say "could" wrongly, never "could not": the rows it clears
are ones ``check`` finds nothing in (tests/unit/vee/test_rules_screens.py holds every
screen to that), and the others still go through ``check``, so findings are always the
rule's own.

Only contexts whose series share interval length and slot count make a batch; arrays
are built on first use, so a batch pays only for what its rules look at.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property

import numpy as np

from domain.reading_quality import ReadingQuality
from domain.vee.series import IntervalSeries, ValidationContext

MINUTES_PER_DAY = 1440
_MISSING = int(ReadingQuality.MISSING)


class DeliveryBatch:
    """``history_totals`` (rows, days): each row's history as daily usage only (NaN: a day
    not complete), for contexts built without their history."""

    def __init__(
        self, contexts: Sequence[ValidationContext], history_totals: np.ndarray | None = None
    ) -> None:
        first = contexts[0].series
        if any(
            len(c.series) != len(first) or c.series.interval_minutes != first.interval_minutes
            for c in contexts
        ):
            raise ValueError("a batch's series must share interval length and slot count")
        self.contexts = contexts
        self.history_totals = history_totals
        self.interval_minutes = first.interval_minutes
        self.length = len(first)

    def __len__(self) -> int:
        return len(self.contexts)

    def everywhere(self) -> np.ndarray:
        """Every row "could": what a screen answers when it cannot tell."""
        return np.ones(len(self), dtype=bool)

    @cached_property
    def values(self) -> np.ndarray:
        return np.stack([c.series.values for c in self.contexts]).astype(np.float64, copy=False)

    @cached_property
    def statuses(self) -> np.ndarray:
        return np.stack([c.series.statuses for c in self.contexts]).astype(np.uint8, copy=False)

    @cached_property
    def missing(self) -> np.ndarray:
        """As ``slots.missing``: NaN, or a quality that says missing."""
        qualities = np.stack([c.series.qualities for c in self.contexts])
        return np.isnan(self.values) | (qualities == _MISSING)

    @cached_property
    def present(self) -> np.ndarray:
        """As ``slots.present_values``: NaN wherever a slot is missing."""
        return np.where(self.missing, np.nan, self.values)

    @cached_property
    def days(self) -> np.ndarray | None:
        """``present`` laid out as ``days.daily_grid`` lays out each row: (rows, days, slots
        a day); None unless every series starts at the same whole slot of its day."""
        lead = _common_lead([c.series for c in self.contexts])
        if lead is None:
            return None
        return _by_day(self.present, lead, self.interval_minutes)

    @cached_property
    def history_days(self) -> np.ndarray | None:
        """Each row's history as ``days.daily_values`` gives it (rows, days, slots a day);
        None unless every history exists and all share length and first slot of day."""
        histories = [c.history for c in self.contexts]
        if any(h is None or len(h) == 0 for h in histories):
            return None
        known = [h for h in histories if h is not None]
        if any(
            len(h) != len(known[0]) or h.interval_minutes != self.interval_minutes for h in known
        ):
            return None
        lead = _common_lead(known)
        if lead is None:
            return None
        values = np.stack([h.values for h in known]).astype(np.float64, copy=False)
        qualities = np.stack([h.qualities for h in known])
        present = np.where(np.isnan(values) | (qualities == _MISSING), np.nan, values)
        return _by_day(present, lead, self.interval_minutes)

    @cached_property
    def history_usage(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per row, the mean total of the history's complete days and how many there are
        (as ``historical_usage`` counts them); None when the histories do not batch."""
        if self.history_totals is not None:
            known = ~np.isnan(self.history_totals)
            sums = np.where(known, self.history_totals, 0.0).sum(axis=1)
        else:
            past = self.history_days
            if past is None:
                return None
            known = ~np.isnan(past).any(axis=2)
            sums = np.where(known, past.sum(axis=2), 0.0).sum(axis=1)
        count = known.sum(axis=1)
        return sums / np.maximum(count, 1), count

    @cached_property
    def previously_present(self) -> np.ndarray | None:
        """Each row's earlier delivered values slot by slot (NaN where none or missing);
        None unless every row has them over exactly its own slots."""
        earlier = [c.previously_delivered for c in self.contexts]
        if any(
            e is None
            or e.start != c.series.start
            or len(e) != self.length
            or e.interval_minutes != self.interval_minutes
            for e, c in zip(earlier, self.contexts, strict=True)
        ):
            return None
        known = [e for e in earlier if e is not None]
        values = np.stack([e.values for e in known]).astype(np.float64, copy=False)
        qualities = np.stack([e.qualities for e in known])
        return np.where(np.isnan(values) | (qualities == _MISSING), np.nan, values)

    def counts(self, what: str) -> np.ndarray:
        """How many outages or disconnections each row's context carries."""
        return np.array([len(getattr(c, what)) for c in self.contexts])


def _common_lead(series: Sequence[IntervalSeries]) -> int | None:
    """Slots before each series on its first UTC day, when it is one whole number for all."""
    leads = {_lead(s) for s in series}
    return leads.pop() if len(leads) == 1 else None


def _lead(series: IntervalSeries) -> int | None:
    start = series.start.astimezone(UTC)
    midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
    minutes = (start - midnight) / timedelta(minutes=1)
    interval = series.interval_minutes
    if MINUTES_PER_DAY % interval or minutes % interval:
        return None
    return int(minutes) // interval


def _by_day(rows: np.ndarray, lead: int, interval_minutes: int) -> np.ndarray:
    width = MINUTES_PER_DAY // interval_minutes
    count, length = rows.shape
    day_count = -(-(lead + length) // width) if length else 0
    grid = np.full((count, day_count * width), np.nan)
    grid[:, lead : lead + length] = rows
    return grid.reshape(count, day_count, width)
