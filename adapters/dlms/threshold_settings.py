"""Setting the thresholds of a register monitor (class 21) from the HES, in the physical
unit of the value it monitors: the monitor's monitored_value (attribute 3) names the
register, whose scaler_unit turns each threshold exactly into the integer the meter
compares with, sent with the register value's own A-XDR type, then read back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gurux_dlms.objects import GXDLMSExtendedRegister, GXDLMSRegister, GXDLMSRegisterMonitor

from adapters.dlms import obis
from adapters.dlms.axdr_integers import TaggedInteger
from adapters.dlms.errors import FrameError
from adapters.dlms.profile_reads import logical_name_text, scaler_and_unit, unit_symbol
from adapters.dlms.register_reads import exact
from adapters.dlms.session import CosemSession
from adapters.dlms.typed_data import Array

_REGISTERS: dict[int, Any] = {obis.CLASS_REGISTER: GXDLMSRegister, 4: GXDLMSExtendedRegister}


class ThresholdNotRepresentable(ValueError):
    """A threshold finer than the meter's resolution, or beyond its value's range."""


@dataclass(frozen=True)
class MonitorThresholds:
    monitor: str
    monitored: str  # logical name of the register monitored
    unit: str
    thresholds: tuple[Decimal, ...]  # as read back from the meter


def raw_threshold(value: Decimal, scaler: int, data_type: int) -> int:
    raw = value.scaleb(-scaler)
    if raw != raw.to_integral_value():
        resolution = Decimal(1).scaleb(scaler)
        raise ThresholdNotRepresentable(f"{value} is finer than the meter's step {resolution}")
    try:
        return TaggedInteger(data_type, int(raw)).value
    except ValueError:
        raise ThresholdNotRepresentable(f"{value} is out of the monitored value's range") from None


async def set_thresholds(
    session: CosemSession, monitor_name: str, values: Sequence[Decimal]
) -> MonitorThresholds:
    monitor = GXDLMSRegisterMonitor(monitor_name)
    try:
        class_id, name, attribute = await session.get(monitor, 3)
        register = _REGISTERS[int(class_id)](logical_name_text(name))
    except (TypeError, ValueError, KeyError):
        raise FrameError(f"monitor {monitor_name} watches no register value") from None
    scaler, unit = scaler_and_unit(await session.get(register, 3))
    _value, data_type = await session.get_typed(register, int(attribute))
    raws = [raw_threshold(value, scaler, data_type) for value in values]
    await session.set(monitor, 2, Array([TaggedInteger(data_type, raw) for raw in raws]))
    read_back = await session.get(monitor, 2)
    return MonitorThresholds(
        monitor_name,
        register.logicalName,
        unit_symbol(unit),
        tuple(exact(raw, scaler) for raw in read_back or []),
    )
