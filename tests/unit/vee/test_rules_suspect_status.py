"""Meter status flags that make interval data suspect."""

from __future__ import annotations

import numpy as np
import pytest

from domain.vee.rules import SuspectStatusCheck, SuspectStatusParams
from domain.vee.series import ValidationContext
from tests.unit.vee import interval_series

POWER_DOWN, DATA_NOT_VALID, DAYLIGHT_SAVING, CLOCK_ADJUSTED = 0x80, 0x04, 0x08, 0x20


def flagged(statuses: list[int], rule: SuspectStatusCheck | None = None) -> list:
    series = interval_series(np.full(len(statuses), 0.25), statuses=statuses)
    return (rule or SuspectStatusCheck()).check(ValidationContext(series))


def test_intervals_without_suspect_flags_pass() -> None:
    assert flagged([0, DAYLIGHT_SAVING, CLOCK_ADJUSTED, 0]) == []


def test_a_power_down_flag_fires_with_its_name() -> None:
    [finding] = flagged([0, POWER_DOWN, POWER_DOWN, 0])

    assert finding.slots == (1, 2)
    assert finding.message == "2 intervals flagged power down from 2026-03-02 00:15 to 00:45 UTC"
    assert finding.detail == {"status_bits": 0x80, "flags": "power down"}


def test_a_run_is_split_where_the_suspect_flags_change() -> None:
    findings = flagged([POWER_DOWN, POWER_DOWN | DATA_NOT_VALID, DATA_NOT_VALID, 0])

    assert [finding.slots for finding in findings] == [(0,), (1,), (2,)]
    assert findings[1].detail["flags"] == "data not valid, power down"


def test_flags_outside_the_mask_do_not_split_or_fire() -> None:
    findings = flagged([POWER_DOWN, POWER_DOWN | DAYLIGHT_SAVING, POWER_DOWN])

    assert [finding.slots for finding in findings] == [(0, 1, 2)]


def test_the_mask_is_a_parameter() -> None:
    only_invalid_data = SuspectStatusCheck(SuspectStatusParams(status_mask=DATA_NOT_VALID))

    assert flagged([POWER_DOWN, 0], only_invalid_data) == []
    assert len(flagged([DATA_NOT_VALID, 0], only_invalid_data)) == 1


def test_every_default_suspect_bit_fires() -> None:
    assert [finding.detail["flags"] for finding in flagged([0x01, 0, 0x02, 0, 0x04, 0, 0x80])] == [
        "critical error",
        "clock invalid",
        "data not valid",
        "power down",
    ]


def test_a_mask_outside_a_status_byte_is_refused() -> None:
    with pytest.raises(ValueError, match="bit mask"):
        SuspectStatusParams(status_mask=0x100)
