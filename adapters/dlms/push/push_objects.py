"""What a pushed DataNotification carries: the push object lists of the two push setups
the simulated meters implement and the HES reads, and the decoding of a pushed load
profile into interval rows.

As IDIS does, the first object of every push object list is the push setup's own logical
name (attribute 1), so that a receiver knows which push setup sent a notification, and
the second is the meter's serial number (the device id):

- load profile push, push setup 0.0.25.9.0.255 (scheduled by 0.0.15.0.4.255): the scaler
  and unit of the interval energy, the capture period (to rebuild compact timestamps) and
  the last entries of the load profile 1.0.99.1.0.255;
- alarm push, push setup 0.4.25.9.0.255 (IDIS "push on alarm", sent at once): the event
  codes last logged in the standard (power down/up) and fraud detection (tamper) logs.

A real meter pushes these bodies once the HES has set the same push object list
(`set_push_schedule` with `LOAD_PROFILE_PUSH_OBJECTS`); other bodies are recorded as
pushes but not read as interval data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from adapters.dlms import obis
from adapters.dlms.errors import FrameError
from adapters.dlms.profile_buffer import BufferColumn, decode_buffer

LOAD_PROFILE_PUSH_SETUP = obis.PUSH_SETUP  # 0.0.25.9.0.255
ALARM_PUSH_SETUP = "0.4.25.9.0.255"
STANDARD_EVENT_CODE = "0.0.96.11.0.255"
FRAUD_EVENT_CODE = "0.0.96.11.1.255"
CLASS_PUSH_SETUP = 40


class PushObject(NamedTuple):
    class_id: int
    logical_name: str
    attribute: int

    def as_parameter(self) -> dict[str, Any]:
        """As `set_push_schedule` takes it."""
        return {
            "class_id": self.class_id,
            "logical_name": self.logical_name,
            "attribute": self.attribute,
        }


LOAD_PROFILE_PUSH_OBJECTS = (
    PushObject(CLASS_PUSH_SETUP, LOAD_PROFILE_PUSH_SETUP, 1),
    PushObject(obis.CLASS_DATA, obis.SERIAL_NUMBER, 2),
    PushObject(obis.CLASS_REGISTER, obis.ACTIVE_ENERGY_IMPORT_INTERVAL, 3),
    PushObject(obis.CLASS_PROFILE_GENERIC, obis.LOAD_PROFILE, 4),
    PushObject(obis.CLASS_PROFILE_GENERIC, obis.LOAD_PROFILE, 2),
)
ALARM_PUSH_OBJECTS = (
    PushObject(CLASS_PUSH_SETUP, ALARM_PUSH_SETUP, 1),
    PushObject(obis.CLASS_DATA, obis.SERIAL_NUMBER, 2),
    PushObject(obis.CLASS_DATA, STANDARD_EVENT_CODE, 2),
    PushObject(obis.CLASS_DATA, FRAUD_EVENT_CODE, 2),
)
_PROFILE_COLUMNS = 3  # clock, AMR profile status, interval energy


def logical_name_octets(text: str) -> bytes:
    return bytes(int(part) for part in text.split("."))


def logical_name_text(octets: bytes) -> str:
    return ".".join(str(octet) for octet in octets)


class PushedRow(NamedTuple):
    captured_at: dt.datetime  # end of the interval, UTC
    status: int
    energy_wh: Decimal


@dataclass(frozen=True)
class PushedProfile:
    device_id: str
    capture_period: dt.timedelta
    rows: tuple[PushedRow, ...]


def push_setup_of(body: Any) -> str | None:
    """The logical name of the push setup that sent `body`, if it names one first."""
    first = body[0] if isinstance(body, list) and body else None
    if isinstance(first, bytes | bytearray) and len(first) == 6:
        return logical_name_text(bytes(first))
    return None


def device_id_of(body: Any) -> str | None:
    """The serial number the body's second element states (our push object lists)."""
    if push_setup_of(body) is None or len(body) < 2:
        return None
    device = body[1]
    if isinstance(device, bytes | bytearray):
        try:
            return bytes(device).decode("ascii").strip() or None
        except UnicodeDecodeError:
            return None
    if isinstance(device, str):
        return device.strip() or None
    return None


def decode_profile_push(body: Any) -> PushedProfile | None:
    """The load profile in a body of `LOAD_PROFILE_PUSH_OBJECTS`; None for any other
    body; `FrameError` for such a body whose values do not fit the layout."""
    if push_setup_of(body) != LOAD_PROFILE_PUSH_SETUP or len(body) != 5:
        return None
    device_id = device_id_of(body)
    _setup, _device, scaler_unit, period, buffer = body
    if device_id is None:
        raise FrameError("load profile push without a serial number")
    if not (isinstance(scaler_unit, list) and len(scaler_unit) == 2):
        raise FrameError("load profile push: scaler_unit is not a structure of two")
    scaler = scaler_unit[0]
    if isinstance(period, bool) or not isinstance(period, int) or not isinstance(scaler, int):
        raise FrameError("load profile push: capture period or scaler is not an integer")
    if not isinstance(buffer, list):
        raise FrameError("load profile push: the buffer is not an array")
    capture_period = dt.timedelta(seconds=period)
    columns = (
        BufferColumn(obis.CLOCK, "clock"),
        BufferColumn(obis.AMR_PROFILE_STATUS, "status"),
        BufferColumn(obis.ACTIVE_ENERGY_IMPORT_INTERVAL, "register", scaler),
    )
    if any(not isinstance(row, list) or len(row) != _PROFILE_COLUMNS for row in buffer):
        raise FrameError("load profile push: a row is not (clock, status, energy)")
    rows = tuple(
        PushedRow(row.timestamp, int(row.values[0]), Decimal(row.values[1]))
        for row in decode_buffer(buffer, columns, capture_period)
    )
    return PushedProfile(device_id, capture_period, rows)
