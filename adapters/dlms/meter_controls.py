"""The COSEM attributes and methods a simulated meter lets the management client change:
clock, capture period, disconnect control and its script table, limiters, demand period,
billing date, activity calendar, push setup and image transfer. Each maps onto the meter's state
(`SimulatedMeter`, `simulated_controls`, `simulated_firmware`).

Values the meter only stores (calendar tables, schedules, push objects) are checked for
their shape and kept as the encoded bytes received, so that a read returns exactly what
was written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, NoReturn

from adapters.dlms import obis
from adapters.dlms.axdr import decode_data, encode_length
from adapters.dlms.cosem_datetime import decode_cosem_datetime
from adapters.dlms.errors import FrameError
from adapters.dlms.set_action_service import (
    ActionRequest,
    ActionResult,
    ServiceRefused,
    SetRequest,
)
from adapters.dlms.simulated_controls import RelayRefused
from adapters.dlms.simulated_firmware import TransferRefused
from adapters.dlms.simulated_meter import SimulatedMeter
from adapters.dlms.typed_data import (
    Array,
    Boolean,
    DoubleLongUnsigned,
    Enum,
    OctetString,
    Structure,
)


def _unsigned(value: Any, high: int = 0xFFFFFFFF) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
    return value


def _array_of_structures(value: Any) -> list[Any]:
    if not isinstance(value, list) or not all(isinstance(item, list) for item in value):
        raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
    return value


def read(meter: SimulatedMeter, logical_name: str, attribute: int) -> bytes | None:
    """The encoded value, or None for attributes the library's objects serve."""
    relay, settings, firmware = meter.relay, meter.settings, meter.firmware
    if logical_name == obis.DISCONNECT_CONTROL:
        values = {
            2: Boolean(relay.output_state),
            3: Enum(int(relay.state)),
            4: Enum(relay.control_mode),
        }
        return values[attribute].encode() if attribute in values else None
    if logical_name == obis.POWER_LIMITER and attribute == 3:
        return DoubleLongUnsigned(settings.power_threshold).encode()
    if logical_name == obis.CURRENT_LIMITER and attribute == 3:
        return DoubleLongUnsigned(settings.current_threshold).encode()
    if logical_name == obis.DEMAND_REGISTER and attribute == 8:
        return DoubleLongUnsigned(settings.demand_period_seconds).encode()
    if logical_name in (obis.FIRMWARE_VERSION, obis.IMAGE_TRANSFER):
        _activate_if_due(meter)
    stored = _stored(meter).get((logical_name, attribute))
    if stored is not None:
        return stored
    if logical_name in (obis.POWER_LIMITER, obis.CURRENT_LIMITER) and attribute in (6, 7):
        return DoubleLongUnsigned(0).encode()  # never written (gurux's default is None)
    if logical_name == obis.FIRMWARE_VERSION and attribute == 2:
        return OctetString(firmware.firmware_version).encode()
    if logical_name == obis.IMAGE_TRANSFER:
        if attribute == 3:
            return _bit_string(firmware.transferred_bits())
        values = {
            2: DoubleLongUnsigned(firmware.block_size),
            4: DoubleLongUnsigned(firmware.first_missing_block()),
            5: Boolean(True),
            6: Enum(int(firmware.status)),
            7: Array(
                [
                    Structure(
                        [
                            DoubleLongUnsigned(firmware.size),
                            OctetString(firmware.identifier),
                            OctetString(b""),
                        ]
                    )
                ]
                if firmware.identifier
                else []
            ),
        }
        return values[attribute].encode() if attribute in values else None
    return None


def _stored(meter: SimulatedMeter) -> dict[tuple[str, int], bytes]:
    return meter.settings.written


def _limiter_actions(value: Any) -> None:
    """Limiter attribute 11: {over: {script, selector}, under: {script, selector}}."""
    if not isinstance(value, list) or len(value) != 2:
        _unmatched()
    for action in value:
        if not isinstance(action, list) or len(action) != 2:
            _unmatched()
        _octets(action[0], 6)
        _unsigned(action[1], 0xFFFF)


_LIMITER_SETTINGS = {6: _unsigned, 7: _unsigned, 11: _limiter_actions}

# (logical name, attribute) whose values are stored as written, with a shape check.
# Limiter durations and actions are stored only: no load is actually limited.
_STORED: dict[tuple[str, int], Any] = {
    **{
        (limiter, attribute): check
        for limiter in (obis.POWER_LIMITER, obis.CURRENT_LIMITER)
        for attribute, check in _LIMITER_SETTINGS.items()
    },
    (obis.BILLING_SCHEDULE, 4): _array_of_structures,
    (obis.PUSH_SCHEDULE, 4): _array_of_structures,
    (obis.IMAGE_ACTIVATION_SCHEDULE, 4): _array_of_structures,
    (obis.PUSH_SETUP, 2): _array_of_structures,
    (obis.ACTIVITY_CALENDAR, 6): lambda v: _octets(v),
    (obis.ACTIVITY_CALENDAR, 7): _array_of_structures,
    (obis.ACTIVITY_CALENDAR, 8): _array_of_structures,
    (obis.ACTIVITY_CALENDAR, 9): _array_of_structures,
    (obis.ACTIVITY_CALENDAR, 10): lambda v: _octets(v, 12),
}


