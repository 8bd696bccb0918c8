"""Receiving pushes from meters: DataNotification APDUs in WRAPPER frames over UDP and TCP.

What lives here: `notification` decodes and checks one APDU (plain or general-glo-
ciphering, tag verified with `cryptography`, counter checked per system title);
`listener` runs the asyncio UDP/TCP servers and hands every outcome to a `PushSink`
(and every frame to a `FrameRecorder`); `push_objects` says what the load profile and
alarm pushes carry and reads a pushed load profile; `encoding` builds pushes as a meter
sends them (the simulated meters use it).
What may be touched from outside: the names exported below.
"""

from __future__ import annotations

from adapters.dlms.push.listener import PushListener, PushOutcome, PushRejected, PushSink, unwrap
from adapters.dlms.push.notification import (
    PUSH_NAMESPACE,
    DataNotification,
    decode_data_notification,
    decode_push_apdu,
    notification_id,
)

__all__ = [
    "PUSH_NAMESPACE",
    "DataNotification",
    "PushListener",
    "PushOutcome",
    "PushRejected",
    "PushSink",
    "decode_data_notification",
    "decode_push_apdu",
    "notification_id",
    "unwrap",
]
