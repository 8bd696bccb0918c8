"""DLMS fleet reads: one-day 15-min load-profile sessions, plain and ciphered, many in flight.

    .venv/bin/python -m benchmarks.dlms_fleet [--meters 400] [--concurrency 200] [--rounds 5]
        [--mode both|plain|ciphered] [--client-processes 2] [--meter-processes 1]
        [--rtt 0.3] [--profile]

One session is what the HES's collection runs for one meter and one day:
`adapters.dlms.read_load_profile` of yesterday (UTC) over WRAPPER on TCP to 127.0.0.1:
connect, associate, GET the serial number, the capture objects, the capture period and
the energy register's scaler_unit, GET the buffer by range (96 intervals kept, in blocks),
release, close. Plain is the management client with LLS. Ciphered is HLS-GMAC, security
suite 0, authenticated encryption: the public client first reads the meter's invocation
counter, then the ciphered association checks every received tag and counter and ends with
a protected release. Every session must return 96 intervals or it counts as failed.

The meters are simulated in other processes (`benchmarks.dlms_peers`, the simulator's
fleet mode), so this process's `time.process_time()` over the timed sessions is the
client's CPU alone. `--concurrency` sessions are in flight on one asyncio loop, never two
on one meter (a meter serves one association at a time; its counters must not interleave).

Baseline in the same run: as many sessions at the same concurrency against a replay server
that answers the WRAPPER frames recorded from one real session of the mode - connect, send
the same request frames through the product's transport, receive the same answer bytes,
close: what the sockets and the event loop cost without any DLMS.

The simulated load profile has one energy channel. "362,000 meters x 4 channels" is
extrapolated two ways: (A) the 4 channels are 4 columns of one profile, read in one
session per meter, costed as the measured session plus the measured parse of 3 more
columns plus 3 more scaler_unit GETs and the GET blocks the longer buffer needs (at the
session's mean CPU per exchange); (B) one session per channel, 4 per meter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import io
import os
import platform
import pstats
import statistics
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any
from unittest import mock

from adapters.dlms import DlmsError, InMemoryInvocationCounters, MeterEndpoint, read_load_profile
from adapters.dlms.transport import WrapperTransport
from benchmarks.dlms_columns import extra_blocks, extra_column_cost_ms
from benchmarks.dlms_peers import HES_KEYS, LLS_PASSWORD, Mode, PeerProcess

METERS_TO_READ = 362_000
CHANNELS = 4
WINDOW_SECONDS = 3 * 3600  # 04:00-07:00
TARGETS = {"plain": 150.0, "ciphered": 100.0}  # one-day sessions/s per client core
INTERVALS = 96
TIMEOUT = 30.0
Endpoint = tuple[str, int]
SessionFn = Callable[[str, int], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Timed:
    """Sessions run with many in flight: wall time and this process's CPU over them."""

    sessions: int  # completed; failed ones are counted in `failures` only
    failures: tuple[str, ...]
    wall: float
    cpu: float
    latency_p50: float

    @property
    def per_second(self) -> float:
        return self.sessions / self.wall

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.sessions if self.sessions else float("nan")

    @property
    def per_core(self) -> float:
        """Sessions a client core completes per second of its CPU."""
        return self.sessions / self.cpu if self.cpu else float("nan")


@dataclass(frozen=True)
class ModeResult:
    mode: Mode
    dlms: Timed
    baseline: Timed
    meter_cpu: float  # CPU seconds of the meter processes during the DLMS sessions
    exchanges: int  # request frames per session
    octets: int  # WRAPPER octets per session, both directions


def yesterday() -> tuple[dt.datetime, dt.datetime]:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=1), today


def dlms_session(
    mode: Mode, counters: InMemoryInvocationCounters, with_context: bool = False
) -> SessionFn:
    """``with_context``: the session the collection runs, which also reads the daily
    billing profile (the midnight registers) and the standard event log of the day."""
    start, end = yesterday()

    async def session(host: str, port: int) -> None:
        reading = await read_load_profile(
            MeterEndpoint(host, port),
            start=start,
            end=end,
            password=LLS_PASSWORD if mode == "plain" else None,
            security=HES_KEYS if mode == "ciphered" else None,
            counters=counters,
            timeout=TIMEOUT,
            with_billing=with_context,
            with_events=with_context,
        )
        if with_context and len(reading.billing) != 2:
            raise DlmsError(f"{len(reading.billing)} midnight snapshots, 2 expected")
        if len(reading.rows) != INTERVALS:
            raise DlmsError(f"{len(reading.rows)} intervals, {INTERVALS} expected")

    return session


