"""What a simulated meter answers for its objects beyond the load profile and the
controls: energy totals and instantaneous values (Register, class 3), the daily billing
profile and the event logs (Profile generic, class 7) with their event code objects (Data),
the supervision monitors (Register monitor, class 21) and, on HLS meters, the security
setup (class 64) with key_transfer. Each maps onto the meter's state (`SimulatedMeter`).
"""

from __future__ import annotations

import struct
from typing import Any

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from adapters.dlms import meter_profiles, obis
from adapters.dlms.axdr import encode_length
from adapters.dlms.axdr_integers import INTEGER_FORMATS, TaggedInteger
from adapters.dlms.cosem_objects import BILLING_CAPACITY
from adapters.dlms.errors import SecurityEventKind, SecurityViolation
from adapters.dlms.event_logs import EVENT_LOGS, FRAUD, STANDARD, EventCode
from adapters.dlms.get_service import AttributeRequest
from adapters.dlms.meter_profiles import Column
from adapters.dlms.meter_quantities import ENERGY_TOTALS, QUANTITIES, Quantity
from adapters.dlms.set_action_service import ActionRequest, ActionResult, ServiceRefused, SetRequest
from adapters.dlms.simulated_meter import SimulatedMeter
from adapters.dlms.simulated_monitors import MAX_THRESHOLDS
from adapters.dlms.typed_data import (
    Array,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
)

CLOCK_COLUMN: Column = (obis.CLASS_CLOCK, obis.CLOCK, 2)
BILLING_COLUMNS: tuple[Column, ...] = (
    CLOCK_COLUMN,
    *((obis.CLASS_REGISTER, quantity.logical_name, 2) for quantity in ENERGY_TOTALS),
)
# security_policy (version 1): authenticated and encrypted requests and responses.
SECURITY_POLICY = 4 | 8 | 32 | 64
KEY_TRANSFER = 2
_ARRAY = 1
KEY_UNICAST_ENCRYPTION, KEY_BROADCAST, KEY_AUTHENTICATION, KEY_MASTER = 0, 1, 2, 3
_EVENT_LOGS = {log.logical_name: log for log in EVENT_LOGS.values()}
_EVENT_CODES = {log.event_code: log for log in EVENT_LOGS.values()}


def integer(data_type: int, value: int) -> bytes:
    return TaggedInteger(data_type, value).encode()


def read(
    meter: SimulatedMeter, request: AttributeRequest, *, peer_system_title: bytes | None
) -> bytes | None:
    """The encoded value, or None for attributes served elsewhere (logical names,
    capture objects, capture periods ...)."""
    name, attribute = request.logical_name, request.attribute
    if name in QUANTITIES and request.selector == 0:
        quantity = QUANTITIES[name]
        if attribute == 3:
            return Structure([Integer(quantity.scaler), Enum(int(quantity.unit))]).encode()
        return integer(quantity.data_type, _measured(meter, name)) if attribute == 2 else None
    if name == obis.DAILY_BILLING_PROFILE and attribute in (2, 7):
        rows = _billing_rows(meter)
        if attribute == 7:
            return DoubleLongUnsigned(len(rows)).encode()
        return meter_profiles.buffer(
            request, BILLING_COLUMNS, rows, range_access=meter.config.range_access
        )
    if name in _EVENT_LOGS and attribute in (2, 7):
        log = _EVENT_LOGS[name]
        events = meter.events.entries(log, meter.now())
        if attribute == 7:
            return DoubleLongUnsigned(len(events)).encode()
        rows = [(event.at, (Unsigned(event.code).encode(),)) for event in events]
        columns = (CLOCK_COLUMN, (obis.CLASS_DATA, log.event_code, 2))
        return meter_profiles.buffer(request, columns, rows, range_access=meter.config.range_access)
    if name in _EVENT_CODES and attribute == 2:
        events = meter.events.entries(_EVENT_CODES[name], meter.now())
        return Unsigned(events[-1].code if events else 0).encode()
    if name in obis.SUPERVISION_MONITORS and request.selector == 0:
        return _monitor(meter, name, attribute)
    if name == obis.SECURITY_SETUP and meter.security is not None and request.selector == 0:
        values = {
            2: Enum(SECURITY_POLICY),
            3: Enum(0),  # security suite 0 (AES-GCM-128)
            4: OctetString(peer_system_title or b""),
            5: OctetString(meter.security.system_title),
            6: Array([]),  # no certificates in suite 0
        }
        return values[attribute].encode() if attribute in values else None
    return None


def _measured(meter: SimulatedMeter, name: str) -> int:
    if name in obis.VOLTAGES + obis.CURRENTS + obis.ACTIVE_POWERS_IMPORT:
        values = meter.instantaneous()
        for names, measured in (
            (obis.VOLTAGES, values.voltages),
            (obis.CURRENTS, values.currents),
            (obis.ACTIVE_POWERS_IMPORT, values.powers),
        ):
            if name in names:
                return measured[names.index(name)]
    if name == obis.ACTIVE_POWER_IMPORT:
        return meter.instantaneous().total_power
    totals = meter.energy_totals()
    return totals[[quantity.logical_name for quantity in ENERGY_TOTALS].index(name)]


