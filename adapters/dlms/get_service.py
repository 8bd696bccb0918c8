"""The xDLMS GET service on the server side: request decoding, response encoding and block
transfer (get-response-with-datablock); and on the client side the answers to a long GET
(`decode_get_answer`, `next_block_request`), which a session follows itself for profile
buffers.

gurux-dlms 1.0.203's own server GET path calls methods that do not exist
(`server.notifyRead()`, `server.setTransaction()`, `settings.gbtWndowSize`), so the
simulator answers GET with this module and uses the library for data encoding and framing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from gurux_dlms import GXByteBuffer, GXDLMSSettings
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.internal._GXDataInfo import _GXDataInfo

from adapters.dlms.axdr import NotPlainData, decode_length, decode_plain_data
from adapters.dlms.errors import FrameError

GET_REQUEST_TAG = 0xC0
GET_RESPONSE_TAG = 0xC4
EXCEPTION_RESPONSE_TAG = 0xD8


class GetRequestType(enum.IntEnum):
    NORMAL = 1
    NEXT_DATA_BLOCK = 2
    WITH_LIST = 3


class DataAccessResult(enum.IntEnum):
    """The data-access-result codes the simulator answers with (Green Book, GET service)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_UNAVAILABLE = 11
    SCOPE_OF_ACCESS_VIOLATED = 13
    NO_LONG_GET_IN_PROGRESS = 16
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


class AccessRefused(Exception):
    """Raised while serving an attribute: answer with this data-access-result."""

    def __init__(self, result: DataAccessResult) -> None:
        super().__init__(result.name)
        self.result = result


@dataclass(frozen=True)
class AttributeRequest:
    class_id: int
    logical_name: str
    attribute: int
    selector: int = 0
    parameters: Any = None


@dataclass(frozen=True)
class GetRequest:
    kind: GetRequestType
    invoke_id: int  # invoke-id-and-priority octet, echoed as received
    attribute: AttributeRequest | None = None
    block_number: int = 0


def decode_get_request(settings: GXDLMSSettings, body: GXByteBuffer) -> GetRequest:
    """Decode a GET request whose tag (0xC0) the library has already consumed."""
    kind = GetRequestType(body.getUInt8())
    invoke_id = body.getUInt8()
    if kind == GetRequestType.NEXT_DATA_BLOCK:
        return GetRequest(kind, invoke_id, block_number=body.getUInt32())
    if kind != GetRequestType.NORMAL:
        return GetRequest(kind, invoke_id)
    class_id = body.getUInt16()
    logical_name = bytearray(6)
    body.get(logical_name)
    attribute = body.getUInt8()
    selector, parameters = 0, None
    if body.getUInt8() != 0:  # access-selection present
        selector = body.getUInt8()
        parameters = _GXCommon.getData(settings, body, _GXDataInfo())
    return GetRequest(
        kind,
        invoke_id,
        AttributeRequest(
            class_id, _GXCommon.toLogicalName(logical_name), attribute, selector, parameters
        ),
    )


def normal_response(invoke_id: int, encoded_value: bytes) -> bytes:
    return bytes((GET_RESPONSE_TAG, GetRequestType.NORMAL, invoke_id, 0)) + encoded_value


def normal_error(invoke_id: int, result: DataAccessResult) -> bytes:
    return bytes((GET_RESPONSE_TAG, GetRequestType.NORMAL, invoke_id, 1, result))


def exception_response(state_error: int, service_error: int) -> bytes:
    """ExceptionResponse: state-error 1 = service not allowed, 2 = service unknown;
    service-error 1 = operation not possible, 2 = service not supported."""
    return bytes((EXCEPTION_RESPONSE_TAG, state_error, service_error))


