"""The last invocation counter accepted from each sender (system title).

gurux-dlms never checks that received counters increase, so a recorded ciphered APDU could
be replayed to the HES. Every APDU that passed its tag check is accepted only if its
counter is above the last accepted one from the same system title. Persistence comes
with a later store; the protocol is what the adapter depends on.
"""

from __future__ import annotations

import threading
from typing import Protocol


class InvocationCounterStore(Protocol):
    def last_accepted(self, system_title: bytes) -> int | None:
        """The highest counter accepted from `system_title`, or None if none yet."""
        ...

    def accept(self, system_title: bytes, counter: int) -> bool:
        """Record `counter` if it is above the last accepted one, atomically; False (and
        nothing recorded) means a replay. Call it only after the tag verified, so that a
        forged frame cannot move the counter."""
        ...


class InMemoryInvocationCounters:
    """Thread-safe: the simulator and tests share one store across event loops."""

    def __init__(self, initial: dict[bytes, int] | None = None) -> None:
        self._last: dict[bytes, int] = dict(initial or {})
        self._lock = threading.Lock()

    def last_accepted(self, system_title: bytes) -> int | None:
        with self._lock:
            return self._last.get(system_title)

    def accept(self, system_title: bytes, counter: int) -> bool:
        with self._lock:
            last = self._last.get(system_title)
            if last is not None and counter <= last:
                return False
            self._last[system_title] = counter
            return True
