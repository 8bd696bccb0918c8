"""COSEM values for schedules and calendars, built from a command's plain parameters:
single action schedule execution times (class 22 attribute 4), the passive activity
calendar (class 20 attributes 6-10) and a push object list (class 40 attribute 2).

Malformed parameters raise ValueError naming what is wrong; nothing here talks to a meter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.dlms.cosem_datetime import encode_cosem_datetime
from adapters.dlms.typed_data import (
    Array,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
)

# Script run at each switch time of a day profile: the tariffication script table.
TARIFF_SCRIPT_TABLE = bytes((0, 0, 10, 0, 100, 255))
EVERY_DAY = bytes((0xFF, 0xFF, 0xFF, 0xFF, 0xFF))  # date with every field a wildcard
# Season start "every 1 January, 00:00", deviation not specified.
EVERY_FIRST_OF_JANUARY = bytes.fromhex("ffff0101ff000000ff800000")


def time_of_day(text: str) -> bytes:
    """COSEM time (hour, minute, second, hundredths) of "HH:MM"."""
    hours, minutes = (int(part) for part in text.split(":"))
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return bytes((hours, minutes, 0, 0))


def monthly_execution(day_of_month: int) -> Array:
    """Midnight of `day_of_month` in every month of every year (the billing date)."""
    every_month = bytes((0xFF, 0xFF, 0xFF, day_of_month, 0xFF))
    return Array([Structure([OctetString(time_of_day("00:00")), OctetString(every_month)])])


def daily_execution(times: Sequence[str]) -> Array:
    return Array(
        [Structure([OctetString(time_of_day(at)), OctetString(EVERY_DAY)]) for at in times]
    )


def execution_at(moment: dt.datetime) -> Array:
    """One execution at `moment` (UTC): date and time given in full."""
    utc = moment.astimezone(dt.UTC)
    clock = bytes((utc.hour, utc.minute, utc.second, 0))
    date = utc.year.to_bytes(2, "big") + bytes((utc.month, utc.day, 0xFF))
    return Array([Structure([OctetString(clock), OctetString(date)])])


@dataclass(frozen=True)
class PassiveCalendar:
    """Attributes 6-10 of the activity calendar: one season, one week, one day profile."""

    name: bytes
    seasons: Array
    weeks: Array
    days: Array
    activation: dt.datetime
    switch_points: int

    def attributes(self) -> list[tuple[int, OctetString | Array]]:
        return [
            (6, OctetString(self.name)),  # octet strings must be bytes (gurux reads str as hex)
            (7, self.seasons),
            (8, self.weeks),
            (9, self.days),
            (10, OctetString(encode_cosem_datetime(self.activation))),
        ]


def passive_calendar(
    switches: Sequence[Mapping[str, Any]], activate_on: dt.date
) -> PassiveCalendar:
    """`switches`: [{"start": "00:00", "tariff": 1}, {"start": "07:00", "tariff": 2}], the
    switch points of one day profile used every day, active from `activate_on` (UTC)."""
    try:
        points = sorted((time_of_day(str(item["start"])), int(item["tariff"])) for item in switches)
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed switch point ({error})") from None
    if not points or points[0][0] != time_of_day("00:00"):
        raise ValueError("the first switch point must start at 00:00")
    if not all(1 <= tariff <= 0xFFFF for _start, tariff in points):
        raise ValueError("tariffs are numbered from 1")
    actions = [
        Structure([OctetString(start), OctetString(TARIFF_SCRIPT_TABLE), LongUnsigned(tariff)])
        for start, tariff in points
    ]
    season = Structure(
        [OctetString(b"S1"), OctetString(EVERY_FIRST_OF_JANUARY), OctetString(b"W1")]
    )
    return PassiveCalendar(
        name=f"HES{activate_on:%y%m%d}".encode("ascii"),
        seasons=Array([season]),
        weeks=Array([Structure([OctetString(b"W1"), *[Unsigned(1)] * 7])]),
        days=Array([Structure([Unsigned(1), Array(actions)])]),
        activation=dt.datetime(activate_on.year, activate_on.month, activate_on.day, tzinfo=dt.UTC),
        switch_points=len(points),
    )


def push_object_list(objects: Sequence[Mapping[str, Any]]) -> Array:
    """[{"class_id": 3, "logical_name": "1.0.1.8.0.255", "attribute": 2}, ...]"""
    try:
        return Array(
            [
                Structure(
                    [
                        LongUnsigned(int(item["class_id"])),
                        OctetString(logical_name(str(item["logical_name"]))),
                        Integer(int(item.get("attribute", 2))),
                        LongUnsigned(0),  # data index: the whole attribute
                    ]
                )
                for item in objects
            ]
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed push object ({error})") from None


def logical_name(text: str) -> bytes:
    parts = [int(part) for part in text.split(".")]
    if len(parts) != 6 or not all(0 <= part <= 255 for part in parts):
        raise ValueError(f"{text!r} is not a logical name a.b.c.d.e.f")
    return bytes(parts)