@dataclass
class LongGet:
    """A GET answer that did not fit one APDU, sent block by block."""

    invoke_id: int
    payload: bytes
    block_size: int
    sent: int = 0  # bytes of payload already sent
    block_number: int = 0  # number of the last block sent

    @property
    def finished(self) -> bool:
        return self.sent >= len(self.payload)

    def next_block(self) -> bytes:
        chunk = self.payload[self.sent : self.sent + self.block_size]
        self.sent += len(chunk)
        self.block_number += 1
        header = GXByteBuffer()
        header.setUInt8(GET_RESPONSE_TAG)
        header.setUInt8(GetRequestType.NEXT_DATA_BLOCK)
        header.setUInt8(self.invoke_id)
        header.setUInt8(1 if self.finished else 0)  # last-block
        header.setUInt32(self.block_number)
        header.setUInt8(0)  # result: raw-data
        _GXCommon.setObjectCount(len(chunk), header)
        return bytes(header.array()) + chunk


def block_error(invoke_id: int, block_number: int, result: DataAccessResult) -> bytes:
    header = GXByteBuffer()
    header.setUInt8(GET_RESPONSE_TAG)
    header.setUInt8(GetRequestType.NEXT_DATA_BLOCK)
    header.setUInt8(invoke_id)
    header.setUInt8(1)
    header.setUInt32(block_number)
    header.setUInt8(1)  # result: data-access-result
    header.setUInt8(result)
    return bytes(header.array())


# get-response-with-datablock header: tag, type, invoke, last, block number (4), choice and
# up to 3 octets of length.
BLOCK_OVERHEAD = 12


def answer(invoke_id: int, encoded_value: bytes, max_pdu_size: int) -> tuple[bytes, LongGet | None]:
    """The first APDU of the answer, and the long GET to continue if it needs blocks."""
    apdu = normal_response(invoke_id, encoded_value)
    if len(apdu) <= max_pdu_size:
        return apdu, None
    long_get = LongGet(invoke_id, encoded_value, block_size=max_pdu_size - BLOCK_OVERHEAD)
    return long_get.next_block(), long_get


@dataclass(frozen=True)
class GetAnswer:
    """A get-response-normal or -with-datablock as the client reads it. `data` is the
    whole `Data` value (normal) or this block's raw data; `result` the data-access-result
    (0: success)."""

    invoke_id: int
    data: bytes
    result: int = 0
    block_number: int | None = None  # None: a normal answer
    last_block: bool = True


def decode_get_answer(apdu: bytes) -> GetAnswer | None:
    """The answer, or None for any other APDU (ExceptionResponse, with-list, malformed):
    the caller leaves those to gurux, which raises what it always raised."""
    if len(apdu) < 5 or apdu[0] != GET_RESPONSE_TAG:
        return None
    kind, invoke_id, choice = apdu[1], apdu[2], apdu[3]
    if kind == GetRequestType.NORMAL:
        if choice == 0:
            return GetAnswer(invoke_id, apdu[4:])
        if choice == 1 and len(apdu) == 5 and apdu[4]:
            return GetAnswer(invoke_id, b"", apdu[4])
        return None
    if kind != GetRequestType.NEXT_DATA_BLOCK or len(apdu) < 10:
        return None
    last, number, choice = apdu[3] != 0, int.from_bytes(apdu[4:8], "big"), apdu[8]
    if choice == 1:
        refused = len(apdu) == 10 and apdu[9] != 0
        return GetAnswer(invoke_id, b"", apdu[9], number, last) if refused else None
    if choice != 0:
        return None
    try:
        length, offset = decode_length(apdu, 9)
    except FrameError:
        return None
    if offset + length != len(apdu):
        return None
    return GetAnswer(invoke_id, apdu[offset:], 0, number, last)


def next_block_request(invoke_id: int, block_number: int) -> bytes:
    """get-request-next acknowledging `block_number`, as gurux's receiverReady builds it."""
    return bytes((GET_REQUEST_TAG, GetRequestType.NEXT_DATA_BLOCK, invoke_id)) + (
        block_number.to_bytes(4, "big")
    )


def decode_value(settings: GXDLMSSettings, data: bytes) -> Any:
    """The `Data` of a whole GET answer: plain Data decoded here (`decode_plain_data`),
    any other by gurux's parser, as the library itself does at the end of a transfer."""
    try:
        return decode_plain_data(data)
    except NotPlainData:
        return _GXCommon.getData(settings, GXByteBuffer(data), _GXDataInfo())
