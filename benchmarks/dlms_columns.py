"""What more energy columns in one load profile cost the client: one day's buffer (97 rows:
clock, status and n interval-energy registers) parsed as a session parses a buffer
(`get_service.decode_value`) and decoded exactly by `profile_buffer`, as a multi-channel
read would, timed in this process."""

from __future__ import annotations

import datetime as dt
import struct
import time

from gurux_dlms import GXDLMSClient
from gurux_dlms.enums import Authentication, InterfaceType

from adapters.dlms.cosem_datetime import encode_cosem_datetime
from adapters.dlms.get_service import decode_value
from adapters.dlms.profile_buffer import BufferColumn, decode_buffer

ROWS = 97  # a range read of one day returns both ends
PERIOD = dt.timedelta(minutes=15)


def day_buffer(energy_columns: int) -> bytes:
    start = dt.datetime(2026, 3, 9, tzinfo=dt.UTC)
    out = bytearray((0x01, ROWS))
    for row in range(ROWS):
        out += bytes((0x02, 2 + energy_columns, 0x09, 12))
        out += encode_cosem_datetime(start + row * PERIOD) + bytes((0x11, 0))
        for column in range(energy_columns):
            out += struct.pack(">BI", 0x06, 1000 + 37 * row + column)
    return bytes(out)


def layout(energy_columns: int) -> list[BufferColumn]:
    return [
        BufferColumn("0.0.1.0.0.255", "clock"),
        BufferColumn("0.0.96.10.1.255", "status"),
        *(BufferColumn(f"1.0.{n}.29.0.255", "register", -1) for n in range(energy_columns)),
    ]


def extra_column_cost_ms(channels: int, repeat: int = 200) -> float:
    """CPU ms that `channels` energy columns cost over one, per day's buffer: the fastest
    of `repeat` parses of each, taken in turn, as others' load only ever adds time."""
    settings = GXDLMSClient(True, 1, 1, Authentication.NONE, None, InterfaceType.PDU).settings
    cases = [(day_buffer(1), layout(1)), (day_buffer(channels), layout(channels))]
    times: list[list[float]] = [[], []]
    for _ in range(repeat):
        for (buffer, columns), spent in zip(cases, times, strict=True):
            began = time.process_time()
            decode_buffer(decode_value(settings, buffer), columns, PERIOD)
            spent.append(time.process_time() - began)
    one, many = (min(spent) for spent in times)
    return 1000 * max(0.0, many - one)


def extra_blocks(channels: int, max_pdu_size: int = 1024) -> int:
    """More GET blocks a day of `channels` columns takes than a day of one, at the PDU
    size of the simulated meters (a block carries the PDU less its 12-octet header)."""
    block = max_pdu_size - 12
    return -(-len(day_buffer(channels)) // block) - -(-len(day_buffer(1)) // block)
