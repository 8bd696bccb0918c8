"""The event logs a meter keeps (Profile generic, class 7: capture time and event code) and
what their codes mean, numbered as IDIS numbers them. Shared by the HES, which names the
events it reads, and the simulated meters, which record them.

Each log captures the clock (0.0.1.0.0.255 attribute 2) and its event code object
(0.0.96.11.x.255, Data, attribute 2, unsigned), the code of the last event logged there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class EventLog:
    name: str  # how commands and results call it
    logical_name: str  # the profile generic
    event_code: str  # the event code object captured with the clock


STANDARD: Final = EventLog("standard", "0.0.99.98.0.255", "0.0.96.11.0.255")
FRAUD: Final = EventLog("fraud", "0.0.99.98.1.255", "0.0.96.11.1.255")  # tamper
DISCONNECTOR: Final = EventLog("disconnector", "0.0.99.98.2.255", "0.0.96.11.2.255")
POWER_QUALITY: Final = EventLog("power_quality", "0.0.99.98.4.255", "0.0.96.11.4.255")

EVENT_LOGS: Final = {log.name: log for log in (STANDARD, FRAUD, DISCONNECTOR, POWER_QUALITY)}


class EventCode(enum.IntEnum):
    """The codes the simulated meters log; a real meter may log any of `EVENT_NAMES`."""

    POWER_DOWN = 1
    POWER_UP = 2
    CLOCK_ADJUSTED_OLD_TIME = 4
    CLOCK_ADJUSTED_NEW_TIME = 5
    TERMINAL_COVER_REMOVED = 40
    TERMINAL_COVER_CLOSED = 41
    STRONG_DC_FIELD_DETECTED = 42
    NO_STRONG_DC_FIELD_ANYMORE = 43
    METER_COVER_REMOVED = 44
    METER_COVER_CLOSED = 45
    GLOBAL_KEYS_CHANGED = 48
    DECRYPTION_FAILURE = 49  # decryption or authentication failure
    READY_FOR_MANUAL_RECONNECTION = 59
    MANUAL_CONNECTION = 61
    REMOTE_DISCONNECTION = 62
    REMOTE_CONNECTION = 63
    UNDERVOLTAGE_L1 = 76  # L2, L3: + 1, + 2
    OVERVOLTAGE_L1 = 79
    MISSING_VOLTAGE_L1 = 82
    VOLTAGE_NORMAL_L1 = 85


EVENT_NAMES: Final[dict[int, str]] = {
    1: "power down",
    2: "power up",
    3: "daylight saving time enabled or disabled",
    4: "clock adjusted (old date/time)",
    5: "clock adjusted (new date/time)",
    6: "clock invalid",
    7: "replace battery",
    8: "battery voltage low",
    9: "TOU activated",
    10: "error register cleared",
    11: "alarm register cleared",
    12: "program memory error",
    13: "RAM error",
    14: "NV memory error",
    15: "watchdog error",
    16: "measurement system error",
    17: "firmware ready for activation",
    18: "firmware activated",
    19: "passive TOU programmed",
    40: "terminal cover removed",
    41: "terminal cover closed",
    42: "strong DC field detected",
    43: "no strong DC field anymore",
    44: "meter cover removed",
    45: "meter cover closed",
    46: "association authentication failure",
    47: "one or more parameters changed",
    48: "global key(s) changed",
    49: "decryption or authentication failure",
    50: "replay attack",
    51: "firmware verification failed",
    59: "disconnector ready for manual reconnection",
    60: "manual disconnection",
    61: "manual connection",
    62: "remote disconnection",
    63: "remote connection",
    64: "local disconnection",
    65: "limiter threshold exceeded",
    66: "limiter threshold ok",
    67: "limiter threshold changed",
    68: "disconnect/reconnect failure",
    69: "local reconnection",
    70: "supervision monitor 1 threshold exceeded",
    71: "supervision monitor 1 threshold ok",
    72: "supervision monitor 2 threshold exceeded",
    73: "supervision monitor 2 threshold ok",
    74: "supervision monitor 3 threshold exceeded",
    75: "supervision monitor 3 threshold ok",
    76: "undervoltage L1",
    77: "undervoltage L2",
    78: "undervoltage L3",
    79: "overvoltage L1",
    80: "overvoltage L2",
    81: "overvoltage L3",
    82: "missing voltage L1",
    83: "missing voltage L2",
    84: "missing voltage L3",
    85: "voltage L1 normal",
    86: "voltage L2 normal",
    87: "voltage L3 normal",
    88: "phase sequence reversal",
    89: "missing neutral",
    254: "load profile cleared",
    255: "event log cleared",
}


def event_name(code: int) -> str:
    return EVENT_NAMES.get(code, f"manufacturer-specific event {code}")
