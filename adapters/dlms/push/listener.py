"""Listening for pushed DataNotifications: WRAPPER frames over UDP and TCP (asyncio).

Every frame ends in one outcome handed to the `PushSink`: a `DataNotification`, or a
`PushRejected` saying why (a security event or malformed bytes). Nothing a sender does
stops the listener: a bad frame costs that frame (on TCP, that connection), a failing sink
is logged. Frames are handled one at a time in arrival order, so that invocation counters
are checked in the order the network delivered them.

With a `FrameRecorder`, every datagram and every TCP frame is captured as it arrived,
with its outcome, the rejected ones included (those matter most to troubleshooting);
`identify` names the meter of an outcome (from its system title) for the capture.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from adapters.dlms.ciphering import SecurityKeys
from adapters.dlms.errors import DlmsError, FrameError, SecurityViolation
from adapters.dlms.frame_capture import CapturedFrame, FrameRecorder, new_session_id
from adapters.dlms.invocation_counters import InMemoryInvocationCounters, InvocationCounterStore
from adapters.dlms.push.notification import DataNotification, decode_push_apdu
from adapters.dlms.transport import WRAPPER_HEADER, WRAPPER_VERSION

log = logging.getLogger(__name__)

TCP_INACTIVITY_TIMEOUT = 300.0  # a silent push connection is closed after this long
JUNK_CAPTURE_LIMIT = 4096  # what is kept of a TCP stream that is not WRAPPER
QUEUE_LIMIT = 10_000  # UDP frames waiting for the sink; beyond this they are dropped


@dataclass(frozen=True)
class PushRejected:
    """A pushed frame that was not accepted. `security_event` marks what a HES must
    record and alert on (bad tag, replay, unknown sender, plain push refused); `reason`
    is the `SecurityEventKind` value, or "malformed" / "unsupported"."""

    reason: str
    security_event: bool
    detail: str
    peer: str
    system_title: str | None = None  # hex, when the frame named its sender


PushOutcome = DataNotification | PushRejected


class PushSink(Protocol):
    async def notification_received(self, notification: DataNotification, peer: str) -> None:
        """A checked notification; idempotent ingestion keys on `notification_id`."""
        ...

    async def push_rejected(self, rejection: PushRejected) -> None: ...


def unwrap(frame: bytes) -> bytes:
    """The APDU of one whole WRAPPER frame."""
    if len(frame) < WRAPPER_HEADER.size:
        raise FrameError(f"WRAPPER frame of {len(frame)} octets is shorter than its header")
    version, _source, _destination, length = WRAPPER_HEADER.unpack(frame[: WRAPPER_HEADER.size])
    if version != WRAPPER_VERSION:
        raise FrameError(f"not a WRAPPER frame (version {version})")
    if length != len(frame) - WRAPPER_HEADER.size:
        raise FrameError(
            f"WRAPPER length {length} does not match the {len(frame) - WRAPPER_HEADER.size} "
            "octets that follow the header"
        )
    return frame[WRAPPER_HEADER.size :]


class PushListener:
    """`listener = PushListener(sink, keyring={title: keys}); await listener.start()`."""

    def __init__(
        self,
        sink: PushSink,
        *,
        keyring: Mapping[bytes, SecurityKeys],
        counters: InvocationCounterStore | None = None,
        accept_plain: bool = True,
        host: str = "127.0.0.1",
        udp_port: int | None = 0,
        tcp_port: int | None = 0,
        recorder: FrameRecorder | None = None,
        identify: Callable[[PushOutcome], str | None] | None = None,
    ) -> None:
        self.sink = sink
        self.recorder = recorder
        self.identify = identify
        self.keyring = keyring
        self.counters = counters if counters is not None else InMemoryInvocationCounters()
        self.accept_plain = accept_plain
        self.host = host
        self._ports = (udp_port, tcp_port)
        self.udp_port: int | None = None
        self.tcp_port: int | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._queue: asyncio.Queue[tuple[bytes, str, dt.datetime]] = asyncio.Queue(QUEUE_LIMIT)
        self._worker: asyncio.Task[None] | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()  # one frame at a time, UDP and TCP alike

    async def start(self) -> None:
        udp_port, tcp_port = self._ports
        loop = asyncio.get_running_loop()
        if udp_port is not None:
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self._queue), local_addr=(self.host, udp_port)
            )
            self.udp_port = self._udp.get_extra_info("sockname")[1]
            self._worker = asyncio.create_task(self._drain_datagrams())
        if tcp_port is not None:
            self._tcp = await asyncio.start_server(self._serve_tcp, self.host, tcp_port)
            self.tcp_port = self._tcp.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        tasks = [*self._connections, *([self._worker] if self._worker else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._tcp is not None:
            await self._tcp.wait_closed()

    async def handle_frame(
        self,
        frame: bytes,
        peer: str,
        *,
        transport: Literal["tcp", "udp"] = "udp",
        session_id: str | None = None,
        received_at: dt.datetime | None = None,
    ) -> PushOutcome:
        """Check, decode and hand one WRAPPER frame to the sink; returns the outcome."""
        received_at = received_at or dt.datetime.now(dt.UTC)
        async with self._lock:
            outcome = self._decode(frame, peer)
            self._capture(frame, peer, outcome, transport, session_id, received_at)
            try:
                if isinstance(outcome, DataNotification):
                    await self.sink.notification_received(outcome, peer)
                else:
                    await self.sink.push_rejected(outcome)
            except Exception:  # the sink's failure must not stop the listener
                log.exception("push sink failed on a frame from %s", peer)
            return outcome

    def _capture(
        self,
        frame: bytes,
        peer: str,
        outcome: PushOutcome,
        transport: Literal["tcp", "udp"],
        session_id: str | None,
        received_at: dt.datetime,
    ) -> None:
        if self.recorder is None:
            return
        try:
            serial = self.identify(outcome) if self.identify is not None else None
            note = "accepted" if isinstance(outcome, DataNotification) else outcome.reason
            self.recorder.record(
                CapturedFrame(
                    received_at,
                    serial,
                    peer,
                    session_id,
                    "received",
                    "wrapper",
                    "push",
                    frame,
                    transport=transport,
                    note=note,
                )
            )
        except Exception:  # the capture must never cost a push
            log.exception("raw frame capture of a push from %s failed", peer)

    def _decode(self, frame: bytes, peer: str) -> PushOutcome:
        try:
            return decode_push_apdu(
                unwrap(frame),
                keyring=self.keyring,
                counters=self.counters,
                accept_plain=self.accept_plain,
            )
        except SecurityViolation as violation:
            log.warning("push security event from %s: %s", peer, violation)
            return PushRejected(
                violation.kind.value, True, str(violation), peer, violation.system_title
            )
        except DlmsError as error:
            reason = "malformed" if type(error) is FrameError else "unsupported"
            log.info("push from %s rejected: %s", peer, error)
            return PushRejected(reason, False, str(error), peer)

    async def _drain_datagrams(self) -> None:
        while True:
            frame, peer, received_at = await self._queue.get()
            try:
                await self.handle_frame(frame, peer, transport="udp", received_at=received_at)
            finally:
                self._queue.task_done()

    async def idle(self) -> None:
        """Waits until every datagram received so far, and the frame in hand, is handled."""
        await self._queue.join()
        async with self._lock:
            pass

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        host, port = writer.get_extra_info("peername")[:2]
        peer = f"{host}:{port}"
        connection = new_session_id()  # the frames of one TCP connection belong together
        try:
            while True:
                header = await asyncio.wait_for(
                    reader.readexactly(WRAPPER_HEADER.size), timeout=TCP_INACTIVITY_TIMEOUT
                )
                version, _source, _destination, length = WRAPPER_HEADER.unpack(header)
                if version != WRAPPER_VERSION:
                    # No way to find the next frame in a stream of unknown bytes: what
                    # came with it is kept for the capture, then the connection ends.
                    with contextlib.suppress(TimeoutError):
                        header += await asyncio.wait_for(
                            reader.read(JUNK_CAPTURE_LIMIT - len(header)), timeout=0.2
                        )
                    await self.handle_frame(header, peer, transport="tcp", session_id=connection)
                    return
                payload = await asyncio.wait_for(
                    reader.readexactly(length), timeout=TCP_INACTIVITY_TIMEOUT
                )
                await self.handle_frame(
                    header + payload, peer, transport="tcp", session_id=connection
                )
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass  # the sender went away or fell silent
        except asyncio.CancelledError:
            pass  # stop()
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue[tuple[bytes, str, dt.datetime]]) -> None:
        self._queue = queue

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        peer = f"{addr[0]}:{addr[1]}"
        try:
            self._queue.put_nowait((data, peer, dt.datetime.now(dt.UTC)))
        except asyncio.QueueFull:
            log.warning("push listener overloaded: datagram from %s dropped", peer)
