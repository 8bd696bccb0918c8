from __future__ import annotations

import numpy as np
import pytest

from domain.reading_quality import ReadingQuality
from domain.vee.estimation import EstimateLocked, billed_estimates, check_replacement_allowed

ESTIMATED, VALIDATED, MISSING = (
    ReadingQuality.ESTIMATED,
    ReadingQuality.VALIDATED,
    ReadingQuality.MISSING,
)
QUALITIES = np.array([VALIDATED, ESTIMATED, ESTIMATED, MISSING], dtype=np.uint8)
BILLED = np.array([True, True, False, False])


def test_replacing_a_billed_estimate_without_a_reason_is_refused() -> None:
    with pytest.raises(EstimateLocked, match="1 estimated intervals were billed"):
        check_replacement_allowed(QUALITIES, BILLED, replacing=True, override_reason=None)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_blank_reason_is_no_reason(reason: str) -> None:
    with pytest.raises(EstimateLocked):
        check_replacement_allowed(QUALITIES, BILLED, replacing=True, override_reason=reason)


def test_with_an_override_reason_the_billed_estimate_may_be_replaced() -> None:
    locked = check_replacement_allowed(
        QUALITIES, BILLED, replacing=True, override_reason="field read shows the meter stopped"
    )

    assert np.array_equal(locked, [False, True, False, False])


def test_an_automatic_write_is_told_which_slots_to_hold_and_never_refused() -> None:
    locked = check_replacement_allowed(QUALITIES, BILLED, replacing=False, override_reason=None)

    assert np.array_equal(locked, [False, True, False, False])


def test_unbilled_estimates_and_billed_measured_values_are_not_locked() -> None:
    qualities = np.array([VALIDATED, ESTIMATED], dtype=np.uint8)

    locked = check_replacement_allowed(
        qualities, np.array([True, False]), replacing=True, override_reason=None
    )

    assert not locked.any()


def test_qualities_and_billed_flags_must_cover_the_same_slots() -> None:
    with pytest.raises(ValueError, match="billed flags"):
        billed_estimates(QUALITIES, BILLED[:3])


def test_the_lock_is_a_value_error_for_callers_that_map_those_to_a_refusal() -> None:
    assert issubclass(EstimateLocked, ValueError)