def _billing_rows(meter: SimulatedMeter) -> list[meter_profiles.Row]:
    types = [quantity.data_type for quantity in ENERGY_TOTALS]
    return [
        (midnight, tuple(integer(kind, value) for kind, value in zip(types, totals, strict=True)))
        for midnight, totals in meter.daily_snapshots()[-BILLING_CAPACITY:]
    ]


def _monitor(meter: SimulatedMeter, name: str, attribute: int) -> bytes | None:
    monitor = meter.monitors.monitor(name)
    assert monitor is not None
    monitored = monitor.monitored
    if attribute == 2:
        thresholds = meter.monitors.thresholds(name)
        encoded = b"".join(integer(monitored.data_type, value) for value in thresholds)
        return bytes((_ARRAY,)) + encode_length(len(thresholds)) + encoded
    if attribute == 3:
        return Structure(
            [
                LongUnsigned(obis.CLASS_REGISTER),
                OctetString(_logical_name_octets(monitored.logical_name)),
                Integer(2),
            ]
        ).encode()
    if attribute == 4:
        no_script = Structure([OctetString(bytes(6)), LongUnsigned(0)])
        actions = [Structure([no_script, no_script]) for _ in meter.monitors.thresholds(name)]
        return Array(actions).encode()
    return None


def write(meter: SimulatedMeter, request: SetRequest) -> bool:
    """Apply a SET; False if this module does not handle the attribute."""
    if request.logical_name in obis.SUPERVISION_MONITORS and request.attribute == 2:
        monitor = meter.monitors.monitor(request.logical_name)
        assert monitor is not None
        meter.monitors.set_thresholds(
            request.logical_name, _thresholds(request.raw, monitor.monitored)
        )
        return True
    return False


def _thresholds(raw: bytes, monitored: Quantity) -> list[int]:
    """Thresholds must have exactly the monitored value's type (type-unmatched otherwise)."""
    kind = int(monitored.data_type)
    size = struct.calcsize(INTEGER_FORMATS[kind])
    count = raw[1] if len(raw) >= 2 and raw[0] == _ARRAY else -1
    if not 1 <= count <= MAX_THRESHOLDS or len(raw) != 2 + count * (1 + size):
        raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
    values = []
    for offset in range(2, len(raw), 1 + size):
        if raw[offset] != kind:
            raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
        values.append(struct.unpack(INTEGER_FORMATS[kind], raw[offset + 1 : offset + 1 + size])[0])
    return values


def act(
    meter: SimulatedMeter, request: ActionRequest, *, ciphered: bool
) -> tuple[bool, bytes | None]:
    """Run a method: (handled, encoded return value)."""
    if request.logical_name == obis.SECURITY_SETUP and request.method == KEY_TRANSFER:
        if not ciphered:  # keys travel only inside a ciphered association
            raise ServiceRefused(ActionResult.READ_WRITE_DENIED)
        _key_transfer(meter, request.parameter)
        return True, None
    return False, None


def _key_transfer(meter: SimulatedMeter, parameter: Any) -> None:
    """key_transfer: an array of {key_id, key_wrapped}, each key wrapped (RFC 3394) under
    the master key. All keys are checked before any is applied."""
    security = meter.security
    if security is None or security.master_key is None:
        raise ServiceRefused(ActionResult.OTHER_REASON)  # no KEK: nothing can be unwrapped
    if not isinstance(parameter, list) or not parameter:
        raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
    unwrapped: dict[int, bytes] = {}
    for item in parameter:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not isinstance(item[0], int)
            or not isinstance(item[1], bytes)
        ):
            raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
        key_id, wrapped = item
        if key_id not in (KEY_UNICAST_ENCRYPTION, KEY_AUTHENTICATION, KEY_MASTER):
            raise ServiceRefused(ActionResult.READ_WRITE_DENIED)  # no broadcast key here
        try:
            key = aes_key_unwrap(security.master_key, wrapped)
        except (InvalidUnwrap, ValueError):
            security.record(
                SecurityViolation(
                    "key_transfer: a wrapped key does not unwrap under the master key",
                    kind=SecurityEventKind.BAD_TAG,
                )
            )
            meter.events.record(FRAUD, EventCode.DECRYPTION_FAILURE, meter.now())
            raise ServiceRefused(ActionResult.OTHER_REASON) from None
        if len(key) != 16:
            raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
        unwrapped[key_id] = key
    security.replace_keys(
        block_cipher_key=unwrapped.get(KEY_UNICAST_ENCRYPTION),
        authentication_key=unwrapped.get(KEY_AUTHENTICATION),
        master_key=unwrapped.get(KEY_MASTER),
    )
    meter.events.record(STANDARD, EventCode.GLOBAL_KEYS_CHANGED, meter.now())


def _logical_name_octets(logical_name: str) -> bytes:
    return bytes(int(part) for part in logical_name.split("."))
