"""Effective-dated values: what a field held from which day on.

A timeline is a JSON-stable list of ``[effective_from_iso, value]`` pairs sorted by
date, so it survives snapshots unchanged. Entries are never dropped: a change adds or
replaces the entry starting on its day, a correction rewrites the value of the entry
whose period it names. That is what keeps critical parameters (CT/PT ratios,
multipliers, formulas) for every day they were in force.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date
from operator import itemgetter
from typing import Any

Timeline = list[list[Any]]
_START = itemgetter(0)


def value_on(timeline: Timeline, day: date) -> Any:
    """The value in force on ``day``; None before the first entry."""
    index = bisect_right(timeline, day.isoformat(), key=_START) - 1
    return timeline[index][1] if index >= 0 else None


def period_start(timeline: Timeline, day: date) -> str | None:
    """The effective-from date of the entry in force on ``day``."""
    index = bisect_right(timeline, day.isoformat(), key=_START) - 1
    return timeline[index][0] if index >= 0 else None


def with_change(timeline: Timeline, effective_from: date, value: Any) -> Timeline:
    """The value holds from ``effective_from`` until the next entry already recorded."""
    # Replaying n changes must stay linear-ish: insert in place, no re-sort.
    key = effective_from.isoformat()
    index = bisect_left(timeline, key, key=_START)
    entries = list(timeline)
    if index < len(entries) and entries[index][0] == key:
        entries[index] = [key, value]
    else:
        entries.insert(index, [key, value])
    return entries


def with_correction(timeline: Timeline, effective_on: date, value: Any) -> Timeline:
    """The entry in force on ``effective_on`` held ``value`` all along.

    A correction does not open a new period: it says the recorded value was wrong for
    the whole period, so the period keeps its start date.
    """
    start = period_start(timeline, effective_on)
    if start is None:
        return with_change(timeline, effective_on, value)
    return [[entry[0], value] if entry[0] == start else entry for entry in timeline]
