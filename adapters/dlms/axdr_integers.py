"""Integer A-XDR values of any integer type, for attributes whose type is the meter's
choice (a register monitor's thresholds take the type of the value they monitor)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from adapters.dlms.typed_data import TypedValue

# type tag -> struct format: integer, long, double-long, long64 and their unsigned kinds.
INTEGER_FORMATS = {15: ">b", 16: ">h", 5: ">i", 20: ">q", 17: ">B", 18: ">H", 6: ">I", 21: ">Q"}


@dataclass(frozen=True)
class TaggedInteger(TypedValue):
    data_type: int
    value: int

    def __post_init__(self) -> None:
        if self.data_type not in INTEGER_FORMATS:
            raise ValueError(f"type {self.data_type} is not an integer type")
        try:
            struct.pack(INTEGER_FORMATS[self.data_type], self.value)
        except struct.error:
            raise ValueError(f"{self.value} does not fit type {self.data_type}") from None

    def encode(self) -> bytes:
        return bytes((self.data_type,)) + struct.pack(INTEGER_FORMATS[self.data_type], self.value)
