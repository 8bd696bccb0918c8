"""Where a meter listens (`MeterEndpoint`) and the channel that carries APDUs to it over
TCP: WRAPPER or HDLC framing behind one small protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from adapters.dlms import obis
from adapters.dlms.frame_capture import FrameTap
from adapters.dlms.hdlc import HdlcAddress
from adapters.dlms.hdlc_link import HdlcChannel
from adapters.dlms.transport import WrapperChannel


@dataclass(frozen=True)
class MeterEndpoint:
    """Where a meter listens. `client_address` None picks the public client (16), or the
    management client (1) when a password or HLS keys are given; `server_address` is the
    logical device (1 = management logical device). `framing` is WRAPPER (IEC 62056-47) or
    HDLC (IEC 62056-46) over the TCP connection; `physical_address` is the lower HDLC
    address, if the meter wants one."""

    host: str
    port: int
    client_address: int | None = None
    server_address: int = obis.MANAGEMENT_LOGICAL_DEVICE
    framing: Literal["wrapper", "hdlc"] = "wrapper"
    physical_address: int | None = None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class ApduChannel(Protocol):
    """Whole APDUs in and out; every I/O under the channel's timeout."""

    peer: str

    async def exchange(self, apdu: bytes) -> bytes: ...

    async def rebind(self, client_address: int) -> None:
        """Continue as another client SAP (a new association on the same connection)."""
        ...

    async def close(self) -> None: ...


async def open_channel(
    endpoint: MeterEndpoint, client_address: int, timeout: float, tap: FrameTap | None = None
) -> ApduChannel:
    """`tap`, if given, is handed every frame of the connection (raw frame capture)."""
    if endpoint.framing == "hdlc":
        return await HdlcChannel.connect(
            endpoint.host,
            endpoint.port,
            timeout=timeout,
            client_address=client_address,
            server_address=HdlcAddress(endpoint.server_address, endpoint.physical_address),
            tap=tap,
        )
    if endpoint.framing != "wrapper":
        raise ValueError(f"unknown framing {endpoint.framing!r}")
    return await WrapperChannel.connect(
        endpoint.host,
        endpoint.port,
        timeout=timeout,
        client_address=client_address,
        server_address=endpoint.server_address,
        tap=tap,
    )
