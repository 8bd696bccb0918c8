"""WRAPPER framing (IEC 62056-47) over an asyncio TCP stream, every I/O under a timeout.

We own the socket; gurux-dlms only builds and parses the bytes. Frames are cut here by
their 8-octet header, so the library never sees a partial or merged frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

from adapters.dlms.errors import ConnectionLost, FrameError, MeterTimeout, MeterUnreachable
from adapters.dlms.frame_capture import FrameTap

WRAPPER_VERSION = 1
WRAPPER_HEADER = struct.Struct(">HHHH")  # version, source wPort, destination wPort, length


class WrapperTransport:
    """One TCP connection to one meter; `tap` sees every frame sent and received."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        peer: str,
        timeout: float,
        tap: FrameTap | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.peer = peer
        self.timeout = timeout
        self.tap = tap

    @classmethod
    async def connect(
        cls, host: str, port: int, *, timeout: float, tap: FrameTap | None = None
    ) -> WrapperTransport:
        peer = f"{host}:{port}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), timeout=timeout
            )
        except TimeoutError:
            raise MeterUnreachable(f"meter {peer}: connect timed out after {timeout} s") from None
        except OSError as error:
            raise MeterUnreachable(f"meter {peer}: {error.strerror or error}") from None
        return cls(reader, writer, peer=peer, timeout=timeout, tap=tap)

    async def exchange(self, frame: bytes) -> bytes:
        """Send one frame and return the next whole frame the meter sends back."""
        try:
            if self.tap is not None:
                self.tap.sent(frame)
            self._writer.write(frame)
            await asyncio.wait_for(self._writer.drain(), timeout=self.timeout)
            return await asyncio.wait_for(self._read_frame(), timeout=self.timeout)
        except TimeoutError:
            raise MeterTimeout(f"meter {self.peer}: no answer within {self.timeout} s") from None
        except asyncio.IncompleteReadError:
            raise ConnectionLost(f"meter {self.peer}: connection closed mid-frame") from None
        except ConnectionError as error:
            raise ConnectionLost(f"meter {self.peer}: {error.strerror or error}") from None

    async def _read_frame(self) -> bytes:
        header = await self._reader.readexactly(WRAPPER_HEADER.size)
        version, _source, _destination, length = WRAPPER_HEADER.unpack(header)
        if version != WRAPPER_VERSION:
            if self.tap is not None:
                self.tap.received(header)
            raise FrameError(f"meter {self.peer}: not a WRAPPER frame (version {version})")
        frame = header + await self._reader.readexactly(length)
        if self.tap is not None:
            self.tap.received(frame)
        return frame

    async def close(self) -> None:
        if self.tap is not None:
            self.tap.close()
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), timeout=self.timeout)


def wrapper_header(source: int, destination: int, length: int) -> bytes:
    return WRAPPER_HEADER.pack(WRAPPER_VERSION, source, destination, length)


class WrapperChannel:
    """APDUs to and from one meter over WRAPPER: the wPorts are the client SAP and the
    logical device; a new association may use another client SAP on the same socket."""

    def __init__(self, transport: WrapperTransport, *, client_address: int, server_address: int):
        self._transport = transport
        self.client_address = client_address
        self.server_address = server_address
        self.peer = transport.peer

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        timeout: float,
        client_address: int,
        server_address: int,
        tap: FrameTap | None = None,
    ) -> WrapperChannel:
        transport = await WrapperTransport.connect(host, port, timeout=timeout, tap=tap)
        return cls(transport, client_address=client_address, server_address=server_address)

    async def exchange(self, apdu: bytes) -> bytes:
        frame = wrapper_header(self.client_address, self.server_address, len(apdu)) + apdu
        answer = await self._transport.exchange(frame)
        _version, source, destination, _length = WRAPPER_HEADER.unpack(answer[:8])
        if (source, destination) != (self.server_address, self.client_address):
            raise FrameError(
                f"meter {self.peer}: answer from wPort {source} to {destination}, expected "
                f"{self.server_address} to {self.client_address}"
            )
        return answer[WRAPPER_HEADER.size :]

    async def rebind(self, client_address: int) -> None:
        self.client_address = client_address

    async def close(self) -> None:
        await self._transport.close()
