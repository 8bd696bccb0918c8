"""COSEM date-time (12 octets, Blue Book 4.1.6.1) to and from aware datetimes.

We encode and decode it ourselves: gurux's GXDateTime turns naive values into local time and
cannot say "not specified" per field, and a HES must never guess a time zone silently.
"""

from __future__ import annotations

import datetime as dt
import struct

from adapters.dlms.errors import FrameError

COSEM_DATETIME_LENGTH = 12
_NOT_SPECIFIED_DEVIATION = -0x8000  # 0x8000 as int16
_LAYOUT = struct.Struct(">HBBBBBBBhB")


def encode_cosem_datetime(moment: dt.datetime) -> bytes:
    """Encode an aware datetime as UTC with deviation 0 and clock status OK.

    The simulated meters keep their clock in UTC; deviation and daylight saving come with
    the time-zone issue.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("COSEM date-times are encoded from aware datetimes only")
    utc = moment.astimezone(dt.UTC)
    return _LAYOUT.pack(
        utc.year,
        utc.month,
        utc.day,
        utc.isoweekday(),  # 1 = Monday ... 7 = Sunday, as COSEM counts
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond // 10_000,
        0,
        0,
    )


def decode_cosem_datetime(raw: bytes | bytearray | None) -> dt.datetime | None:
    """An aware UTC datetime, or None for a null value (compact profile rows).

    The deviation is read as the Blue Book defines it: minutes to add to local time to get
    UTC. An unspecified deviation is taken as UTC, which is what our meters' clocks are; a
    meter with local clocks needs its time zone from configuration (a later issue).
    """
    if raw is None:
        return None
    if not isinstance(raw, bytes | bytearray):
        raise FrameError(f"a COSEM date-time is an octet string, got {type(raw).__name__}")
    if len(raw) != COSEM_DATETIME_LENGTH:
        raise FrameError(f"a COSEM date-time has 12 octets, got {len(raw)}")
    year, month, day, _weekday, hour, minute, second, hundredths, deviation, _status = (
        _LAYOUT.unpack(bytes(raw))
    )
    if year == 0xFFFF or 0xFF in (month, day, hour, minute):
        raise FrameError("date-time with unspecified fields is not a point in time")
    second = 0 if second == 0xFF else second
    hundredths = 0 if hundredths == 0xFF else hundredths
    try:
        local = dt.datetime(year, month, day, hour, minute, second, hundredths * 10_000)
    except ValueError as error:
        raise FrameError(f"invalid COSEM date-time: {error}") from None
    if deviation == _NOT_SPECIFIED_DEVIATION:
        deviation = 0
    return (local + dt.timedelta(minutes=deviation)).replace(tzinfo=dt.UTC)