def bare_session(frames: Sequence[tuple[bytes, bytes]]) -> SessionFn:
    async def session(host: str, port: int) -> None:
        transport = await WrapperTransport.connect(host, port, timeout=TIMEOUT)
        try:
            for request, answer in frames:
                if len(await transport.exchange(request)) != len(answer):
                    raise DlmsError("replayed answer of another length")
        finally:
            await transport.close()

    return session


async def run_sessions(
    endpoints: Sequence[Endpoint],
    rounds: int,
    concurrency: int,
    session: SessionFn,
    profiler: cProfile.Profile | None = None,
) -> Timed:
    """Every endpoint `rounds` times, `concurrency` sessions in flight, one per meter."""
    jobs = iter([index for _ in range(rounds) for index in range(len(endpoints))])
    locks = [asyncio.Lock() for _ in endpoints]
    failures: list[str] = []
    latencies: list[float] = []

    async def worker() -> None:
        for index in jobs:
            async with locks[index]:
                began = time.perf_counter()
                try:
                    await session(*endpoints[index])
                except DlmsError as error:
                    failures.append(f"{type(error).__name__}: {error}")
                else:
                    latencies.append(time.perf_counter() - began)

    cpu, wall = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(endpoints)))))
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    median = statistics.median(latencies) if latencies else float("nan")
    return Timed(len(latencies), tuple(failures), wall, cpu, median)


@contextlib.contextmanager
def recorded_frames() -> Iterator[list[tuple[bytes, bytes]]]:
    """Every (request, answer) WRAPPER frame pair exchanged while the context is open."""
    frames: list[tuple[bytes, bytes]] = []
    original = WrapperTransport.exchange

    async def recording(self: WrapperTransport, frame: bytes) -> bytes:
        answer = await original(self, frame)
        frames.append((frame, answer))
        return answer

    with mock.patch.object(WrapperTransport, "exchange", recording):
        yield frames


