"""The xDLMS SET and ACTION services, normal requests only (no datablocks, no lists), on
both sides: the meter decodes requests and encodes responses, the HES the reverse.

Encoded here rather than by gurux-dlms 1.0.203: its server SET/ACTION handlers call
methods that do not exist in this version, and its client encoder guesses value types.
Decoding uses our own A-XDR decoder (`axdr`), which ends every malformed input in a
`FrameError`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from gurux_dlms.internal._GXCommon import _GXCommon

from adapters.dlms.axdr import decode_data
from adapters.dlms.errors import FrameError

SET_REQUEST_TAG = 0xC1
ACTION_REQUEST_TAG = 0xC3
SET_RESPONSE_TAG = 0xC5
ACTION_RESPONSE_TAG = 0xC7
EXCEPTION_RESPONSE_TAG = 0xD8
CONFIRMED_SERVICE_ERROR_TAG = 0x0E
NORMAL = 1
# Invoke id 1, confirmed service, high priority: one request in flight per association.
INVOKE_ID_AND_PRIORITY = 0xC1


class ActionResult(enum.IntEnum):
    """action-result codes (Green Book); SET answers with the same numbers as
    data-access-result for the ones used here."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    OTHER_REASON = 250


class ServiceRefused(Exception):
    """Raised by a server hook: answer the SET or ACTION with this result."""

    def __init__(self, result: ActionResult) -> None:
        super().__init__(result.name)
        self.result = result


@dataclass(frozen=True)
class SetRequest:
    invoke_id: int
    class_id: int
    logical_name: str
    attribute: int
    # Values may be secrets (association attribute 7): kept out of reprs and logs.
    value: Any = field(repr=False)  # decoded by `axdr.decode_data`: lists, bytes, ints, None
    raw: bytes = field(default=b"", repr=False)  # encoded, for attributes read back verbatim


@dataclass(frozen=True)
class ActionRequest:
    invoke_id: int
    class_id: int
    logical_name: str
    method: int
    parameter: Any = field(repr=False)  # None when absent (or null)


def _descriptor(apdu: bytes) -> tuple[int, int, str, int]:
    if len(apdu) < 13 or apdu[1] != NORMAL:
        raise FrameError("only normal SET/ACTION requests are served")
    class_id = int.from_bytes(apdu[3:5], "big")
    return apdu[2], class_id, _GXCommon.toLogicalName(bytearray(apdu[5:11])), apdu[11]


def decode_set_request(apdu: bytes) -> SetRequest:
    """A whole set-request-normal, tag included."""
    invoke_id, class_id, logical_name, attribute = _descriptor(apdu)
    if apdu[12] != 0:
        raise FrameError("selective access in a SET is not served")
    value, end = decode_data(apdu, 13)
    if end != len(apdu):
        raise FrameError("octets after the SET value")
    return SetRequest(invoke_id, class_id, logical_name, attribute, value, apdu[13:])


def decode_action_request(apdu: bytes) -> ActionRequest:
    """A whole action-request-normal, tag included."""
    invoke_id, class_id, logical_name, method = _descriptor(apdu)
    parameter = None
    if apdu[12]:
        parameter, end = decode_data(apdu, 13)
        if end != len(apdu):
            raise FrameError("octets after the method parameter")
    return ActionRequest(invoke_id, class_id, logical_name, method, parameter)


def set_response(invoke_id: int, result: int) -> bytes:
    return bytes((SET_RESPONSE_TAG, NORMAL, invoke_id, result))


def action_response(invoke_id: int, result: int, returned: bytes | None = None) -> bytes:
    """`returned` is an encoded Data value (the method's return parameter)."""
    head = bytes((ACTION_RESPONSE_TAG, NORMAL, invoke_id, result))
    return head + (b"\x00" if returned is None else b"\x01\x00" + returned)


# --- the HES side --------------------------------------------------------------------------


def _logical_name(logical_name: str) -> bytes:
    return bytes(_GXCommon.logicalNameToBytes(logical_name))


def encode_set_request(class_id: int, logical_name: str, attribute: int, value: bytes) -> bytes:
    """set-request-normal with an encoded Data value, no selective access."""
    return (
        bytes((SET_REQUEST_TAG, NORMAL, INVOKE_ID_AND_PRIORITY))
        + class_id.to_bytes(2, "big")
        + _logical_name(logical_name)
        + bytes((attribute, 0))
        + value
    )


def encode_action_request(
    class_id: int, logical_name: str, method: int, parameter: bytes | None
) -> bytes:
    head = (
        bytes((ACTION_REQUEST_TAG, NORMAL, INVOKE_ID_AND_PRIORITY))
        + class_id.to_bytes(2, "big")
        + _logical_name(logical_name)
        + bytes((method,))
    )
    return head + (b"\x00" if parameter is None else b"\x01" + parameter)


@dataclass(frozen=True)
class ServiceAnswer:
    result: int  # 0 success; for refusals of the whole service (exception) negative
    returned: Any = None


def decode_answer(apdu: bytes, expected_tag: int) -> ServiceAnswer:
    """A set- or action-response-normal, or the ExceptionResponse/ConfirmedServiceError
    a meter sends instead when it does not serve the request at all (result -1)."""
    if apdu[:1] in (bytes((EXCEPTION_RESPONSE_TAG,)), bytes((CONFIRMED_SERVICE_ERROR_TAG,))):
        return ServiceAnswer(-1)
    if len(apdu) < 4 or apdu[0] != expected_tag or apdu[1] != NORMAL:
        raise FrameError(f"expected a normal response 0x{expected_tag:02x}, got {apdu[:2].hex()}")
    result = apdu[3]
    if expected_tag == SET_RESPONSE_TAG or len(apdu) == 4 or apdu[4] == 0:
        return ServiceAnswer(result)
    if len(apdu) < 6:
        raise FrameError("truncated action-response return parameters")
    if apdu[5] == 1:  # Get-Data-Result: data-access-result instead of data
        return ServiceAnswer(apdu[6] if len(apdu) > 6 else ActionResult.OTHER_REASON)
    returned, _end = decode_data(apdu, 6)
    return ServiceAnswer(result, returned)
