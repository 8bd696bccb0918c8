"""TCP stand-ins between the HES and a simulated meter, each on its own loop and thread:
a proxy that counts connections and may hold answers back (a slow meter), and a meter
that accepts connections and never answers. Both note when the HES closed its end."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable


class _LoopThread:
    """An asyncio server on a loop of its own, for tests written synchronously."""

    def __init__(self) -> None:
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def start(self) -> int:
        started: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(target=asyncio.run, args=(self._run(started),), daemon=True)
        self._thread.start()
        self.port = started.result(timeout=5)
        return self.port

    async def _run(self, started: concurrent.futures.Future[int]) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._tracked(self.handle), "127.0.0.1", 0)
        started.set_result(server.sockets[0].getsockname()[1])
        await self._stopping.wait()
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _tracked(
        self, handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await handle(reader, writer)
            except (asyncio.CancelledError, ConnectionError):
                pass
            finally:
                self._tasks.discard(task)
                writer.close()

        return tracked

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> _LoopThread:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class MeterProxy(_LoopThread):
    """Forwards to the meter at ``upstream_port``; each chunk of the meter's answers is
    held back ``answer_delay`` seconds. Counts connections open now and at most."""

    def __init__(self, upstream_port: int, answer_delay: float = 0.0) -> None:
        super().__init__()
        self.upstream_port = upstream_port
        self.answer_delay = answer_delay
        self.active = 0
        self.peak = 0
        self.accepted_at: list[float] = []  # time.monotonic() of each connection
        self.closed_by_hes_at: list[float] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted_at.append(time.monotonic())
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            meter_reader, meter_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port
            )
            answers = asyncio.create_task(self._answers(meter_reader, writer))
            try:
                while data := await reader.read(4096):
                    meter_writer.write(data)
                    await meter_writer.drain()
                self.closed_by_hes_at.append(time.monotonic())
            finally:
                answers.cancel()
                meter_writer.close()
        finally:
            self.active -= 1

    async def _answers(self, meter: asyncio.StreamReader, hes: asyncio.StreamWriter) -> None:
        while data := await meter.read(4096):
            if self.answer_delay:
                await asyncio.sleep(self.answer_delay)
            hes.write(data)
            await hes.drain()


class SilentMeter(_LoopThread):
    """Accepts connections, reads what comes, never answers."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted_at: list[float] = []
        self.closed_by_hes_at: list[float] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted_at.append(time.monotonic())
        while await reader.read(4096):
            pass
        self.closed_by_hes_at.append(time.monotonic())
