"""Session limits against a simulated meter over real TCP: reads from several worker
threads, each with its own event loop, as a processing server runs them. A counting
proxy in front of the meter sees how many sessions are open at once and when each
connection came."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.dlms.session_gate import SessionGate
from adapters.dlms.session_limits import SessionLimiter, SessionLimits
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.dlms_collection import DlmsLoadProfileSource
from application.collection import MeterAddress
from tests.integration.meter_proxies import MeterProxy

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PASSWORD = "limits-secret-1"


@pytest.fixture(scope="module")
def meter_port() -> Iterator[int]:
    config = SimulatedMeterConfig("LIM0000001", password=PASSWORD, clock=lambda: NOW)
    with FleetThread([config]) as fleet:
        yield fleet.ports["LIM0000001"]


def read_from_threads(
    limiter: SessionLimiter, port: int, threads: int, reads_per_thread: int
) -> list[int]:
    """Every thread runs its reads concurrently on its own loop; returns rows per read."""
    source = DlmsLoadProfileSource(timeout=10, gate=SessionGate(limiter=limiter))
    address = MeterAddress("127.0.0.1", port, "lls", PASSWORD, serial="LIM0000001")
    rows: list[int] = []
    lock = threading.Lock()

    def worker_thread() -> None:
        async def reads() -> list[int]:
            done = await asyncio.gather(
                *(
                    source.read_load_profile(address, NOW - timedelta(hours=2), NOW)
                    for _ in range(reads_per_thread)
                )
            )
            return [len(intervals) for intervals in done]

        counted = asyncio.run(reads())
        with lock:
            rows.extend(counted)

    workers = [threading.Thread(target=worker_thread) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return rows


def test_no_more_sessions_are_open_at_once_than_the_limit_whichever_thread_opens_them(
    meter_port: int,
) -> None:
    limited = SessionLimiter(SessionLimits(max_sessions=3, connects_per_second=10_000))
    with MeterProxy(meter_port, answer_delay=0.03) as proxy:
        rows = read_from_threads(limited, proxy.port, threads=4, reads_per_thread=4)

    assert rows == [8] * 16  # every read completed, two hours of quarter hours each
    assert proxy.peak == 3  # seen by the meter's side of the wire
    assert limited.load().peak == 3
    assert (limited.load().active, limited.load().waiting) == (0, 0)
    assert limited.load().connections == 16


def test_without_the_limit_the_same_reads_overlap_far_more(meter_port: int) -> None:
    unlimited = SessionLimiter(SessionLimits(max_sessions=500, connects_per_second=10_000))
    with MeterProxy(meter_port, answer_delay=0.03) as proxy:
        read_from_threads(unlimited, proxy.port, threads=4, reads_per_thread=4)

    assert proxy.peak > 3  # so the test above would notice a limit that does not hold


def test_new_connections_are_paced_to_the_configured_rate(meter_port: int) -> None:
    paced = SessionLimiter(SessionLimits(max_sessions=500, connects_per_second=10, connect_burst=1))
    with MeterProxy(meter_port) as proxy:
        read_from_threads(paced, proxy.port, threads=3, reads_per_thread=4)

    accepted = sorted(proxy.accepted_at)
    assert len(accepted) == 12
    assert accepted[-1] - accepted[0] >= 11 * 0.1 - 0.05  # 12 at 10/s: 1.1 s at least
    # No half second holds more than its share and the one a burst allows.
    for index, first in enumerate(accepted):
        within = [moment for moment in accepted[index:] if moment < first + 0.5]
        assert len(within) <= 0.5 * 10 + 1


def test_unpaced_the_same_connections_come_much_faster(meter_port: int) -> None:
    unpaced = SessionLimiter(SessionLimits(max_sessions=500, connects_per_second=10_000))
    with MeterProxy(meter_port) as proxy:
        read_from_threads(unpaced, proxy.port, threads=3, reads_per_thread=4)

    accepted = sorted(proxy.accepted_at)
    assert accepted[-1] - accepted[0] < 1.0  # so the pacing test above can fail
