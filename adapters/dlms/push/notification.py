"""Decoding pushed DataNotification APDUs: plain (0x0F) or general-glo-ciphering (0xDB).

A ciphered push is accepted only if its sender's system title is known, its GCM tag
verifies (checked here with `cryptography`, never by gurux) and its invocation counter is
above the last one accepted from that title. Every failure is a typed `DlmsError`:
`SecurityViolation` for security events, `FrameError`/`UnsupportedFrame` for bytes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.dlms.axdr import decode_data
from adapters.dlms.ciphered_apdu import GENERAL_GLO_CIPHERING, decode_ciphered
from adapters.dlms.ciphering import SecurityKeys, unprotect
from adapters.dlms.cosem_datetime import COSEM_DATETIME_LENGTH, decode_cosem_datetime
from adapters.dlms.errors import (
    FrameError,
    SecurityEventKind,
    SecurityViolation,
    UnsupportedFrame,
)
from adapters.dlms.invocation_counters import InvocationCounterStore

DATA_NOTIFICATION = 0x0F
# Fixed for ever: notification ids must come out the same in every process and release.
PUSH_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:hes-mdm:dlms:data-notification")


@dataclass(frozen=True)
class DataNotification:
    """One pushed DataNotification, checked and decoded.

    `notification_id` is deterministic: uuid5 of (system title, invocation counter) for a
    ciphered push, of the plain APDU's bytes for a plain one; the same push received twice
    (UDP retransmission, a meter repeating itself) has the same id, so the consumer can
    ingest idempotently.
    """

    notification_id: uuid.UUID
    system_title: bytes | None  # None: a plain push names no sender
    invocation_counter: int | None
    long_invoke_id: int
    sent_at: dt.datetime | None  # the meter's date-time, when it sent one it could state
    body: Any  # the notification-body Data: lists, ints, bytes, str, None
    apdu: bytes  # the plain DataNotification APDU


def notification_id(
    system_title: bytes | None, invocation_counter: int | None, apdu: bytes
) -> uuid.UUID:
    if system_title is not None and invocation_counter is not None:
        return uuid.uuid5(PUSH_NAMESPACE, f"{system_title.hex()}:{invocation_counter}")
    return uuid.uuid5(PUSH_NAMESPACE, apdu.hex())


def decode_push_apdu(
    apdu: bytes,
    *,
    keyring: Mapping[bytes, SecurityKeys],
    counters: InvocationCounterStore,
    accept_plain: bool = True,
) -> DataNotification:
    """Check and decode one pushed APDU (a DataNotification, plain or ciphered)."""
    if not apdu:
        raise FrameError("empty push APDU")
    if apdu[0] == DATA_NOTIFICATION:
        if not accept_plain:
            raise SecurityViolation(
                "plain DataNotification refused: pushes must be ciphered",
                kind=SecurityEventKind.NOT_PROTECTED,
            )
        return decode_data_notification(apdu, None, None)
    if apdu[0] != GENERAL_GLO_CIPHERING:
        raise UnsupportedFrame(f"push APDU 0x{apdu[0]:02x}: only DataNotification (0x0f, 0xdb)")
    ciphered = decode_ciphered(apdu)
    title = ciphered.system_title
    assert title is not None  # general-glo-ciphering always names its sender
    keys = keyring.get(title)
    if keys is None:
        raise SecurityViolation(
            f"push from unknown system title {title.hex()}",
            kind=SecurityEventKind.UNKNOWN_SYSTEM_TITLE,
            system_title=title.hex(),
        )
    unprotected = unprotect(ciphered.content, system_title=title, keys=keys)
    counter = unprotected.invocation_counter
    if not counters.accept(title, counter):
        raise SecurityViolation(
            f"push from {title.hex()} with invocation counter {counter}, not above the last "
            f"accepted {counters.last_accepted(title)}: replayed",
            kind=SecurityEventKind.REPLAYED_COUNTER,
            system_title=title.hex(),
        )
    return decode_data_notification(unprotected.plaintext, title, counter)


def decode_data_notification(
    apdu: bytes, system_title: bytes | None, invocation_counter: int | None
) -> DataNotification:
    """long-invoke-id-and-priority (4), date-time (length-prefixed octet string), body."""
    if len(apdu) < 6 or apdu[0] != DATA_NOTIFICATION:
        raise FrameError("not a DataNotification APDU (0x0f)")
    long_invoke_id = int.from_bytes(apdu[1:5], "big")
    length = apdu[5]
    offset = 6
    sent_at: dt.datetime | None = None
    if length == COSEM_DATETIME_LENGTH:
        raw = apdu[offset : offset + length]
        if len(raw) != length:
            raise FrameError("DataNotification date-time cut short")
        try:
            sent_at = decode_cosem_datetime(raw)
        except FrameError:
            sent_at = None  # a date-time with unspecified fields: no instant to keep
        offset += length
    elif length != 0:
        raise FrameError(f"DataNotification date-time of {length} octets (0 or 12 expected)")
    body, offset = decode_data(apdu, offset)
    if offset != len(apdu):
        raise FrameError(f"{len(apdu) - offset} octets after the notification body")
    return DataNotification(
        notification_id(system_title, invocation_counter, apdu),
        system_title,
        invocation_counter,
        long_invoke_id,
        sent_at,
        body,
        apdu,
    )
