"""The session limiter: a cap on sessions open at once across threads and event loops,
a pace for new connections, and how a session's end is named in the communication log."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from adapters.dlms.communication_log import retention_from_env
from adapters.dlms.errors import (
    AccessRefused,
    AssociationRejected,
    ConnectionLost,
    FrameError,
    MeterTimeout,
    MeterUnreachable,
    SecurityEventKind,
    SecurityViolation,
)
from adapters.dlms.session_gate import outcome_of
from adapters.dlms.session_limits import (
    ConnectionPacer,
    CrossLoopSemaphore,
    SessionLimitBusy,
    SessionLimiter,
    SessionLimits,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_pacer_lets_a_burst_through_then_one_connection_per_interval() -> None:
    clock = FakeClock()
    pacer = ConnectionPacer(rate=10, burst=3, clock=clock)
    waits = [pacer.reserve() for _ in range(6)]
    assert waits == pytest.approx([0, 0, 0, 0.1, 0.2, 0.3])
    clock.now += 10  # idle long enough: the full burst is back
    assert [pacer.reserve() for _ in range(4)] == pytest.approx([0, 0, 0, 0.1])


def test_the_pacer_shared_by_threads_never_starts_more_than_burst_plus_rate_times_time() -> None:
    pacer = ConnectionPacer(rate=50, burst=2)
    starts: list[float] = []
    lock = threading.Lock()

    def connect_five() -> None:
        async def one() -> None:
            await pacer.wait_turn()
            with lock:
                starts.append(time.monotonic())

        async def five() -> None:
            await asyncio.gather(*(one() for _ in range(5)))

        asyncio.run(five())

    threads = [threading.Thread(target=connect_five) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    starts.sort()
    assert len(starts) == 20
    # 20 starts at 50/s after a burst of 2: at least 18 intervals of 20 ms.
    assert starts[-1] - starts[0] >= 18 * 0.02 - 0.01


def test_a_semaphore_shared_by_many_loops_in_many_threads_never_exceeds_its_slots() -> None:
    slots = CrossLoopSemaphore(3)
    inside, most = [0], [0]
    lock = threading.Lock()

    async def session() -> None:
        await slots.acquire(timeout=10)
        try:
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            await asyncio.sleep(0.01)
            with lock:
                inside[0] -= 1
        finally:
            slots.release()

    def worker_thread() -> None:
        async def many() -> None:
            await asyncio.gather(*(session() for _ in range(10)))

        asyncio.run(many())

    threads = [threading.Thread(target=worker_thread) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert most[0] == 3  # the cap was reached (the test can see a breach) and held
    assert slots.peak == 3
    assert (slots.in_use, slots.waiting) == (0, 0)


def test_waiting_longer_than_the_slot_wait_is_busy_and_leaks_no_slot() -> None:
    limiter = SessionLimiter(SessionLimits(max_sessions=1, slot_wait_seconds=0.1))

    async def scenario() -> None:
        async with limiter.session():
            with pytest.raises(SessionLimitBusy, match="no DLMS session slot"):
                async with limiter.session():
                    pass  # never reached
        async with limiter.session():  # the slot is free again
            assert limiter.load().active == 1

    asyncio.run(scenario())
    assert (limiter.load().active, limiter.load().waiting) == (0, 0)


def test_a_waiter_cancelled_while_it_is_handed_a_slot_passes_the_slot_on() -> None:
    slots = CrossLoopSemaphore(1)

    async def scenario() -> None:
        await slots.acquire()
        waiter = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)  # the waiter queues up
        slots.release()  # hands the slot to the waiter ...
        waiter.cancel()  # ... which gives up before it runs again
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await asyncio.wait_for(slots.acquire(), timeout=1)  # the slot was passed on
        slots.release()

    asyncio.run(scenario())
    assert slots.in_use == 0


def test_limits_come_from_the_environment_with_defaults_and_clear_refusals() -> None:
    assert SessionLimits.from_env({}) == SessionLimits()
    assert SessionLimits().max_sessions == 500 and SessionLimits().connects_per_second == 200
    assert SessionLimits().burst == 20
    limits = SessionLimits.from_env(
        {"HES_DLMS_MAX_SESSIONS": "40", "HES_DLMS_CONNECTS_PER_SECOND": "2.5"}
    )
    assert (limits.max_sessions, limits.connects_per_second, limits.burst) == (40, 2.5, 1)
    with pytest.raises(ValueError, match="HES_DLMS_MAX_SESSIONS must be a number"):
        SessionLimits.from_env({"HES_DLMS_MAX_SESSIONS": "many"})
    with pytest.raises(ValueError, match="at least 1"):
        SessionLimits.from_env({"HES_DLMS_MAX_SESSIONS": "0"})


def test_the_communication_log_is_kept_a_month_at_least() -> None:
    assert retention_from_env({}).days == 31
    assert retention_from_env({"HES_COMM_LOG_RETENTION_DAYS": "90"}).days == 90
    with pytest.raises(ValueError, match="at least 31 days"):
        retention_from_env({"HES_COMM_LOG_RETENTION_DAYS": "7"})


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "ok"),
        (AccessRefused("meter refused SET", result=3), "ok"),  # the association worked
        (MeterTimeout("no answer"), "timeout"),
        (TimeoutError(), "timeout"),
        (ConnectionLost("closed mid-frame"), "dropped"),
        (MeterUnreachable("connection refused"), "unreachable"),
        (AssociationRejected("authentication failure", diagnostic=13), "refused"),
        (
            SecurityViolation("bad tag", kind=SecurityEventKind.BAD_TAG),
            "security_violation",
        ),
        (FrameError("junk"), "error"),
        (asyncio.CancelledError(), "error"),
    ],
)
def test_how_a_session_ended_is_named_for_the_log(
    error: BaseException | None, outcome: str
) -> None:
    assert outcome_of(error)[0] == outcome


def test_foreign_exceptions_are_logged_by_name_only() -> None:
    assert outcome_of(ValueError("key 000102... is not valid")) == ("error", "ValueError")
