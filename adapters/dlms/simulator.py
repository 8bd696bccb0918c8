"""Simulated electricity meters served over real TCP on 127.0.0.1 (WRAPPER or HDLC framing,
LN referencing, optionally HLS-GMAC with glo-ciphering).

    fleet = SimulatedFleet([SimulatedMeterConfig("SIM0001", password="secret")])
    ports = await fleet.start()      # {serial: port}; port 0 in the config picks a free one
    ...
    await fleet.stop()

From synchronous code (the demo runs the fleet beside a web server):

    fleet = FleetThread(configs)
    ports = fleet.start()            # returns when every meter listens
    ...
    fleet.stop()                     # closes every connection and joins the thread

Each connection gets its own `SimulatedMeterServer` (association state); the meter's
metering state (`SimulatedMeter`) is shared by its connections.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any

from adapters.dlms.hdlc import FrameSplitter
from adapters.dlms.hdlc_server import HdlcServerLink
from adapters.dlms.meter_server import SimulatedMeterServer
from adapters.dlms.server_fixes import MalformedFrame
from adapters.dlms.simulated_faults import (
    PowerFailure,
    ProfileEntriesLost,
    Tamper,
    VoltageDisturbance,
)
from adapters.dlms.simulated_link_faults import ConnectionDropped, FaultyLink, LinkFaults
from adapters.dlms.simulated_meter import SimulatedMeter, SimulatedMeterConfig
from adapters.dlms.simulated_pushes import FleetPushes, MeterPusher, PushSettings
from adapters.dlms.transport import WRAPPER_HEADER, WRAPPER_VERSION

__all__ = [
    "FleetThread",
    "LinkFaults",
    "MeterSimulator",
    "PowerFailure",
    "ProfileEntriesLost",
    "SimulatedFleet",
    "SimulatedMeter",
    "SimulatedMeterConfig",
    "Tamper",
    "VoltageDisturbance",
    "serve_fleet",
]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
# A client silent this long loses its connection, as a meter's inactivity timeout does;
# it also bounds what a vanished client can hold.
INACTIVITY_TIMEOUT = 120.0


class MeterSimulator:
    """One simulated meter listening on its own port."""

    def __init__(self, config: SimulatedMeterConfig) -> None:
        self.config = config
        self.meter = SimulatedMeter(config)
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.dropped_frames: list[str] = []  # HDLC frames dropped (bad CRC ...), why
        self.link_faults = LinkFaults()  # scripted per meter by the fleet
        self._closed_port: socket.socket | None = None  # an unreachable meter's port

    @property
    def serial(self) -> str:
        return self.config.serial

    async def start(self) -> int:
        if self.link_faults.unreachable:
            # The port is held but nothing listens: every connection is refused.
            self._closed_port = socket.socket()
            self._closed_port.bind((HOST, self.config.port))
            self.port = self._closed_port.getsockname()[1]
            return self.port
        self._server = await asyncio.start_server(self._serve, HOST, self.config.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._closed_port is not None:
            self._closed_port.close()
            self._closed_port = None
        if self._server is not None:
            self._server.close()
        # Python 3.11's wait_closed() does not wait for open connections: end them here.
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        server = SimulatedMeterServer(self.meter)
        link = FaultyLink(self.link_faults)
        try:
            if self.config.framing == "hdlc":
                await self._serve_hdlc(server, reader, writer, link)
            else:
                await _serve_wrapper(server, reader, writer, link)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass  # the client went away or fell silent: a meter just frees the channel
        except ConnectionDropped as why:
            log.info("meter %s: %s", self.serial, why)
        except MalformedFrame as error:
            log.info("meter %s: dropping connection after malformed frame: %s", self.serial, error)
        except asyncio.CancelledError:
            pass  # stop(): end this connection without propagating into the server
        except Exception:  # a bug must cost one connection, never the meter
            log.exception("meter %s: connection failed", self.serial)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve_hdlc(
        self,
        server: SimulatedMeterServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        faults: FaultyLink,
    ) -> None:
        link = HdlcServerLink(
            server.handle_apdu,
            logical_device=server.logical_device,
            max_info_length=self.config.hdlc_max_info_length,
            end_association=server.end_association,
            name=f"meter {self.serial}",
            dropped_frames=self.dropped_frames,
        )
        splitter = FrameSplitter()
        while True:
            data = await asyncio.wait_for(reader.read(4096), timeout=INACTIVITY_TIMEOUT)
            if not data:
                return
            for raw in splitter.feed(data):
                for answer in link.receive(raw):
                    await faults.before_answer()
                    writer.write(faults.spoiled(answer))
            await writer.drain()


async def _serve_wrapper(
    server: SimulatedMeterServer,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    faults: FaultyLink,
) -> None:
    while True:
        frame = await _read_frame(reader)
        if frame is None:
            return
        reply = server.handle_frame(frame)
        if reply:
            await faults.before_answer()
            writer.write(faults.spoiled(reply))
            await writer.drain()


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """One WRAPPER frame, or None at a clean end of stream or on a non-WRAPPER header."""
    try:
        header = await asyncio.wait_for(
            reader.readexactly(WRAPPER_HEADER.size), timeout=INACTIVITY_TIMEOUT
        )
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            return None
        raise
    version, _source, _destination, length = WRAPPER_HEADER.unpack(header)
    if version != WRAPPER_VERSION:
        return None
    payload = await asyncio.wait_for(reader.readexactly(length), timeout=INACTIVITY_TIMEOUT)
    return header + payload


class SimulatedFleet:
    """Many meters on one event loop, each on its own port; with `pushes`, each meter
    also pushes its load profile and alarms (`simulated_pushes`)."""

    def __init__(
        self,
        configs: Iterable[SimulatedMeterConfig],
        pushes: PushSettings | None = None,
        link_faults: Mapping[str, LinkFaults] | None = None,
    ) -> None:
        self.meters = [MeterSimulator(config) for config in configs]
        serials = [meter.serial for meter in self.meters]
        if len(set(serials)) != len(serials):
            raise ValueError("serial numbers in a fleet must be unique")
        unknown = set(link_faults or ()) - set(serials)
        if unknown:
            raise ValueError(f"link faults for meters not in the fleet: {sorted(unknown)}")
        for simulator in self.meters:
            simulator.link_faults = (link_faults or {}).get(simulator.serial, LinkFaults())
        # The HES keeps replay counters per system title: two meters sharing one would
        # look like one meter replaying.
        titles = [m.config.hls_keys.system_title for m in self.meters if m.config.hls_keys]
        if len(set(titles)) != len(titles):
            raise ValueError("system titles in a fleet must be unique")
        meters = {simulator.serial: simulator.meter for simulator in self.meters}
        self.pushes = FleetPushes(pushes, meters) if pushes is not None else None

    @property
    def ports(self) -> dict[str, int]:
        return {meter.serial: meter.port for meter in self.meters if meter.port is not None}

    def meter(self, serial: str) -> SimulatedMeter:
        for simulator in self.meters:
            if simulator.serial == serial:
                return simulator.meter
        raise KeyError(serial)

    def pusher(self, serial: str) -> MeterPusher:
        if self.pushes is None:
            raise RuntimeError("this fleet was started without push settings")
        return self.pushes.pusher(serial)

    async def start(self) -> dict[str, int]:
        try:
            await asyncio.gather(*(meter.start() for meter in self.meters))
        except BaseException:
            await self.stop()
            raise
        if self.pushes is not None:
            self.pushes.start()
        return self.ports

    async def stop(self) -> None:
        if self.pushes is not None:
            await self.pushes.stop()
        await asyncio.gather(*(meter.stop() for meter in self.meters))


async def serve_fleet(configs: Iterable[SimulatedMeterConfig]) -> SimulatedFleet:
    """Start a fleet on the running loop; `await fleet.stop()` when done."""
    fleet = SimulatedFleet(configs)
    await fleet.start()
    return fleet


class FleetThread:
    """A `SimulatedFleet` on its own event loop in a daemon thread, for synchronous code."""

    def __init__(
        self,
        configs: Iterable[SimulatedMeterConfig],
        pushes: PushSettings | None = None,
        link_faults: Mapping[str, LinkFaults] | None = None,
    ) -> None:
        self.fleet = SimulatedFleet(configs, pushes, link_faults)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def ports(self) -> dict[str, int]:
        return self.fleet.ports

    def meter(self, serial: str) -> SimulatedMeter:
        """The metering state behind a serial (what it generates, for tests and the demo)."""
        return self.fleet.meter(serial)

    def push_load_profile(self, serial: str, timeout: float = 10.0) -> bytes:
        """The meter pushes its load profile now; returns the frame it sent."""
        return self._on_loop(self.fleet.pusher(serial).push_load_profile(), timeout)

    def push_alarm(self, serial: str, kind: str, timeout: float = 10.0) -> bytes:
        """The meter pushes an alarm (`simulated_pushes.ALARM_KINDS`) now."""
        return self._on_loop(self.fleet.pusher(serial).push_alarm(kind), timeout)

    def _on_loop(self, work: Coroutine[Any, Any, bytes], timeout: float) -> bytes:
        if self._loop is None:
            work.close()
            raise RuntimeError("fleet thread not started")
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def start(self, timeout: float = 10.0) -> dict[str, int]:
        if self._thread is not None:
            raise RuntimeError("fleet thread already started")
        started: concurrent.futures.Future[dict[str, int]] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._run(started),), name="simulated-fleet", daemon=True
        )
        self._thread.start()
        return started.result(timeout=timeout)

    async def _run(self, started: concurrent.futures.Future[dict[str, int]]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            ports = await self.fleet.start()
        except BaseException as error:
            started.set_exception(error)
            return
        started.set_result(ports)
        try:
            await self._stopping.wait()
        finally:
            await self.fleet.stop()

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may have ended already
                loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("simulated fleet did not stop in time")
        self._thread = None

    def __enter__(self) -> FleetThread:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
