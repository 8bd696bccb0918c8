"""Which slots hold a value an estimate may lean on, and how far a gap reaches."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from domain.reading_quality import ReadingQuality

# Nothing was delivered, or validation rejected what was: such a value is no evidence.
UNKNOWN_QUALITIES = np.array([ReadingQuality.MISSING, ReadingQuality.FAILED], dtype=np.uint8)
_MISSING, _FAILED = int(ReadingQuality.MISSING), int(ReadingQuality.FAILED)  # plain ints: faster


def known_mask(values: np.ndarray, qualities: np.ndarray) -> np.ndarray:
    """Slots with a usable value: delivered, edited, accepted or already estimated."""
    # Two comparisons, not np.isin: this runs for every delivery, and isin costs ~20 us.
    unknown = (qualities == _MISSING) | (qualities == _FAILED)
    return np.isfinite(values) & ~unknown


def actual_mask(values: np.ndarray, qualities: np.ndarray) -> np.ndarray:
    """Known slots that are measurements (or a person's values), not earlier estimates."""
    return known_mask(values, qualities) & (qualities != ReadingQuality.ESTIMATED)


def slot_indexes(slots: Sequence[int], length: int) -> np.ndarray:
    """The slots as an index array; an empty, repeated or out-of-range slot is a caller's bug."""
    chosen = np.asarray(slots, dtype=np.int64)
    if chosen.ndim != 1 or chosen.size == 0:
        raise ValueError("no slots to estimate")
    if chosen.min() < 0 or chosen.max() >= length:
        raise ValueError(f"slots outside the series of {length} intervals")
    if np.unique(chosen).size != chosen.size:
        raise ValueError("a slot is named twice")
    return chosen


def neighbours(known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every slot, the nearest known slot at or before it (-1: none) and at or after
    it (len: none)."""
    length = len(known)
    index = np.arange(length)
    before = np.maximum.accumulate(np.where(known, index, -1))
    after = np.minimum.accumulate(np.where(known, index, length)[::-1])[::-1]
    return before, after


def gap_lengths(known: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """For each chosen slot, how many consecutive unknown slots its gap has. The gap runs
    to the series' edge when no known value closes it."""
    before, after = neighbours(known)
    return after[chosen] - before[chosen] - 1
