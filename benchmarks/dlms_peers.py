"""The far end of `benchmarks.dlms_fleet`, each in its own process so that the client's CPU
is measured alone: a fleet of simulated meters (`adapters.dlms.simulator`, as `hes simulate`
serves them) and a replay server that answers recorded WRAPPER frames without any DLMS.

    with PeerProcess.meters("plain", count=400) as peer:      # or "ciphered"
        peer.endpoints                                        # [(host, port), ...]
        peer.cpu_seconds()                                    # the peer's CPU so far
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Literal

from adapters.dlms.hls import HlsKeys
from adapters.dlms.transport import WRAPPER_HEADER

HOST = "127.0.0.1"
Mode = Literal["plain", "ciphered"]
# Benchmark-only secrets: the simulated meters and the client share them in memory.
LLS_PASSWORD = "fleet-bench"
BLOCK_CIPHER_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTHENTICATION_KEY = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")
HES_KEYS = HlsKeys(bytes.fromhex("4845530000000001"), BLOCK_CIPHER_KEY, AUTHENTICATION_KEY)


def meter_keys(number: int) -> HlsKeys:
    """Every meter has its own system title: the HES keeps replay counters per title."""
    return HlsKeys(b"BEN" + number.to_bytes(5, "big"), BLOCK_CIPHER_KEY, AUTHENTICATION_KEY)


@dataclass(frozen=True)
class PeerSpec:
    """What a peer process serves: `count` meters numbered from `first`, or (with
    `answers`) a replay server on one port."""

    mode: Mode
    first: int = 1
    count: int = 0
    answers: tuple[bytes, ...] = ()


class PeerProcess:
    """A spawned process serving on 127.0.0.1 until the context ends."""

    def __init__(self, spec: PeerSpec) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(spec, child), daemon=True)
        self.endpoints: list[tuple[str, int]] = []

    @classmethod
    def meters(cls, mode: Mode, *, first: int = 1, count: int) -> PeerProcess:
        return cls(PeerSpec(mode, first, count))

    @classmethod
    def replay(cls, mode: Mode, answers: Sequence[bytes]) -> PeerProcess:
        return cls(PeerSpec(mode, answers=tuple(answers)))

    def __enter__(self) -> PeerProcess:
        self._process.start()
        if not self._conn.poll(120):
            self._process.kill()
            raise RuntimeError("peer process did not start listening within 120 s")
        self.endpoints = [(HOST, port) for port in self._conn.recv()]
        return self

    def cpu_seconds(self) -> float:
        self._conn.send("cpu")
        value = self._conn.recv()
        assert isinstance(value, float)
        return value

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):  # the process may have died already
            self._conn.send("stop")
        self._process.join(30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def serve(spec: PeerSpec, conn: Connection) -> None:
    asyncio.run(_serve(spec, conn))


async def _serve(spec: PeerSpec, conn: Connection) -> None:
    if spec.answers:
        server = await asyncio.start_server(
            lambda reader, writer: _replay(spec.answers, reader, writer), HOST, 0, backlog=4096
        )
        conn.send([server.sockets[0].getsockname()[1]])
        await _answer_until_stopped(conn)
        server.close()
        return
    from adapters.dlms.simulator import SimulatedFleet

    fleet = SimulatedFleet(_meter_configs(spec))
    conn.send(list((await fleet.start()).values()))
    try:
        await _answer_until_stopped(conn)
    finally:
        await fleet.stop()


async def _answer_until_stopped(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, conn.recv) == "cpu":
        conn.send(time.process_time())


def _meter_configs(spec: PeerSpec) -> list[Any]:
    from adapters.dlms.simulator import SimulatedMeterConfig

    numbers = range(spec.first, spec.first + spec.count)
    if spec.mode == "ciphered":
        return [
            SimulatedMeterConfig(f"BEN{n:07d}", hls_keys=meter_keys(n), history_days=2)
            for n in numbers
        ]
    return [
        SimulatedMeterConfig(f"BEN{n:07d}", password=LLS_PASSWORD, history_days=2) for n in numbers
    ]


async def _replay(
    answers: Sequence[bytes], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer the n-th WRAPPER frame of a connection with the n-th recorded answer."""
    try:
        for answer in answers:
            header = await reader.readexactly(WRAPPER_HEADER.size)
            await reader.readexactly(WRAPPER_HEADER.unpack(header)[3])
            writer.write(answer)
        await reader.read()  # until the client closes
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
