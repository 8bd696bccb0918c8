"""High-level security with GMAC (authentication mechanism 5) and security suite 0.

Pass 1/2: AARQ with the client's challenge CtoS, AARE with the meter's challenge StoC.
Pass 3/4: the client invokes reply_to_HLS_authentication (method 1 of the current
association 0.0.40.0.0.255) with f(StoC); the meter answers with f(CtoS).
f(X) = SC 0x10 | IC | GMAC(SC | AK | X), IV = sender's system title | IC (see `ciphering`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import NamedTuple

from adapters.dlms.ciphering import SYSTEM_TITLE_LENGTH, SecurityKeys
from adapters.dlms.errors import FrameError

ACTION_REQUEST, ACTION_RESPONSE = 0xC3, 0xC7
ACTION_NORMAL = 0x01
CLASS_ASSOCIATION_LN = 15
CURRENT_ASSOCIATION = bytes((0, 0, 40, 0, 0, 255))
REPLY_TO_HLS_AUTHENTICATION = 1
ACTION_SUCCESS, ACTION_OTHER_REASON = 0, 250
OCTET_STRING = 0x09
CHALLENGE_LENGTH = 16  # 8..64 allowed; 16 random octets
# The invocation counter of the management client's security setup, readable by the
# public client (IDIS): the next ciphered association continues above it.
INVOCATION_COUNTER = "0.0.43.1.0.255"


@dataclass(frozen=True)
class HlsKeys:
    """One side's system title and the global keys it shares with the other side (the
    HES's own title on the client, the meter's title in the simulator). Keys only travel in
    memory; the repr shows the title alone."""

    system_title: bytes
    block_cipher_key: bytes = field(repr=False)
    authentication_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.system_title) != SYSTEM_TITLE_LENGTH:
            raise ValueError("a system title has 8 octets")
        SecurityKeys(self.block_cipher_key, self.authentication_key)  # validates the keys

    @functools.cached_property
    def keys(self) -> SecurityKeys:
        return SecurityKeys(self.block_cipher_key, self.authentication_key)

    def __repr__(self) -> str:
        return f"HlsKeys(system_title={self.system_title.hex()})"


def new_challenge() -> bytes:
    return os.urandom(CHALLENGE_LENGTH)


def encode_reply_to_hls(invoke_id: int, answer: bytes) -> bytes:
    """action-request-normal: method 1 of the current association with f(StoC)."""
    return (
        bytes((ACTION_REQUEST, ACTION_NORMAL, invoke_id))
        + CLASS_ASSOCIATION_LN.to_bytes(2, "big")
        + CURRENT_ASSOCIATION
        + bytes((REPLY_TO_HLS_AUTHENTICATION, 1, OCTET_STRING, len(answer)))
        + answer
    )


class MethodInvocation(NamedTuple):
    invoke_id: int
    class_id: int
    logical_name: bytes
    method: int
    octet_string: bytes | None


def decode_action_request(apdu: bytes) -> MethodInvocation:
    """An action-request-normal whose parameter, if any, is an octet string."""
    if len(apdu) < 13 or apdu[0] != ACTION_REQUEST or apdu[1] != ACTION_NORMAL:
        raise FrameError("not an action-request-normal")
    invoke_id, class_id = apdu[2], int.from_bytes(apdu[3:5], "big")
    logical_name, method, has_parameter = apdu[5:11], apdu[11], apdu[12]
    parameter: bytes | None = None
    if has_parameter:
        if len(apdu) < 15 or apdu[13] != OCTET_STRING or apdu[14] != len(apdu) - 15:
            raise FrameError("method parameter is not one short octet string")
        parameter = apdu[15:]
    return MethodInvocation(invoke_id, class_id, logical_name, method, parameter)


def encode_action_response(invoke_id: int, result: int, answer: bytes | None) -> bytes:
    head = bytes((ACTION_RESPONSE, ACTION_NORMAL, invoke_id, result))
    if answer is None:
        return head + b"\x00"
    # return-parameters present, Get-Data-Result choice data, octet string
    return head + bytes((1, 0, OCTET_STRING, len(answer))) + answer


def decode_action_response(apdu: bytes) -> tuple[int, bytes | None]:
    """(action result, returned octet string or None)."""
    if len(apdu) < 5 or apdu[0] != ACTION_RESPONSE or apdu[1] != ACTION_NORMAL:
        raise FrameError("not an action-response-normal")
    result = apdu[3]
    if apdu[4] == 0:
        return result, None
    if len(apdu) < 8 or apdu[5] != 0 or apdu[6] != OCTET_STRING or apdu[7] != len(apdu) - 8:
        raise FrameError("action-response return parameter is not one octet string")
    return result, apdu[8:]
