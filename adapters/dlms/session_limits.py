"""Process-wide limits on outgoing DLMS sessions: how many may be open at once, and how
many new TCP connections may start per second.

Sessions are opened from many threads, each running its own asyncio loop (a worker
thread calls ``asyncio.run`` for each task), so neither an ``asyncio.Semaphore`` (bound
to one loop) nor a ``threading.Semaphore`` (it would block a loop) will do. The state is
kept under a ``threading.Lock``; a waiter parks on a future of its own loop and is woken
with ``call_soon_threadsafe``. Waiters are served first come, first served.

New connections are paced by a token bucket in its GCRA form: each connection reserves
the next start time, so a burst of at most ``connect_burst`` starts at once and then one
every ``1 / connects_per_second`` seconds, whichever thread asks.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.dlms.errors import DlmsError

__all__ = [
    "ConnectionPacer",
    "CrossLoopSemaphore",
    "SessionLimitBusy",
    "SessionLimiter",
    "SessionLimits",
    "SessionLoad",
    "process_limiter",
]


class SessionLimitBusy(DlmsError):
    """No session slot came free in time: the meter was never contacted. Retry later."""


@dataclass(frozen=True)
class SessionLimits:
    """How far one process may go. Environment (defaults in brackets):

    HES_DLMS_MAX_SESSIONS [500] sessions open at once; HES_DLMS_CONNECTS_PER_SECOND
    [200] new TCP connections a second; HES_DLMS_CONNECT_BURST [a tenth of a second's
    worth, at least 1] connections that may start together; HES_DLMS_SESSION_WAIT_SECONDS
    [120] how long a session waits for a free slot; HES_DLMS_SESSION_SECONDS [300] the
    deadline of a whole session (connect to close; firmware transfers have none).
    """

    max_sessions: int = 500
    connects_per_second: float = 200.0
    connect_burst: int = 0  # 0: a tenth of a second's worth
    slot_wait_seconds: float = 120.0
    session_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        if not self.connects_per_second > 0:
            raise ValueError("connects_per_second must be above 0")
        if self.connect_burst < 0 or self.slot_wait_seconds <= 0 or self.session_seconds <= 0:
            raise ValueError("burst, slot wait and session deadline must be positive")

    @property
    def burst(self) -> int:
        return self.connect_burst or max(1, math.ceil(self.connects_per_second / 10))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SessionLimits:
        env = os.environ if environ is None else environ
        defaults = cls()

        def number(name: str, default: float, kind: Callable[[str], float]) -> float:
            text = env.get(name, "").strip()
            if not text:
                return default
            try:
                return kind(text)
            except ValueError:
                raise ValueError(f"{name} must be a number, not {text!r}") from None

        return cls(
            max_sessions=int(number("HES_DLMS_MAX_SESSIONS", defaults.max_sessions, int)),
            connects_per_second=number(
                "HES_DLMS_CONNECTS_PER_SECOND", defaults.connects_per_second, float
            ),
            connect_burst=int(number("HES_DLMS_CONNECT_BURST", defaults.connect_burst, int)),
            slot_wait_seconds=number(
                "HES_DLMS_SESSION_WAIT_SECONDS", defaults.slot_wait_seconds, float
            ),
            session_seconds=number("HES_DLMS_SESSION_SECONDS", defaults.session_seconds, float),
        )


@dataclass(frozen=True)
class SessionLoad:
    """A gauge of the limiter: sessions open now, waiting for a slot, the most ever open
    at once, and connections started."""

    active: int
    waiting: int
    peak: int
    connections: int
    max_sessions: int
    connects_per_second: float


class _Waiter:
    __slots__ = ("future", "granted", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.granted = False  # a slot was handed over to it (under the lock)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class CrossLoopSemaphore:
    """A counting semaphore for coroutines on any number of loops in any threads."""

    def __init__(self, value: int) -> None:
        if value < 1:
            raise ValueError("a semaphore needs at least one slot")
        self.value = value
        self._lock = threading.Lock()
        self._free = value
        self._peak = 0
        self._waiters: deque[_Waiter] = deque()

    @property
    def in_use(self) -> int:
        return self.value - self._free

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def peak(self) -> int:
        return self._peak

    async def acquire(self, timeout: float | None = None) -> None:
        """Takes a slot; TimeoutError when none came free within ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                self._peak = max(self._peak, self.value - self._free)
                return
            waiter = _Waiter(loop)
            self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter.future
        except BaseException:
            with self._lock:
                granted = waiter.granted
                if not granted:
                    self._waiters.remove(waiter)
            if granted:  # handed a slot just as it gave up: pass it on
                self.release()
            raise

    def release(self) -> None:
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                try:
                    waiter.loop.call_soon_threadsafe(_wake, waiter.future)
                except RuntimeError:  # its loop is closed: that waiter is gone
                    continue
                waiter.granted = True  # the slot changes hands; _free stays as it is
                return
            if self._free >= self.value:
                raise RuntimeError("semaphore released more often than acquired")
            self._free += 1


class ConnectionPacer:
    """At most ``rate`` connection starts a second after a burst of ``burst`` (GCRA)."""

    def __init__(
        self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not rate > 0 or burst < 1:
            raise ValueError("a pacer needs a rate above 0 and a burst of at least 1")
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._lock = threading.Lock()
        self._theoretical_arrival = -math.inf
        self.started = 0

    def reserve(self) -> float:
        """Reserves the next start; returns how many seconds to wait for it."""
        with self._lock:
            now = self._clock()
            arrival = max(self._theoretical_arrival, now)
            start = max(now, arrival - self._tolerance)
            self._theoretical_arrival = arrival + self._interval
            self.started += 1
            return start - now

    async def wait_turn(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


class SessionLimiter:
    """``async with limiter.session():`` holds a session slot from before the TCP connect
    until after the close, and paces the connect itself."""

    def __init__(self, limits: SessionLimits | None = None) -> None:
        self.limits = limits or SessionLimits()
        self._slots = CrossLoopSemaphore(self.limits.max_sessions)
        self._pacer = ConnectionPacer(self.limits.connects_per_second, self.limits.burst)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        try:
            await self._slots.acquire(self.limits.slot_wait_seconds)
        except TimeoutError:
            raise SessionLimitBusy(
                f"no DLMS session slot came free within {self.limits.slot_wait_seconds:g} s "
                f"({self.limits.max_sessions} sessions open)"
            ) from None
        try:
            # Paced inside the slot: the connect follows its turn at once, so the rate holds.
            await self._pacer.wait_turn()
            yield
        finally:
            self._slots.release()

    def load(self) -> SessionLoad:
        return SessionLoad(
            active=self._slots.in_use,
            waiting=self._slots.waiting,
            peak=self._slots.peak,
            connections=self._pacer.started,
            max_sessions=self.limits.max_sessions,
            connects_per_second=self.limits.connects_per_second,
        )


_process_limiter: SessionLimiter | None = None
_process_lock = threading.Lock()


def process_limiter() -> SessionLimiter:
    """The one limiter of this process, configured from the environment on first use."""
    global _process_limiter
    with _process_lock:
        if _process_limiter is None:
            _process_limiter = SessionLimiter(SessionLimits.from_env())
        return _process_limiter
