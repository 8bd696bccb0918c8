"""The client side of an HDLC link (IEC 62056-46) over an asyncio TCP stream: SNRM/UA,
I-frames with segmentation acknowledged by RR, DISC. Carries one APDU per exchange.

Window size 1: each segment is sent and acknowledged before the next. A frame that fails
its HCS/FCS check ends the exchange with a `FrameError` naming the mismatch: the HES does
not wait for a retransmission that a TCP stream never needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adapters.dlms.errors import ConnectionLost, FrameError, MeterTimeout, MeterUnreachable
from adapters.dlms.frame_capture import FrameTap
from adapters.dlms.hdlc import (
    LLC_REQUEST,
    LLC_RESPONSE,
    FrameKind,
    FrameSplitter,
    HdlcAddress,
    HdlcFrame,
    decode_frame,
)
from adapters.dlms.hdlc_params import LinkParameters

log = logging.getLogger(__name__)

# What the HES offers to receive per I-frame; the meter may lower it in its UA.
CLIENT_MAX_INFO_LENGTH = 1024


class HdlcChannel:
    """APDUs to and from one meter over an HDLC link on TCP; `tap` sees every frame."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        peer: str,
        timeout: float,
        client_address: int,
        server_address: HdlcAddress,
        tap: FrameTap | None = None,
    ) -> None:
        self.tap = tap
        self._reader = reader
        self._writer = writer
        self.peer = peer
        self.timeout = timeout
        self.client_address = client_address
        self.server_address = server_address
        self._splitter = FrameSplitter()
        self._pending: list[bytes | FrameError] = []
        self._send_sequence = 0
        self._receive_sequence = 0
        self._max_transmit = CLIENT_MAX_INFO_LENGTH
        self._connected = False

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        timeout: float,
        client_address: int,
        server_address: HdlcAddress,
        tap: FrameTap | None = None,
    ) -> HdlcChannel:
        peer = f"{host}:{port}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), timeout=timeout
            )
        except TimeoutError:
            raise MeterUnreachable(f"meter {peer}: connect timed out after {timeout} s") from None
        except OSError as error:
            raise MeterUnreachable(f"meter {peer}: {error.strerror or error}") from None
        channel = cls(
            reader,
            writer,
            peer=peer,
            timeout=timeout,
            client_address=client_address,
            server_address=server_address,
            tap=tap,
        )
        try:
            await channel._open_link()
        except BaseException:
            if tap is not None:
                tap.close()
            writer.close()
            raise
        return channel

    def _frame(
        self,
        kind: FrameKind,
        *,
        send_sequence: int = 0,
        receive_sequence: int = 0,
        segmented: bool = False,
        info: bytes = b"",
    ) -> HdlcFrame:
        return HdlcFrame(
            self.server_address,
            HdlcAddress(self.client_address),
            kind,
            poll_final=True,
            send_sequence=send_sequence,
            receive_sequence=receive_sequence,
            segmented=segmented,
            info=info,
        )

    async def _open_link(self) -> None:
        offer = LinkParameters(CLIENT_MAX_INFO_LENGTH, CLIENT_MAX_INFO_LENGTH)
        answer = await self._command(self._frame(FrameKind.SNRM, info=offer.encode()))
        if answer.kind is not FrameKind.UA:
            raise FrameError(f"meter {self.peer}: SNRM answered with {answer.kind.value}, not UA")
        agreed = LinkParameters.decode(answer.info)
        # The UA speaks for the meter: what it receives bounds what we transmit.
        self._max_transmit = min(agreed.max_info_receive, CLIENT_MAX_INFO_LENGTH)
        self._send_sequence = self._receive_sequence = 0
        self._connected = True

    async def exchange(self, apdu: bytes) -> bytes:
        """Send one APDU (segmented as needed) and return the meter's whole answer."""
        if not self._connected:
            raise RuntimeError("HDLC link is not connected")
        data = LLC_REQUEST + apdu
        size = self._max_transmit
        segments = [data[i : i + size] for i in range(0, len(data), size)]
        for index, segment in enumerate(segments):
            last = index == len(segments) - 1
            answer = await self._command(self._information(segment, segmented=not last))
            if not last:
                self._expect_acknowledgement(answer)
        parts = [self._accept_information(answer)]
        while answer.segmented:
            answer = await self._command(
                self._frame(FrameKind.RR, receive_sequence=self._receive_sequence)
            )
            parts.append(self._accept_information(answer))
        reply = b"".join(parts)
        if not reply.startswith(LLC_RESPONSE):
            raise FrameError(f"meter {self.peer}: answer without the LLC header E6 E7 00")
        return reply[len(LLC_RESPONSE) :]

    def _information(self, segment: bytes, *, segmented: bool) -> HdlcFrame:
        frame = self._frame(
            FrameKind.I,
            send_sequence=self._send_sequence,
            receive_sequence=self._receive_sequence,
            segmented=segmented,
            info=segment,
        )
        self._send_sequence = (self._send_sequence + 1) % 8
        return frame

    def _expect_acknowledgement(self, answer: HdlcFrame) -> None:
        if answer.kind is not FrameKind.RR:
            raise FrameError(f"meter {self.peer}: segment answered with {answer.kind.value}")
        if answer.receive_sequence != self._send_sequence:
            raise FrameError(f"meter {self.peer}: segment not acknowledged (asks for a resend)")

    def _accept_information(self, answer: HdlcFrame) -> bytes:
        if answer.kind in (FrameKind.DM, FrameKind.FRMR):
            raise ConnectionLost(f"meter {self.peer}: link refused ({answer.kind.value})")
        if answer.kind is not FrameKind.I:
            raise FrameError(f"meter {self.peer}: expected an I-frame, got {answer.kind.value}")
        if answer.send_sequence != self._receive_sequence:
            raise FrameError(
                f"meter {self.peer}: I-frame N(S)={answer.send_sequence} out of sequence, "
                f"expected {self._receive_sequence}"
            )
        self._receive_sequence = (self._receive_sequence + 1) % 8
        return answer.info

    async def _command(self, frame: HdlcFrame) -> HdlcFrame:
        """Send a frame with the poll bit and return the meter's next frame to us."""
        try:
            encoded = frame.encode()
            if self.tap is not None:
                self.tap.sent(encoded)
            self._writer.write(encoded)
            await asyncio.wait_for(self._writer.drain(), timeout=self.timeout)
            return await asyncio.wait_for(self._next_frame(), timeout=self.timeout)
        except BaseException as error:
            # The link state is unknown now: close() must not try a DISC on it.
            self._connected = False
            if isinstance(error, TimeoutError):
                message = f"meter {self.peer}: no answer within {self.timeout} s"
                raise MeterTimeout(message) from None
            if isinstance(error, ConnectionError):
                raise ConnectionLost(f"meter {self.peer}: {error.strerror or error}") from None
            raise

    async def _next_frame(self) -> HdlcFrame:
        while True:
            while not self._pending:
                data = await self._reader.read(4096)
                if not data:
                    raise ConnectionLost(f"meter {self.peer}: connection closed")
                self._pending.extend(self._splitter.feed(data))
            item = self._pending.pop(0)
            if isinstance(item, FrameError):
                raise FrameError(f"meter {self.peer}: {item}")
            if self.tap is not None:
                self.tap.received(item)
            try:
                frame = decode_frame(item)
            except FrameError as error:
                raise FrameError(f"meter {self.peer}: {error}") from None
            if frame.destination == HdlcAddress(self.client_address):
                return frame
            log.debug("meter %s: frame for client %s ignored", self.peer, frame.destination)

    async def rebind(self, client_address: int) -> None:
        """Another client SAP means another link: DISC, then SNRM from the new address."""
        await self._disconnect()
        self.client_address = client_address
        self._pending.clear()
        await self._open_link()

    async def _disconnect(self) -> None:
        if not self._connected:
            return
        self._connected = False
        answer = await self._command(self._frame(FrameKind.DISC))
        if answer.kind not in (FrameKind.UA, FrameKind.DM):
            raise FrameError(f"meter {self.peer}: DISC answered with {answer.kind.value}")

    async def close(self) -> None:
        try:
            if self._connected:
                with contextlib.suppress(ConnectionLost, MeterTimeout, FrameError):
                    await self._disconnect()
        finally:
            if self.tap is not None:
                self.tap.close()
            self._writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(self._writer.wait_closed(), timeout=self.timeout)
