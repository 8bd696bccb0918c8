"""System status of an interval value (meter status bits are kept separately)."""

from __future__ import annotations

from enum import IntEnum


class ReadingQuality(IntEnum):
    MISSING = 0
    RAW = 1
    VALIDATED = 2
    FAILED = 3
    ESTIMATED = 4
    EDITED = 5
    ACCEPTED = 6


# Meter status bits of the DLMS AMR profile status (0.0.96.10.1.255) and the like.
METER_STATUS_BITS = {
    0x01: "critical error",
    0x02: "clock invalid",
    0x04: "data not valid",
    0x08: "daylight saving",
    0x20: "clock adjusted",
    0x80: "power down",
}
