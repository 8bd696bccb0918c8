"""Decoding a load-profile buffer into rows of (timestamp, status, energy in Wh).

Scaling is exact: the raw integer times 10**scaler as a Decimal. gurux applies scalers as
floats (1517 x 0.001 = 1.5170000000000001), which billing cannot use, so its
`updateValue()` is never called on the buffer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from adapters.dlms import obis
from adapters.dlms.cosem_datetime import decode_cosem_datetime
from adapters.dlms.errors import FrameError, UnexpectedProfileLayout

UNIT_WH = 30  # COSEM unit enumeration: active energy, Wh


class ProfileRow(NamedTuple):
    """One load-profile interval. `timestamp` is the capture time, i.e. the END of the
    interval, in UTC; `status` is the AMR profile status (0 = no event)."""

    timestamp: dt.datetime
    status: int
    energy_wh: Decimal


@dataclass(frozen=True)
class ProfileColumns:
    """Where the HES's three values sit in a row, from capture objects (attribute 3)."""

    clock: int
    status: int | None
    energy: int
    energy_logical_name: str

    @classmethod
    def from_capture_objects(cls, capture_objects: Any) -> ProfileColumns:
        positions: dict[tuple[int, str, int], int] = {}
        try:
            for index, (class_id, logical_name, attribute, _data_index) in enumerate(
                capture_objects
            ):
                positions[(int(class_id), _logical_name(logical_name), int(attribute))] = index
        except (TypeError, ValueError) as error:
            raise FrameError(f"capture objects are malformed ({error})") from None
        clock = positions.get((obis.CLASS_CLOCK, obis.CLOCK, 2))
        energy = positions.get((obis.CLASS_REGISTER, obis.ACTIVE_ENERGY_IMPORT_INTERVAL, 2))
        if clock is None or energy is None:
            raise UnexpectedProfileLayout(
                "load profile lacks the clock or the interval energy "
                f"({obis.ACTIVE_ENERGY_IMPORT_INTERVAL}) among its capture objects"
            )
        status = positions.get((obis.CLASS_DATA, obis.AMR_PROFILE_STATUS, 2))
        return cls(clock, status, energy, obis.ACTIVE_ENERGY_IMPORT_INTERVAL)


@dataclass(frozen=True)
class EnergyScale:
    """A register's scaler_unit (attribute 3), checked to be Wh."""

    scaler: int

    @classmethod
    def from_scaler_unit(cls, scaler_unit: Any) -> EnergyScale:
        try:
            scaler, unit = scaler_unit
        except (TypeError, ValueError):
            raise FrameError(f"scaler_unit is malformed: {scaler_unit!r}") from None
        if int(unit) != UNIT_WH:
            raise UnexpectedProfileLayout(f"interval energy is in unit {unit}, not Wh ({UNIT_WH})")
        return cls(int(scaler))

    def apply(self, raw: Any) -> Decimal:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise FrameError(f"interval energy is not an integer: {raw!r}")
        return Decimal(raw).scaleb(self.scaler)


def decode_rows(
    raw_rows: list[Any],
    columns: ProfileColumns,
    scale: EnergyScale,
    capture_period: dt.timedelta,
) -> list[ProfileRow]:
    """Rows in meter order. A null timestamp (compact profile) is the previous row's plus
    one capture period; a null before any timestamp cannot be rebuilt and is an error."""
    rows: list[ProfileRow] = []
    previous: dt.datetime | None = None
    for raw in raw_rows:
        try:
            stamp_raw = raw[columns.clock]
            status = int(raw[columns.status]) if columns.status is not None else 0
            energy = raw[columns.energy]
        except (TypeError, IndexError, ValueError) as error:
            raise FrameError(f"load profile row is malformed ({error})") from None
        timestamp = decode_cosem_datetime(stamp_raw)
        if timestamp is None:
            if previous is None or not capture_period:
                raise FrameError("compact row without a preceding timestamp or capture period")
            timestamp = previous + capture_period
        rows.append(ProfileRow(timestamp, status, scale.apply(energy)))
        previous = timestamp
    return rows


def _logical_name(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    octets = bytes(raw)
    if len(octets) != 6:
        raise ValueError("a logical name has 6 octets")
    return ".".join(str(octet) for octet in octets)
