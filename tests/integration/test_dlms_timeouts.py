"""Every I/O of a session has a time limit, and so has the whole session: a meter that
accepts the connection and never answers, one that answers too slowly, and one that
answers each request in time but takes too long in all, each end in a `MeterTimeout`
within the bound, and the HES closes the connection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from adapters.dlms.errors import MeterTimeout
from adapters.dlms.session_gate import SessionGate
from adapters.dlms.session_limits import SessionLimiter, SessionLimits
from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.dlms_collection import DlmsLoadProfileSource
from application.collection import MeterAddress
from tests.integration.meter_proxies import MeterProxy, SilentMeter

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PASSWORD = "timeout-secret-1"


@pytest.fixture(scope="module")
def meter_port() -> Iterator[int]:
    config = SimulatedMeterConfig("TMO0000001", password=PASSWORD, clock=lambda: NOW)
    with FleetThread([config]) as fleet:
        yield fleet.ports["TMO0000001"]


def read(
    port: int,
    *,
    timeout: float,
    framing: Literal["wrapper", "hdlc"] = "wrapper",
    session_seconds: float = 300.0,
) -> float:
    """Reads two hours of profile; returns how long until it ended (however it ended)."""
    gate = SessionGate(limiter=SessionLimiter(SessionLimits(session_seconds=session_seconds)))
    source = DlmsLoadProfileSource(timeout=timeout, gate=gate)
    address = MeterAddress("127.0.0.1", port, "lls", PASSWORD, framing, serial="TMO0000001")
    started = time.monotonic()
    try:
        asyncio.run(source.read_load_profile(address, NOW - timedelta(hours=2), NOW))
    finally:
        elapsed = time.monotonic() - started
    return elapsed


@pytest.mark.parametrize("framing", ["wrapper", "hdlc"])
def test_a_meter_that_never_answers_times_out_and_the_connection_is_closed(
    framing: Literal["wrapper", "hdlc"],
) -> None:
    with SilentMeter() as silent:
        started = time.monotonic()
        with pytest.raises(MeterTimeout, match=r"no answer within 0\.5 s"):
            read(silent.port, timeout=0.5, framing=framing)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 2
        while not silent.closed_by_hes_at and time.monotonic() < deadline:
            time.sleep(0.01)

    assert 0.5 <= elapsed < 1.5
    assert len(silent.accepted_at) == 1
    assert len(silent.closed_by_hes_at) == 1  # the HES hung up; nothing left open
    assert silent.closed_by_hes_at[0] - started < 1.5


def test_a_meter_answering_slower_than_the_timeout_times_out_and_is_hung_up_on(
    meter_port: int,
) -> None:
    with MeterProxy(meter_port, answer_delay=1.0) as slow:
        started = time.monotonic()
        with pytest.raises(MeterTimeout):
            read(slow.port, timeout=0.3)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 2
        while not slow.closed_by_hes_at and time.monotonic() < deadline:
            time.sleep(0.01)

    assert 0.3 <= elapsed < 1.0
    assert slow.closed_by_hes_at and slow.closed_by_hes_at[0] - started < 1.0
    assert slow.active == 0


def test_a_meter_answering_each_request_in_time_is_stopped_by_the_session_deadline(
    meter_port: int,
) -> None:
    with MeterProxy(meter_port, answer_delay=0.15) as slow:
        # Without a deadline the read succeeds (each answer well within its timeout) ...
        assert read(slow.port, timeout=1.0) > 0.6
        # ... with one it ends when the deadline passes, not when the read would have.
        started = time.monotonic()
        with pytest.raises(MeterTimeout, match=r"session not finished within 0\.4 s"):
            read(slow.port, timeout=1.0, session_seconds=0.4)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 2
        while len(slow.closed_by_hes_at) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)

    assert 0.4 <= elapsed < 0.9
    assert len(slow.closed_by_hes_at) == 2
