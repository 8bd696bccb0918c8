"""Billed estimates are locked: replaced only on purpose, with a reason that is recorded.

An estimate that went into a bill is what the customer paid for; changing it silently
would make the bill unexplainable. The Readings application uses the rule in two ways:

- a meter delivery or a scheduled VEE run (``replacing=False``) never replaces a billed
  estimate: it gets the mask of locked slots and holds them (``ChannelDay.record`` keeps
  the delivered value as raw and lists the slots in ``IntervalsRecorded.held_slots``);
- a person's re-estimation or edit (``replacing=True``) goes through only with an
  ``override_reason``, which belongs in the recorded event's provenance; without one,
  ``EstimateLocked`` (HTTP 409) tells the user why.

Estimation plans never meet a billed estimate themselves: gaps are missing or failed
slots, and a billed slot is estimated.
"""

from __future__ import annotations

import numpy as np

from domain.reading_quality import ReadingQuality


class EstimateLocked(ValueError):
    """Billed estimates would be replaced without a stated reason."""


def billed_estimates(slot_qualities: np.ndarray, billed_mask: np.ndarray) -> np.ndarray:
    """Slots holding an estimate that was billed (a billed measured value is not locked
    here: replacing measured data is an edit, which always carries a reason)."""
    qualities = np.asarray(slot_qualities)
    billed = np.asarray(billed_mask, dtype=bool)
    if qualities.shape != billed.shape:
        raise ValueError(f"{qualities.shape} qualities but {billed.shape} billed flags")
    return billed & (qualities == ReadingQuality.ESTIMATED)


def check_replacement_allowed(
    slot_qualities: np.ndarray,
    billed_mask: np.ndarray,
    replacing: bool,
    override_reason: str | None,
) -> np.ndarray:
    """The mask of locked slots. Raises ``EstimateLocked`` when a replacement would touch one
    without an override reason; an automatic write (``replacing=False``) gets the mask to
    hold those slots back instead."""
    locked = billed_estimates(slot_qualities, billed_mask)
    has_reason = bool(override_reason and override_reason.strip())
    if replacing and locked.any() and not has_reason:
        raise EstimateLocked(
            f"{int(locked.sum())} estimated intervals were billed; replacing them needs a reason"
        )
    return locked