def measure(mode: Mode, args: argparse.Namespace) -> ModeResult:
    counters = InMemoryInvocationCounters()
    session = dlms_session(mode, counters, args.with_context)
    share = -(-args.meters // args.meter_processes)
    peers = [
        PeerProcess.meters(mode, first=first, count=min(share, args.meters - first + 1))
        for first in range(1, args.meters + 1, share)
    ]
    with contextlib.ExitStack() as stack:
        endpoints = [end for peer in peers for end in stack.enter_context(peer).endpoints]
        with recorded_frames() as frames:
            asyncio.run(session(*endpoints[0]))
        if not frames:
            raise RuntimeError("no WRAPPER frames recorded: the transport changed its exchange()")
        # Warm-up, untimed: imports, caches and the first association of some meters.
        asyncio.run(run_sessions(endpoints[1 : args.concurrency + 1], 1, args.concurrency, session))
        meter_cpu = sum(peer.cpu_seconds() for peer in peers)
        profiler = cProfile.Profile() if args.profile else None
        timed = asyncio.run(
            run_sessions(endpoints, args.rounds, args.concurrency, session, profiler)
        )
        meter_cpu = sum(peer.cpu_seconds() for peer in peers) - meter_cpu
    if profiler is not None:
        print_profile(mode, profiler)
    with PeerProcess.replay(mode, [answer for _request, answer in frames]) as replay:
        bare = bare_session(frames)
        replayed = replay.endpoints * args.meters
        asyncio.run(run_sessions(replayed[: args.concurrency], 1, args.concurrency, bare))
        baseline = asyncio.run(run_sessions(replayed, args.rounds, args.concurrency, bare))
    octets = sum(len(request) + len(answer) for request, answer in frames)
    return ModeResult(mode, timed, baseline, meter_cpu, len(frames), octets)


def print_profile(mode: Mode, profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    print(f"\nprofile of the {mode} sessions (it inflates the CPU figures of the report)")
    print(out.getvalue())


def machine() -> str:
    model = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {model}, load average {load}; Python "
        f"{platform.python_version()}, gurux-dlms {package_version('gurux-dlms')}, "
        f"cryptography {package_version('cryptography')}"
    )


def print_report(results: Sequence[ModeResult], args: argparse.Namespace) -> None:
    print(
        f"\nDLMS fleet reads: {args.meters} simulated meters x {args.rounds} rounds, "
        f"{args.concurrency} sessions in flight, {args.meter_processes} meter process(es)"
    )
    print(machine())
    header = (
        f"{'mode':<9} {'measurement':<26} {'sessions':>8} {'fail':>4} {'wall s':>7} "
        f"{'sess/s':>7} {'CPU s':>6} {'CPU ms/s.':>9} {'per core':>8} {'p50 ms':>7} "
        f"{'/ base':>6}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for result in results:
        for what, timed in (
            ("DLMS session", result.dlms),
            ("baseline: bare frames", result.baseline),
        ):
            print(
                f"{result.mode:<9} {what:<26} {timed.sessions:>8,} {len(timed.failures):>4} "
                f"{timed.wall:>7.2f} {timed.per_second:>7.1f} {timed.cpu:>6.2f} "
                f"{timed.cpu_ms:>9.2f} {timed.per_core:>8.1f} {1000 * timed.latency_p50:>7.1f} "
                f"{timed.cpu_ms / result.baseline.cpu_ms:>5.1f}x"
            )
    print(
        "CPU = this (client) process only; per core = sessions / CPU s; p50 = median session "
        "wall time; / base = CPU per session over the baseline's"
    )
    print("\nper session: request frames, WRAPPER octets both ways, meter-side CPU ms")
    for result in results:
        meter_ms = 1000 * result.meter_cpu / result.dlms.sessions
        print(
            f"  {result.mode:<9} {result.exchanges:>3} frames {result.octets:>6,} octets "
            f"{meter_ms:>6.2f} ms of meter CPU"
        )
        for failure in sorted(set(result.dlms.failures + result.baseline.failures))[:5]:
            print(f"    failure: {failure}")
    print("\nTargets: one-day sessions/s per client core (sessions / client CPU seconds)")
    for result in results:
        target, rate = TARGETS[result.mode], result.dlms.per_core
        verdict = "MET" if rate >= target and not result.dlms.failures else "MISSED"
        print(f"  {result.mode:<9} {rate:>7.1f} / {target:.0f} = {rate / target:.2f}x: {verdict}")
    print_extrapolation(results, args)


def print_extrapolation(results: Sequence[ModeResult], args: argparse.Namespace) -> None:
    k = args.client_processes
    print(
        f"\n{METERS_TO_READ:,} meters x {CHANNELS} channels in {WINDOW_SECONDS:,} s (04:00-07:00) "
        f"with {k} client process(es) on {k} core(s), client CPU the only limit"
    )
    extra_ms = extra_column_cost_ms(CHANNELS)
    more = CHANNELS - 1 + extra_blocks(CHANNELS)  # scaler GETs and GET blocks
    print(
        f"  (A) one session per meter, {CHANNELS} columns: measured session + {extra_ms:.2f} ms "
        f"to parse {CHANNELS - 1} more columns (measured) + {more} more exchanges "
        f"({CHANNELS - 1} scaler GETs, {more - CHANNELS + 1} GET block(s)) at the session's "
        "mean CPU per exchange (estimated)"
    )
    print(f"  (B) one session per channel: {CHANNELS} sessions per meter")
    for result in results:
        per_exchange = result.dlms.cpu_ms / result.exchanges
        costs = {
            "A": (METERS_TO_READ, result.dlms.cpu_ms + extra_ms + more * per_exchange, more),
            "B": (METERS_TO_READ * CHANNELS, result.dlms.cpu_ms, 0),
        }
        for case, (sessions, cost_ms, added) in costs.items():
            needed = sessions / WINDOW_SECONDS
            rate = 1000 / cost_ms
            wall = sessions * cost_ms / 1000 / k
            # A session waits one network exchange per request frame, and one to connect.
            in_flight = rate * (1 + result.exchanges + added) * args.rtt
            print(
                f"  {result.mode:<9} ({case}) {sessions:>9,} sessions at {cost_ms:5.2f} ms: "
                f"needs {needed:6.1f}/s = {needed / rate:4.2f} cores; {k} cores: "
                f"{wall / 60:5.1f} min ({wall / WINDOW_SECONDS:4.0%} of the window); "
                f"{in_flight:,.0f} in flight per core at {args.rtt} s an exchange"
            )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=400, help="simulated meters per mode")
    parser.add_argument("--concurrency", type=int, default=200, help="sessions in flight")
    parser.add_argument("--rounds", type=int, default=5, help="sessions per meter")
    parser.add_argument("--mode", choices=("plain", "ciphered", "both"), default="both")
    parser.add_argument("--client-processes", type=int, default=2, help="K, extrapolation")
    parser.add_argument("--meter-processes", type=int, default=1)
    parser.add_argument(
        "--rtt", type=float, default=0.3, help="s per exchange on a real network, extrapolation"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the DLMS sessions")
    parser.add_argument(
        "--with-context",
        action="store_true",
        help="the collection's session: also the midnight registers and the event log",
    )
    args = parser.parse_args(argv)
    if min(args.meters, args.concurrency, args.rounds, args.meter_processes) < 1:
        parser.error("--meters, --concurrency, --rounds and --meter-processes must be >= 1")
    args.concurrency = min(args.concurrency, args.meters)
    return args


def main(argv: Sequence[str] | None = None) -> list[ModeResult]:
    args = parse_args(argv)
    modes: list[Mode] = ["plain", "ciphered"] if args.mode == "both" else [args.mode]
    results = [measure(mode, args) for mode in modes]
    print_report(results, args)
    return results


if __name__ == "__main__":
    main()
