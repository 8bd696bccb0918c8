"""Blanking secrets out of plain APDUs before they are kept as raw frames.

What crosses the wire in clear and must never be stored:

- the LLS password: the calling-authentication-value (0xAC) of an AARQ whose mechanism
  is low-level security (or names none). An HLS AARQ carries the client's challenge
  there, which is no secret and is kept, so that an authentication can be re-checked;
- a new LLS secret: SET of association LN (class 15) attribute 7;
- a new HLS secret: ACTION association LN (class 15) method 2 (change_HLS_secret).

Secrets are overwritten with zero octets and every length is kept, so the frame still
decodes. Anything this module cannot parse where a secret may sit is blanked to the end
(an unreadable AARQ field, a SET with a list): less to read, nothing leaked.
Ciphered APDUs need nothing: their secrets travel encrypted.
"""

from __future__ import annotations

AARQ = 0x60
SET_REQUEST = 0xC1
ACTION_REQUEST = 0xC3
CALLING_AUTHENTICATION_VALUE = 0xAC
MECHANISM_NAME = 0x8B
MECHANISM_LLS = 1
ASSOCIATION_LN_CLASS = 15
SECRET_ATTRIBUTE = 7
CHANGE_HLS_SECRET = 2
_DESCRIPTOR = 2 + 6 + 1  # class id, logical name, attribute or method id


def redact_apdu(apdu: bytes) -> bytes:
    """`apdu` with every secret it carries in clear overwritten by zeros."""
    if not apdu:
        return apdu
    if apdu[0] == AARQ:
        return _redact_aarq(apdu)
    if apdu[0] == SET_REQUEST:
        return _redact_set(apdu)
    if apdu[0] == ACTION_REQUEST:
        return _redact_action(apdu)
    return apdu


def _blank(data: bytes, start: int, end: int | None = None) -> bytes:
    end = len(data) if end is None else min(end, len(data))
    if start >= end:
        return data
    return data[:start] + bytes(end - start) + data[end:]


def _ber_header(data: bytes, offset: int) -> tuple[int, int, int] | None:
    """(tag, length, offset of the value) of the BER field at `offset`, or None."""
    if offset + 2 > len(data):
        return None
    tag, size = data[offset], data[offset + 1]
    offset += 2
    if size & 0x80:
        count = size & 0x7F
        if not 1 <= count <= 3 or offset + count > len(data):
            return None
        size = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    return tag, size, offset


def _redact_aarq(apdu: bytes) -> bytes:
    outer = _ber_header(apdu, 0)
    if outer is None:
        return _blank(apdu, 1)
    _tag, length, position = outer
    end = min(position + length, len(apdu))
    mechanism: int | None = None
    secret: tuple[int, int] | None = None
    while position < end:
        field = _ber_header(apdu, position)
        if field is None:
            return _blank(apdu, position)  # an unreadable rest may hold the password
        tag, size, value = field
        if tag == MECHANISM_NAME and size and value + size <= len(apdu):
            mechanism = apdu[value + size - 1]
        elif tag == CALLING_AUTHENTICATION_VALUE:
            inner = _ber_header(apdu, value)  # [0x80 charstring | 0x81 bitstring] length
            secret = (inner[2] if inner is not None else value, value + size)
        position = value + size
    if secret is None or (mechanism is not None and mechanism != MECHANISM_LLS):
        return apdu
    return _blank(apdu, *secret)


def _redact_set(apdu: bytes) -> bytes:
    """set-request: tag, choice, invoke-id, then one descriptor (normal, with first
    datablock) or a list of them (with list)."""
    if len(apdu) < 3:
        return apdu
    choice, body = apdu[1], 3
    if choice in (1, 2):
        if len(apdu) < body + _DESCRIPTOR:
            return _blank(apdu, body)  # cut inside the descriptor: nothing to tell
        if _names(apdu, body, ASSOCIATION_LN_CLASS, SECRET_ATTRIBUTE):
            return _blank(apdu, body + _DESCRIPTOR)
        return apdu
    # Lists: the descriptors are not walked; a list naming class 15 is blanked whole.
    if ASSOCIATION_LN_CLASS.to_bytes(2, "big") in apdu[body:]:
        return _blank(apdu, body)
    return apdu


def _redact_action(apdu: bytes) -> bytes:
    if len(apdu) < 3:
        return apdu
    choice, body = apdu[1], 3
    if choice != 1:  # with-list, with-pblock: no secret change goes that way here
        if ASSOCIATION_LN_CLASS.to_bytes(2, "big") in apdu[body:]:
            return _blank(apdu, body)
        return apdu
    if len(apdu) < body + _DESCRIPTOR:
        return _blank(apdu, body)
    if _names(apdu, body, ASSOCIATION_LN_CLASS, CHANGE_HLS_SECRET):
        return _blank(apdu, body + _DESCRIPTOR)
    return apdu


def _names(apdu: bytes, offset: int, class_id: int, member: int) -> bool:
    found_class = int.from_bytes(apdu[offset : offset + 2], "big")
    return found_class == class_id and apdu[offset + 8] == member
