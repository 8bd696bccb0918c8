"""Capturing the raw frames of sessions and pushes: the port the DLMS channels call.

A channel given a `FrameTap` hands it every whole frame it sends or receives; the tap
stamps the time, the meter, the session and the framing, removes secrets
(`frame_redaction`) and passes a `CapturedFrame` to a `FrameRecorder`. The channels know
nothing of SQL: the recorder that stores frames lives in `adapters.raw_frames`.

A recorder must be quick and must not raise (a busy listener or a meter session is never
slowed or failed by the capture); the tap swallows and logs what a recorder raises anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from adapters.dlms.errors import FrameError
from adapters.dlms.frame_redaction import redact_apdu
from adapters.dlms.hdlc import LLC_REQUEST, FrameKind, HdlcFrame, decode_frame

log = logging.getLogger(__name__)

Direction = Literal["sent", "received"]  # as seen from the HES
Framing = Literal["wrapper", "hdlc"]
CaptureKind = Literal["session", "push"]
WRAPPER_HEADER_SIZE = 8


@dataclass(frozen=True)
class CapturedFrame:
    """One frame as it crossed the wire (secrets blanked, `redacted` says so)."""

    at: dt.datetime  # UTC
    meter_serial: str | None  # None: a push whose sender is not known
    peer: str  # host:port of the other end
    session_id: str | None
    direction: Direction
    framing: Framing
    kind: CaptureKind
    data: bytes = field(repr=False)
    transport: Literal["tcp", "udp"] = "tcp"
    redacted: bool = False
    note: str | None = None  # for pushes: accepted, or why refused


class FrameRecorder(Protocol):
    def record(self, frame: CapturedFrame) -> None:
        """Keep the frame; quick, never blocking on I/O, never raising."""
        ...


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_session_id() -> str:
    return uuid.uuid4().hex


class FrameTap:
    """The frames of one connection to one meter (or one push connection)."""

    def __init__(
        self,
        recorder: FrameRecorder,
        *,
        meter_serial: str | None,
        peer: str,
        framing: Framing,
        kind: CaptureKind = "session",
        session_id: str | None = None,
    ) -> None:
        self.recorder = recorder
        self.meter_serial = meter_serial
        self.peer = peer
        self.framing = framing
        self.kind = kind
        self.session_id = session_id or new_session_id()
        # HDLC segments of one outgoing APDU, held until the last one so that a secret
        # cut across segments is blanked in each of them.
        self._held: list[tuple[dt.datetime, HdlcFrame, bytes]] = []

    def sent(self, frame: bytes) -> None:
        if self.framing == "hdlc":
            self._sent_hdlc(frame)
        else:
            header, apdu = frame[:WRAPPER_HEADER_SIZE], frame[WRAPPER_HEADER_SIZE:]
            clean = redact_apdu(apdu)
            self._record(utc_now(), "sent", header + clean, redacted=clean != apdu)

    def received(self, frame: bytes) -> None:
        self._record(utc_now(), "received", frame)

    def close(self) -> None:
        """Record what is still held (a session that ended between two segments)."""
        self._release_held()

    def _sent_hdlc(self, frame: bytes) -> None:
        try:
            decoded = decode_frame(frame)
        except FrameError:
            # Not a frame we can read, so nothing we could blank: keep only its length.
            self._record(utc_now(), "sent", b"", note=f"{len(frame)} octets not decodable")
            return
        if decoded.kind is not FrameKind.I:
            self._record(utc_now(), "sent", frame)
            return
        self._held.append((utc_now(), decoded, frame))
        if not decoded.segmented:
            self._release_held()

    def _release_held(self) -> None:
        held, self._held = self._held, []
        if not held:
            return
        joined = b"".join(frame.info for _at, frame, _raw in held)
        prefix = len(LLC_REQUEST) if joined.startswith(LLC_REQUEST) else 0
        clean = joined[:prefix] + redact_apdu(joined[prefix:])
        offset = 0
        for at, frame, raw in held:
            part = clean[offset : offset + len(frame.info)]
            offset += len(frame.info)
            if part == frame.info:
                self._record(at, "sent", raw)
            else:  # blanked: the frame is encoded again, with its check sequences
                self._record(at, "sent", replace(frame, info=part).encode(), redacted=True)

    def _record(
        self,
        at: dt.datetime,
        direction: Direction,
        data: bytes,
        *,
        redacted: bool = False,
        note: str | None = None,
    ) -> None:
        captured = CapturedFrame(
            at,
            self.meter_serial,
            self.peer,
            self.session_id,
            direction,
            self.framing,
            self.kind,
            data,
            redacted=redacted,
            note=note,
        )
        try:
            self.recorder.record(captured)
        except Exception:  # the capture must never cost the session
            log.exception("frame recorder failed; frame of %s not kept", self.peer)