def _unmatched() -> NoReturn:
    raise ServiceRefused(ActionResult.TYPE_UNMATCHED)


def _octets(value: Any, length: int | None = None) -> bytes:
    if not isinstance(value, bytes) or (length is not None and len(value) != length):
        _unmatched()
    return bytes(value)


def write(meter: SimulatedMeter, request: SetRequest) -> bool:
    """Apply a SET; False if this module does not handle the attribute."""
    name, attribute, value = request.logical_name, request.attribute, request.value
    key = (name, attribute)
    if key in _STORED:
        _STORED[key](value)
        _stored(meter)[key] = request.raw
        return True
    if key == (obis.CLOCK, 2):
        meter.set_clock(_datetime(value))
    elif key == (obis.LOAD_PROFILE, 4):
        seconds = _unsigned(value)
        try:
            meter.set_capture_period(dt.timedelta(seconds=seconds))
        except ValueError:
            raise ServiceRefused(ActionResult.OTHER_REASON) from None
    elif key == (obis.DISCONNECT_CONTROL, 4):
        meter.relay.control_mode = _unsigned(value, 6)
    elif key == (obis.POWER_LIMITER, 3):
        meter.settings.power_threshold = _unsigned(value)
    elif key == (obis.CURRENT_LIMITER, 3):
        meter.settings.current_threshold = _unsigned(value)
    elif key == (obis.DEMAND_REGISTER, 8):
        seconds = _unsigned(value)
        if seconds == 0 or 3600 % seconds:
            raise ServiceRefused(ActionResult.OTHER_REASON)
        meter.settings.demand_period_seconds = seconds
    else:
        return False
    return True


def act(meter: SimulatedMeter, request: ActionRequest) -> tuple[bool, bytes | None]:
    """Run a method: (handled, encoded return value)."""
    name, method, parameter = request.logical_name, request.method, request.parameter
    try:
        if name == obis.DISCONNECT_CONTROL and method in (1, 2):
            if method == 1:
                meter.relay.remote_disconnect(meter.now())
            else:
                meter.relay.remote_reconnect(meter.now())
            return True, None
        if name == obis.DISCONNECT_SCRIPT_TABLE and method == 1:
            # execute(selector): the scripts a limiter's actions name.
            scripts = {
                obis.DISCONNECT_SCRIPT: meter.relay.remote_disconnect,
                obis.RECONNECT_SCRIPT: meter.relay.remote_reconnect,
            }
            script = scripts.get(_unsigned(parameter, 0xFFFF))
            if script is None:
                raise ServiceRefused(ActionResult.OTHER_REASON)
            script(meter.now())
            return True, None
        if name == obis.ACTIVITY_CALENDAR and method == 1:
            return True, None  # activate_passive_calendar: the tables are only stored
        if name == obis.IMAGE_TRANSFER and method in (1, 2, 3, 4):
            _image_transfer(meter, method, parameter)
            return True, None
    except RelayRefused:
        raise ServiceRefused(ActionResult.OTHER_REASON) from None
    except TransferRefused as refusal:
        result = ActionResult.TEMPORARY_FAILURE if refusal.temporary else ActionResult.OTHER_REASON
        raise ServiceRefused(result) from None
    return False, None


def _image_transfer(meter: SimulatedMeter, method: int, parameter: Any) -> None:
    firmware = meter.firmware
    if method in (1, 2):
        if not isinstance(parameter, list) or len(parameter) != 2:
            raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
        first, second = parameter
        if method == 1:
            if not isinstance(first, bytes):
                raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
            firmware.initiate(first, _unsigned(second))
        else:
            if not isinstance(second, bytes):
                raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
            firmware.transfer_block(_unsigned(first), second)
    elif method == 3:
        firmware.verify()
    else:
        firmware.activate()


def _activate_if_due(meter: SimulatedMeter) -> None:
    """The image activation schedule fires once the meter's clock passes its time (the
    simulator checks lazily, when the firmware is looked at)."""
    raw = meter.settings.written.get((obis.IMAGE_ACTIVATION_SCHEDULE, 4))
    if raw is None:
        return
    try:
        (when,), _end = decode_data(raw)
        clock, date = when
        due = dt.datetime(
            int.from_bytes(date[:2], "big"),
            date[2],
            date[3],
            clock[0],
            clock[1],
            clock[2],
            tzinfo=dt.UTC,
        )
    except (FrameError, ValueError, TypeError, IndexError):
        return  # a schedule this simulator does not understand never fires
    if due <= meter.now():
        # Nothing verified to activate: a real meter would log a failed activation.
        with contextlib.suppress(TransferRefused):
            meter.firmware.activate()
        del meter.settings.written[(obis.IMAGE_ACTIVATION_SCHEDULE, 4)]


def _datetime(value: Any) -> dt.datetime:
    try:
        moment = decode_cosem_datetime(value) if isinstance(value, bytes) else None
    except FrameError:
        moment = None
    if moment is None:
        raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
    return moment


def _bit_string(bits: str) -> bytes:
    padded = bits + "0" * (-len(bits) % 8)
    raw = bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8))
    return bytes((4,)) + encode_length(len(bits)) + raw
