"""A-XDR (IEC 61334-6) pieces we decode ourselves: lengths and `Data` values.

Used where bytes come from outside a session (pushes, captures, fuzzing): every malformed
input ends in a `FrameError`, never an IndexError or a recursion error, which gurux's own
parser cannot promise. Sessions still let gurux parse GET responses, except a profile
buffer made of plain `Data` (`decode_plain_data`, about 7 times cheaper than gurux's
parser, which is half of a one-day read's client CPU).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from adapters.dlms.errors import FrameError, UnsupportedFrame

# Nesting deeper than this is no meter's data; the limit keeps hostile input from
# exhausting the stack.
MAX_DEPTH = 16


def encode_length(count: int) -> bytes:
    """A-XDR length: one octet below 128, else 0x80 | number of octets that follow."""
    if count < 0:
        raise ValueError("a length is not negative")
    if count < 0x80:
        return bytes((count,))
    size = (count.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + count.to_bytes(size, "big")


def decode_length(data: bytes, offset: int) -> tuple[int, int]:
    """(length, offset after it)."""
    if offset >= len(data):
        raise FrameError("truncated: a length is missing")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if not 1 <= size <= 4 or offset + 1 + size > len(data):
        raise FrameError(f"invalid A-XDR length octet 0x{first:02x}")
    return int.from_bytes(data[offset + 1 : offset + 1 + size], "big"), offset + 1 + size


def take(data: bytes, offset: int, count: int, what: str) -> tuple[bytes, int]:
    """`count` octets at `offset`, or a FrameError naming what was cut short."""
    end = offset + count
    if end > len(data):
        raise FrameError(f"truncated {what}: {count} octets announced, {len(data) - offset} left")
    return data[offset:end], end


@dataclass(frozen=True)
class BitString:
    bits: str  # "0101..."


# tag: (struct format, python meaning)
_FIXED: dict[int, struct.Struct] = {
    3: struct.Struct(">?"),  # boolean
    5: struct.Struct(">i"),  # double-long
    6: struct.Struct(">I"),  # double-long-unsigned
    15: struct.Struct(">b"),  # integer
    16: struct.Struct(">h"),  # long
    17: struct.Struct(">B"),  # unsigned
    18: struct.Struct(">H"),  # long-unsigned
    20: struct.Struct(">q"),  # long64
    21: struct.Struct(">Q"),  # long64-unsigned
    22: struct.Struct(">B"),  # enum
    23: struct.Struct(">f"),  # float32
    24: struct.Struct(">d"),  # float64
}
_OCTETS_FIXED = {25: 12, 26: 5, 27: 4}  # date-time, date, time: kept as raw octets
ARRAY, STRUCTURE, OCTET_STRING, VISIBLE_STRING, UTF8_STRING, BCD, BIT_STRING = (
    1,
    2,
    9,
    10,
    12,
    13,
    4,
)


def decode_data(data: bytes, offset: int = 0, depth: int = 0) -> tuple[Any, int]:
    """One `Data` value at `offset`: (value, offset after it).

    Arrays and structures become lists; octet strings, date-times, dates and times bytes;
    visible strings str; integers int; null None. Compact arrays are not decoded.
    """
    if depth > MAX_DEPTH:
        raise FrameError(f"Data nested deeper than {MAX_DEPTH} levels")
    if offset >= len(data):
        raise FrameError("truncated: a Data value is missing")
    tag = data[offset]
    offset += 1
    if tag == 0:
        return None, offset
    if tag in (ARRAY, STRUCTURE):
        count, offset = decode_length(data, offset)
        if count > len(data) - offset:  # every element takes at least one octet
            raise FrameError(f"{count} elements announced, {len(data) - offset} octets left")
        items = []
        for _ in range(count):
            item, offset = decode_data(data, offset, depth + 1)
            items.append(item)
        return items, offset
    fixed = _FIXED.get(tag)
    if fixed is not None:
        raw, offset = take(data, offset, fixed.size, f"value of type {tag}")
        return fixed.unpack(raw)[0], offset
    if tag in _OCTETS_FIXED:
        return take(data, offset, _OCTETS_FIXED[tag], f"value of type {tag}")
    if tag in (OCTET_STRING, VISIBLE_STRING, UTF8_STRING, BCD):
        if tag == BCD:
            return take(data, offset, 1, "bcd")
        count, offset = decode_length(data, offset)
        raw, offset = take(data, offset, count, "string")
        if tag == OCTET_STRING:
            return raw, offset
        try:
            return raw.decode("ascii" if tag == VISIBLE_STRING else "utf-8"), offset
        except UnicodeDecodeError:
            raise FrameError(f"string of type {tag} is not valid text") from None
    if tag == BIT_STRING:
        bits, offset = decode_length(data, offset)
        raw, offset = take(data, offset, (bits + 7) // 8, "bit-string")
        text = "".join(f"{octet:08b}" for octet in raw)[:bits]
        return BitString(text), offset
    raise UnsupportedFrame(f"Data type {tag} is not decoded here")


class NotPlainData(Exception):
    """Data `decode_plain_data` leaves to gurux: other types, malformed or trailing octets."""


# tag: (octets, signed) of the integers gurux decodes to int subclasses.
_INTEGERS: dict[int, tuple[int, bool]] = {
    5: (4, True),  # double-long
    6: (4, False),  # double-long-unsigned
    15: (1, True),  # integer
    16: (2, True),  # long
    17: (1, False),  # unsigned
    18: (2, False),  # long-unsigned
    20: (8, True),  # long64
    21: (8, False),  # long64-unsigned
    22: (1, False),  # enum
}


def decode_plain_data(data: bytes | bytearray) -> Any:
    """One whole `Data` value of arrays, structures, integers, enums, octet strings and
    nulls, equal to what gurux decodes (lists, ints, bytearrays, None); `NotPlainData` for
    anything else, so that the caller hands the same octets to gurux unchanged."""
    try:
        value, offset = _plain(data, 0, 0)
    except IndexError:
        raise NotPlainData("truncated") from None
    if offset != len(data):
        raise NotPlainData("octets after the value")
    return value


def _plain(data: bytes | bytearray, offset: int, depth: int) -> tuple[Any, int]:
    tag = data[offset]
    offset += 1
    if tag in (STRUCTURE, ARRAY):
        if depth >= MAX_DEPTH:
            raise NotPlainData("nested too deep")
        count, offset = _plain_length(data, offset)
        items = []
        for _ in range(count):
            item, offset = _plain(data, offset, depth + 1)
            items.append(item)
        return items, offset
    integer = _INTEGERS.get(tag)
    if integer is not None:
        size, signed = integer
        end = offset + size
        if end > len(data):
            raise NotPlainData("truncated integer")
        return int.from_bytes(data[offset:end], "big", signed=signed), end
    if tag == OCTET_STRING:
        count, offset = _plain_length(data, offset)
        end = offset + count
        if end > len(data):
            raise NotPlainData("truncated octet string")
        return bytearray(data[offset:end]), end
    if tag == 0:
        return None, offset
    raise NotPlainData(f"Data type {tag}")


def _plain_length(data: bytes | bytearray, offset: int) -> tuple[int, int]:
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if size not in (1, 2, 4) or offset + 1 + size > len(data):  # what gurux reads
        raise NotPlainData("invalid length")
    return int.from_bytes(data[offset + 1 : offset + 1 + size], "big"), offset + 1 + size
