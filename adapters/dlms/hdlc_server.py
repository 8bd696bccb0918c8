"""The meter side of an HDLC link (IEC 62056-46), sans I/O: frames in, frames out.

A frame that fails its HCS/FCS check, or is addressed to another device, is dropped
without an answer, as a meter on a shared line does; the connection lives on. A new SNRM
or a DISC ends the COSEM association carried by the link.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from adapters.dlms.errors import FrameError
from adapters.dlms.hdlc import (
    LLC_REQUEST,
    LLC_RESPONSE,
    FrameKind,
    HdlcAddress,
    HdlcFrame,
    decode_frame,
)
from adapters.dlms.hdlc_params import LinkParameters

log = logging.getLogger(__name__)

# (APDU, client SAP) -> answer APDU or None for silence.
ApduHandler = Callable[[bytes, int], bytes | None]


class HdlcServerLink:
    def __init__(
        self,
        handle_apdu: ApduHandler,
        *,
        logical_device: int,
        max_info_length: int,
        end_association: Callable[[], None],
        name: str = "meter",
        dropped_frames: list[str] | None = None,
    ) -> None:
        self._handle_apdu = handle_apdu
        self._end_association = end_association
        self.logical_device = logical_device
        self.max_info_length = max_info_length
        self.name = name
        # Why frames were dropped; a meter may share one list among its connections.
        self.dropped_frames: list[str] = dropped_frames if dropped_frames is not None else []
        self._client: HdlcAddress | None = None
        self._own: HdlcAddress = HdlcAddress(logical_device)
        self._send_sequence = 0
        self._receive_sequence = 0
        self._max_transmit = max_info_length
        self._received: list[bytes] = []
        self._outgoing: list[bytes] = []

    def receive(self, raw: bytes | FrameError) -> list[bytes]:
        """Frames to send back for one received frame (or a framing error)."""
        try:
            if isinstance(raw, FrameError):
                raise raw
            frame = decode_frame(raw)
        except FrameError as error:
            self.dropped_frames.append(str(error))
            log.info("%s: HDLC frame dropped: %s", self.name, error)
            return []
        if frame.destination.upper != self.logical_device:
            return []
        if frame.kind is FrameKind.SNRM:
            return [self._connect(frame)]
        if frame.kind is FrameKind.DISC:
            return [self._disconnect(frame)]
        if self._client is None or frame.source != self._client:
            return [self._reply(frame.source, frame.destination, FrameKind.DM)]
        if frame.kind is FrameKind.I:
            return self._information(frame)
        if frame.kind is FrameKind.RR:
            return self._ready(frame)
        return []  # UI, RNR ...: nothing to answer with window size 1

    def _reply(
        self,
        client: HdlcAddress,
        own: HdlcAddress,
        kind: FrameKind,
        *,
        info: bytes = b"",
        segmented: bool = False,
    ) -> bytes:
        send_sequence = 0
        if kind is FrameKind.I:
            send_sequence = self._send_sequence
            self._send_sequence = (self._send_sequence + 1) % 8
        return HdlcFrame(
            client,
            own,
            kind,
            poll_final=True,
            send_sequence=send_sequence,
            receive_sequence=self._receive_sequence,
            segmented=segmented,
            info=info,
        ).encode()

    def _connect(self, frame: HdlcFrame) -> bytes:
        if self._client is not None:
            self._end_association()  # a new link replaces the old one and its association
        try:
            offer = LinkParameters.decode(frame.info)
        except FrameError as error:
            self.dropped_frames.append(str(error))
            return self._reply(frame.source, frame.destination, FrameKind.FRMR)
        self._max_transmit = min(offer.max_info_receive, self.max_info_length)
        receive = min(offer.max_info_transmit, self.max_info_length)
        self._client, self._own = frame.source, frame.destination
        self._send_sequence = self._receive_sequence = 0
        self._received.clear()
        self._outgoing.clear()
        agreed = LinkParameters(self._max_transmit, receive)
        return self._reply(frame.source, frame.destination, FrameKind.UA, info=agreed.encode())

    def _disconnect(self, frame: HdlcFrame) -> bytes:
        if self._client is None or frame.source != self._client:
            return self._reply(frame.source, frame.destination, FrameKind.DM)
        self._client = None
        self._end_association()
        return self._reply(frame.source, frame.destination, FrameKind.UA)

    def _information(self, frame: HdlcFrame) -> list[bytes]:
        assert self._client is not None
        if frame.send_sequence != self._receive_sequence:
            # A lost or repeated frame: ask again for the one expected.
            return [self._reply(self._client, self._own, FrameKind.RR)]
        self._receive_sequence = (self._receive_sequence + 1) % 8
        self._received.append(frame.info)
        if frame.segmented:
            return [self._reply(self._client, self._own, FrameKind.RR)]
        data = b"".join(self._received)
        self._received.clear()
        if not data.startswith(LLC_REQUEST):
            self.dropped_frames.append("I-frame without the LLC header E6 E6 00")
            return [self._reply(self._client, self._own, FrameKind.RR)]
        answer = self._handle_apdu(data[len(LLC_REQUEST) :], self._client.upper)
        if answer is None:
            return [self._reply(self._client, self._own, FrameKind.RR)]
        payload = LLC_RESPONSE + answer
        size = self._max_transmit
        self._outgoing = [payload[i : i + size] for i in range(0, len(payload), size)]
        return [self._next_segment()]

    def _ready(self, frame: HdlcFrame) -> list[bytes]:
        assert self._client is not None
        if self._outgoing and frame.receive_sequence == self._send_sequence:
            return [self._next_segment()]
        return [self._reply(self._client, self._own, FrameKind.RR)]

    def _next_segment(self) -> bytes:
        assert self._client is not None
        segment = self._outgoing.pop(0)
        return self._reply(
            self._client, self._own, FrameKind.I, info=segment, segmented=bool(self._outgoing)
        )
