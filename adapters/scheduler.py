"""``hes scheduler``: the loop that fires due cycles while holding the scheduler lock.

Any number may run (one per host, for availability); the one holding the lock is
active, the others are standbys that try again every few seconds and take over when
the active one's lock is released (clean stop) or its session dies (crash, lost host).
An active scheduler that can no longer show it still holds the lock stops firing at
once and becomes a standby again. The deterministic firing ids stay the last guard:
even two active schedulers could not record one due time twice.

``HES_SCHEDULER_CLOCK=START,ANCHOR,SPEED`` (tests only) replaces the wall clock by one
that read START (ISO-8601, with offset) at the Unix time ANCHOR and runs SPEED times
faster; processes given the same value agree on the time.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from adapters.scheduler_lock import SchedulerLock
from application.cycles import CycleTaskSink, Scheduling
from domain.provenance import Provenance

_log = logging.getLogger("hes.scheduler")
Clock = Callable[[], datetime]
CLOCK_VARIABLE = "HES_SCHEDULER_CLOCK"


def wall_clock() -> datetime:
    return datetime.now(UTC)


def clock_from_env(environ: Mapping[str, str]) -> Clock:
    setting = environ.get(CLOCK_VARIABLE, "").strip()
    if not setting:
        return wall_clock
    start_text, anchor_text, speed_text = setting.split(",")
    start = datetime.fromisoformat(start_text)
    if start.tzinfo is None:
        raise ValueError(f"{CLOCK_VARIABLE}: the start needs an offset")
    anchor, speed = float(anchor_text), float(speed_text)

    def fake() -> datetime:
        return start + timedelta(seconds=(time.time() - anchor) * speed)

    return fake


class RecordOnlySink:
    """Records firings and creates no tasks (``--record-only``: dry runs and tests)."""

    def create_cycle_tasks(
        self,
        cycle_key: str,
        due_at: datetime,
        targets: Sequence[str],
        task_type: str,
        parameters: Mapping[str, object],
        provenance: Provenance,
    ) -> int:
        return 0


class Scheduler:
    def __init__(
        self,
        scheduling: Scheduling,
        sink: CycleTaskSink,
        lock: SchedulerLock,
        *,
        tick: float = 5.0,
        standby_poll: float = 5.0,
        clock: Clock = wall_clock,
    ) -> None:
        self.scheduling = scheduling
        self.sink = sink
        self.lock = lock
        self.tick = tick
        self.standby_poll = standby_poll
        self.clock = clock
        self._told_standby = False

    def run(self, stop: threading.Event) -> None:
        """Standby until the lock is ours, then fire every ``tick`` s, until ``stop``."""
        try:
            while not stop.is_set():
                if self._acquire():
                    _log.info("active: holding the %s", self.lock.describe())
                    self._fire_while_held(stop)
                else:
                    stop.wait(self.standby_poll)
        finally:
            self.lock.release()
            _log.info("stopped")

    def fire_once(self) -> int:
        """One round: fires what is due now; returns how many due times were fired."""
        fired = self.scheduling.fire_due(self.clock(), self.sink)
        for firing in fired:
            _log.info(
                "fired %s due %s: %d targets, %d new %s tasks",
                firing.cycle_key,
                firing.due_at,
                firing.targets_count,
                firing.created_count,
                firing.task_type,
            )
        return len(fired)

    def _acquire(self) -> bool:
        try:
            if self.lock.try_acquire():
                self._told_standby = False
                return True
        except Exception:
            _log.exception("cannot reach the %s; will retry", self.lock.describe())
            return False
        if not self._told_standby:
            holder = _holder(self.lock)
            _log.info("standby: the %s is held by %s; waiting", self.lock.describe(), holder)
            self._told_standby = True
        return False

    def _fire_while_held(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self.lock.still_held():
                _log.warning("lost the %s: standby again", self.lock.describe())
                return
            try:
                self.fire_once()
            except Exception:
                # A database restart or a bad cycle must not end the scheduler.
                _log.exception("firing failed; will retry")
            stop.wait(self.tick)


def _holder(lock: SchedulerLock) -> str:
    try:
        return lock.holder() or "another scheduler"
    except Exception:
        return "another scheduler"


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT end the loop after the round in progress (main thread only)."""

    def handle(signum: int, frame: object) -> None:
        _log.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
