"""The registers (class 3) a simulated meter serves beyond its load profile: energy totals
and instantaneous values per phase, each with its A-XDR type, scaler and unit.

A value on the wire is an integer; the physical value is that integer times 10**scaler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gurux_dlms.enums import DataType, Unit

from adapters.dlms import obis
from adapters.dlms.consumption import ENERGY_SCALER


@dataclass(frozen=True)
class Quantity:
    logical_name: str
    data_type: DataType
    scaler: int
    unit: Unit


ENERGY_TOTALS: Final = (
    Quantity(obis.ACTIVE_ENERGY_IMPORT_TOTAL, DataType.UINT64, ENERGY_SCALER, Unit.ACTIVE_ENERGY),
    Quantity(obis.ACTIVE_ENERGY_EXPORT_TOTAL, DataType.UINT64, ENERGY_SCALER, Unit.ACTIVE_ENERGY),
    Quantity(
        obis.REACTIVE_ENERGY_IMPORT_TOTAL, DataType.UINT64, ENERGY_SCALER, Unit.REACTIVE_ENERGY
    ),
    Quantity(
        obis.REACTIVE_ENERGY_EXPORT_TOTAL, DataType.UINT64, ENERGY_SCALER, Unit.REACTIVE_ENERGY
    ),
)
VOLTAGES: Final = tuple(Quantity(ln, DataType.UINT16, -1, Unit.VOLTAGE) for ln in obis.VOLTAGES)
CURRENTS: Final = tuple(Quantity(ln, DataType.UINT32, -3, Unit.CURRENT) for ln in obis.CURRENTS)
POWERS: Final = tuple(
    Quantity(ln, DataType.UINT32, 0, Unit.ACTIVE_POWER) for ln in obis.ACTIVE_POWERS_IMPORT
)
TOTAL_POWER: Final = Quantity(obis.ACTIVE_POWER_IMPORT, DataType.UINT32, 0, Unit.ACTIVE_POWER)
INSTANTANEOUS: Final = (*VOLTAGES, *CURRENTS, *POWERS, TOTAL_POWER)

QUANTITIES: Final = {quantity.logical_name: quantity for quantity in ENERGY_TOTALS + INSTANTANEOUS}
