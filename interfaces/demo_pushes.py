"""The demo's push listener: the simulated meters push to it as meters in the field do.

Each meter pushes its load profile every quarter hour (HLS-GMAC ciphered, general-glo-
ciphering, over UDP) and an alarm when a scripted fault happens; the listener verifies
each push with the meter's keys from the vault and records it through the HeadEnd, the
load profile into the meter's channel (a push of intervals the cycle has read already
records nothing new). The listener runs on its own event loop in a thread, on a free
UDP port of 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import threading

from adapters.dlms.simulated_pushes import PushDestination, PushSettings
from adapters.push_service import PushService
from interfaces.installation import Installation

PUSH_EVERY = dt.timedelta(minutes=15)


class DemoPushListener:
    def __init__(self, installation: Installation) -> None:
        self.installation = installation
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self.udp_port: int | None = None

    def start(self, timeout: float = 30.0) -> PushSettings:
        """Listens; returns where and how often the simulated meters are to push."""
        started: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._run(started),), name="demo-pushes", daemon=True
        )
        self._thread.start()
        self.udp_port = started.result(timeout)
        return PushSettings(PushDestination("127.0.0.1", self.udp_port, "udp"), every=PUSH_EVERY)

    async def _run(self, started: concurrent.futures.Future[int]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        service = PushService(self.installation, udp_port=0, tcp_port=None)
        try:
            await service.start()
        except BaseException as error:
            started.set_exception(error)
            raise
        assert service.listener.udp_port is not None
        started.set_result(service.listener.udp_port)
        try:
            await self._stopping.wait()
        finally:
            await service.stop()

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)
