"""Building pushed DataNotifications, as a meter sends them: the APDU (0x0F), its
general-glo-ciphering (0xDB, naming the sender's system title) and the WRAPPER frame.

The counterpart of `notification` (which checks and decodes them on the HES side); the
simulated meters push with it.
"""

from __future__ import annotations

import datetime as dt

from adapters.dlms.ciphered_apdu import encode_general_glo
from adapters.dlms.ciphering import AUTHENTICATED_ENCRYPTED, SecurityKeys, protect
from adapters.dlms.cosem_datetime import encode_cosem_datetime
from adapters.dlms.push.notification import DATA_NOTIFICATION
from adapters.dlms.transport import wrapper_header

HIGH_PRIORITY = 0x80000000  # long-invoke-id-and-priority, bit 31
INVOKE_ID_MASK = 0x00FFFFFF
# wPorts of a push: from the management logical device, to the HES's push client (as
# the captured real meter frames have them).
PUSH_SOURCE_WPORT = 1
PUSH_DESTINATION_WPORT = 1


def encode_data_notification(
    body: bytes, *, invoke_id: int, high_priority: bool = False, sent_at: dt.datetime | None
) -> bytes:
    """DataNotification: long-invoke-id-and-priority, date-time (or none), body (`Data`)."""
    marker = (invoke_id & INVOKE_ID_MASK) | (HIGH_PRIORITY if high_priority else 0)
    stamp = encode_cosem_datetime(sent_at) if sent_at is not None else b""
    return (
        bytes((DATA_NOTIFICATION,))
        + marker.to_bytes(4, "big")
        + bytes((len(stamp),))
        + stamp
        + body
    )


def cipher_push(
    apdu: bytes, *, system_title: bytes, invocation_counter: int, keys: SecurityKeys
) -> bytes:
    """The APDU authenticated and encrypted (SC 0x30) in general-glo-ciphering."""
    content = protect(
        apdu,
        system_title=system_title,
        invocation_counter=invocation_counter,
        keys=keys,
        security_control=AUTHENTICATED_ENCRYPTED,
    )
    return encode_general_glo(system_title, content)


def wrap_push(apdu: bytes) -> bytes:
    return wrapper_header(PUSH_SOURCE_WPORT, PUSH_DESTINATION_WPORT, len(apdu)) + apdu
