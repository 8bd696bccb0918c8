"""Typed A-XDR `Data` values the HES sends in SET and ACTION requests.

gurux's encoder guesses a type from the Python value (an int becomes whatever it picks,
a str is parsed as hex for octet strings); a SET must carry exactly the type the meter's
attribute has, so values are built from these small typed pieces and encoded here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from adapters.dlms.axdr import encode_length
from adapters.dlms.cosem_datetime import encode_cosem_datetime


class TypedValue:
    """A value with its A-XDR type; `encode()` gives the tagged bytes."""

    def encode(self) -> bytes:
        raise NotImplementedError


@dataclass(frozen=True)
class Null(TypedValue):
    def encode(self) -> bytes:
        return b"\x00"


@dataclass(frozen=True)
class Boolean(TypedValue):
    value: bool

    def encode(self) -> bytes:
        return bytes((3, 0xFF if self.value else 0))


@dataclass(frozen=True)
class _Unsigned(TypedValue):
    value: int
    _tag = 0
    _size = 1

    def encode(self) -> bytes:
        if not 0 <= self.value < 1 << (8 * self._size):
            raise ValueError(f"{self.value} does not fit {type(self).__name__}")
        return bytes((self._tag,)) + self.value.to_bytes(self._size, "big")


class Unsigned(_Unsigned):
    _tag, _size = 17, 1


class LongUnsigned(_Unsigned):
    _tag, _size = 18, 2


class DoubleLongUnsigned(_Unsigned):
    _tag, _size = 6, 4


class Enum(_Unsigned):
    _tag, _size = 22, 1


@dataclass(frozen=True)
class Integer(TypedValue):
    value: int

    def encode(self) -> bytes:
        return bytes((15,)) + self.value.to_bytes(1, "big", signed=True)


@dataclass(frozen=True)
class OctetString(TypedValue):
    value: bytes

    def encode(self) -> bytes:
        return bytes((9,)) + encode_length(len(self.value)) + bytes(self.value)


@dataclass(frozen=True)
class DateTime(TypedValue):
    """A date-time sent as a 12-octet octet string, as meters store them."""

    value: dt.datetime

    def encode(self) -> bytes:
        return OctetString(encode_cosem_datetime(self.value)).encode()


@dataclass(frozen=True)
class Structure(TypedValue):
    items: Sequence[TypedValue]

    def encode(self) -> bytes:
        return bytes((2,)) + _elements(self.items)


@dataclass(frozen=True)
class Array(TypedValue):
    items: Sequence[TypedValue]

    def encode(self) -> bytes:
        return bytes((1,)) + _elements(self.items)


def _elements(items: Sequence[TypedValue]) -> bytes:
    return encode_length(len(items)) + b"".join(item.encode() for item in items)
