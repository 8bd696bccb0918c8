"""The COSEM object model of a simulated electricity meter, and the encoding of its
load-profile buffer. Energy totals, instantaneous values, the daily billing profile, the
event logs, the register monitors and the security setup are served by `meter_readouts`.

The buffer is not stored in `GXDLMSProfileGeneric.buffer`: rows are derived from the
meter's clock on demand, and the library's own selective access is broken in 1.0.203
(by-entry treats to_entry as a count; by-range compares a datetime with 0).
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from gurux_dlms.enums import DataType, ObjectType, Unit
from gurux_dlms.objects import (
    GXDLMSActionSchedule,
    GXDLMSActivityCalendar,
    GXDLMSAssociationLogicalName,
    GXDLMSCaptureObject,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSDemandRegister,
    GXDLMSDisconnectControl,
    GXDLMSImageTransfer,
    GXDLMSLimiter,
    GXDLMSObject,
    GXDLMSProfileGeneric,
    GXDLMSPushSetup,
    GXDLMSRegister,
    GXDLMSRegisterMonitor,
    GXDLMSScriptTable,
    GXDLMSSecuritySetup,
)
from gurux_dlms.objects.enums import SortMethod

from adapters.dlms import obis
from adapters.dlms.consumption import ENERGY_SCALER
from adapters.dlms.cosem_datetime import encode_cosem_datetime
from adapters.dlms.event_logs import EVENT_LOGS
from adapters.dlms.hls import INVOCATION_COUNTER
from adapters.dlms.meter_quantities import ENERGY_TOTALS, INSTANTANEOUS, Quantity
from adapters.dlms.simulated_events import LOG_CAPACITY
from adapters.dlms.simulated_meter import ProfileRow, SimulatedMeter

# Capacity reported in attribute 8: a year of 15-minute entries, as a typical meter holds.
PROFILE_CAPACITY = 35_040
BILLING_CAPACITY = 100  # daily snapshots kept by the daily billing profile


@dataclass(frozen=True)
class MeterObjects:
    clock: GXDLMSClock
    serial_number: GXDLMSData
    energy_total: GXDLMSRegister
    profile_status: GXDLMSData
    interval_energy: GXDLMSRegister
    load_profile: GXDLMSProfileGeneric
    association: GXDLMSAssociationLogicalName
    invocation_counter: GXDLMSData | None = None  # only on meters with HLS keys
    # Served from the meter's state by `meter_controls`; the library's objects give them
    # their class, version and attribute count (association object list).
    controls: tuple[GXDLMSObject, ...] = ()
    # Served by `meter_readouts`: registers, billing profile, event logs (with their event
    # code objects), register monitors and, on HLS meters, the security setup.
    readouts: tuple[GXDLMSObject, ...] = ()

    def all(self) -> list[GXDLMSObject]:
        objects: list[GXDLMSObject] = [
            self.clock,
            self.serial_number,
            self.energy_total,
            self.profile_status,
            self.interval_energy,
            self.load_profile,
            self.association,
        ]
        if self.invocation_counter is not None:
            objects.append(self.invocation_counter)
        objects.extend(self.controls)
        objects.extend(self.readouts)
        return objects


def build_meter_objects(meter: SimulatedMeter) -> MeterObjects:
    """Fresh objects for one association: the library mutates them while serving."""
    clock = GXDLMSClock(obis.CLOCK)

    serial_number = GXDLMSData(obis.SERIAL_NUMBER)
    serial_number.setDataType(2, DataType.OCTET_STRING)
    # Octet strings must be bytes: gurux parses a str as hex.
    serial_number.value = meter.config.serial.encode("ascii")

    energy_total = _energy_register(obis.ACTIVE_ENERGY_IMPORT_TOTAL, DataType.UINT64)
    interval_energy = _energy_register(obis.ACTIVE_ENERGY_IMPORT_INTERVAL, DataType.UINT32)

    profile_status = GXDLMSData(obis.AMR_PROFILE_STATUS)
    profile_status.setDataType(2, DataType.UINT8)
    profile_status.value = 0

    load_profile = GXDLMSProfileGeneric(obis.LOAD_PROFILE)
    for target in (clock, profile_status, interval_energy):
        load_profile.captureObjects.append((target, GXDLMSCaptureObject(2, 0)))
    load_profile.capturePeriod = int(meter.capture_period.total_seconds())
    load_profile.sortMethod = SortMethod.FIFO
    load_profile.sortObject = clock
    load_profile.sortObjectAttributeIndex = 2
    load_profile.profileEntries = PROFILE_CAPACITY

    association = GXDLMSAssociationLogicalName(obis.CURRENT_ASSOCIATION)
    association.version = 1  # no user list (version 2): a plain meter has no users
    invocation_counter = None
    if meter.security is not None:
        invocation_counter = GXDLMSData(INVOCATION_COUNTER)
        invocation_counter.setDataType(2, DataType.UINT32)
        invocation_counter.value = 0  # served from the meter's security state
    objects = MeterObjects(
        clock,
        serial_number,
        energy_total,
        profile_status,
        interval_energy,
        load_profile,
        association,
        invocation_counter,
        _control_objects(),
        _readout_objects(clock, energy_total, with_security=meter.security is not None),
    )
    for item in objects.all():
        association.objectList.append(item)
    return objects


def _control_objects() -> tuple[GXDLMSObject, ...]:
    firmware = GXDLMSData(obis.FIRMWARE_VERSION)
    firmware.setDataType(2, DataType.OCTET_STRING)
    return (
        GXDLMSDisconnectControl(obis.DISCONNECT_CONTROL),
        GXDLMSScriptTable(obis.DISCONNECT_SCRIPT_TABLE),
        GXDLMSLimiter(obis.POWER_LIMITER),
        GXDLMSLimiter(obis.CURRENT_LIMITER),
        GXDLMSDemandRegister(obis.DEMAND_REGISTER),
        GXDLMSActionSchedule(obis.BILLING_SCHEDULE),
        GXDLMSActionSchedule(obis.PUSH_SCHEDULE),
        GXDLMSActivityCalendar(obis.ACTIVITY_CALENDAR),
        GXDLMSPushSetup(obis.PUSH_SETUP),
        GXDLMSImageTransfer(obis.IMAGE_TRANSFER),
        GXDLMSActionSchedule(obis.IMAGE_ACTIVATION_SCHEDULE),
        firmware,
    )


def _readout_objects(
    clock: GXDLMSClock, energy_total: GXDLMSRegister, *, with_security: bool
) -> tuple[GXDLMSObject, ...]:
    totals = [energy_total] + [_register(quantity) for quantity in ENERGY_TOTALS[1:]]
    billing = _profile(obis.DAILY_BILLING_PROFILE, [clock, *totals], 86_400, BILLING_CAPACITY)
    objects: list[GXDLMSObject] = [*totals[1:], billing]
    objects += [_register(quantity) for quantity in INSTANTANEOUS]
    for log in EVENT_LOGS.values():
        code = GXDLMSData(log.event_code)
        code.setDataType(2, DataType.UINT8)
        code.value = 0
        objects += [code, _profile(log.logical_name, [clock, code], 0, LOG_CAPACITY)]
    objects += [GXDLMSRegisterMonitor(name) for name in obis.SUPERVISION_MONITORS]
    if with_security:
        objects.append(GXDLMSSecuritySetup(obis.SECURITY_SETUP))  # version 1
    return tuple(objects)


def _profile(
    logical_name: str, captured: list[GXDLMSObject], period_seconds: int, capacity: int
) -> GXDLMSProfileGeneric:
    profile = GXDLMSProfileGeneric(logical_name)
    for target in captured:
        profile.captureObjects.append((target, GXDLMSCaptureObject(2, 0)))
    profile.capturePeriod = period_seconds  # 0: captured when an event happens
    profile.sortMethod = SortMethod.FIFO
    profile.sortObject = captured[0]  # the clock
    profile.sortObjectAttributeIndex = 2
    profile.profileEntries = capacity
    return profile


def _register(quantity: Quantity) -> GXDLMSRegister:
    register = GXDLMSRegister(quantity.logical_name)
    register.setDataType(2, quantity.data_type)
    register.scaler = 10.0**quantity.scaler  # attribute 3 is encoded by `meter_readouts`
    register.unit = quantity.unit
    register.value = 0
    return register


def _energy_register(logical_name: str, data_type: DataType) -> GXDLMSRegister:
    register = GXDLMSRegister(logical_name)
    register.setDataType(2, data_type)
    register.scaler = 10.0**ENERGY_SCALER  # gurux keeps the multiplier; attribute 3 is ours
    register.unit = Unit.ACTIVE_ENERGY  # Wh
    register.value = 0
    return register


# Capture objects in column order: (class, logical name, attribute).
CLOCK_COLUMN, STATUS_COLUMN, ENERGY_COLUMN = 0, 1, 2

# A-XDR tags of the three capture objects' values.
_OCTET_STRING = bytes((DataType.OCTET_STRING, 12))
_NULL = bytes((DataType.NONE,))
_UINT8 = struct.Struct(">BB")
_UINT32 = struct.Struct(">BI")


def encode_profile_rows(
    rows: Sequence[ProfileRow], columns: Sequence[int], *, compact_period: dt.timedelta | None
) -> bytes:
    """The buffer as an array of structures with the selected columns (0-based indexes of
    clock, status, energy).

    With `compact_period`, a timestamp is sent as null when it follows the previous row's
    by exactly that period, as compact meters do; the client rebuilds it from attribute 4.
    """
    out = bytearray((DataType.ARRAY,))
    out += _length(len(rows))
    previous: ProfileRow | None = None
    for row in rows:
        out += bytes((DataType.STRUCTURE,)) + _length(len(columns))
        for column in columns:
            if column == CLOCK_COLUMN:
                follows = (
                    previous is not None
                    and row.captured_at - previous.captured_at == compact_period
                )
                out += _NULL if follows else _OCTET_STRING + encode_cosem_datetime(row.captured_at)
            elif column == STATUS_COLUMN:
                out += _UINT8.pack(DataType.UINT8, row.status)
            else:
                out += _UINT32.pack(DataType.UINT32, row.energy_raw)
        previous = row
    return bytes(out)


def _length(count: int) -> bytes:
    """A-XDR length: one octet below 128, else 0x80 | number of octets that follow."""
    if count < 0x80:
        return bytes((count,))
    size = (count.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + count.to_bytes(size, "big")


CAPTURE_COLUMNS = (
    (ObjectType.CLOCK, obis.CLOCK, 2),
    (ObjectType.DATA, obis.AMR_PROFILE_STATUS, 2),
    (ObjectType.REGISTER, obis.ACTIVE_ENERGY_IMPORT_INTERVAL, 2),
)
