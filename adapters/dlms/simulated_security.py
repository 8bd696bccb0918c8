"""The security state of one simulated meter, shared by all its connections: its keys
(global unicast encryption and authentication keys, and the master key that wraps new
ones), the invocation counter it sends with, the last counter it accepted from its management
client (what 0.0.43.1.0.255 shows), and the security events it recorded."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from adapters.dlms.errors import SecurityEventKind, SecurityViolation
from adapters.dlms.hls import HlsKeys


@dataclass(frozen=True)
class MeterSecurityEvent:
    kind: SecurityEventKind
    detail: str


def _counter_from_clock() -> int:
    # A real meter keeps its counter in non-volatile memory. A simulated one that starts
    # again would look like a replay to a HES that remembers it, so it starts from the
    # wall clock in milliseconds (wrapping every 24 days), above any earlier run's counters.
    return time.time_ns() // 1_000_000 % 2**31


class MeterSecurity:
    def __init__(
        self,
        keys: HlsKeys,
        *,
        client_counter: int = 0,
        own_counter: int | None = None,
        master_key: bytes | None = None,
    ) -> None:
        self.keys = keys
        self.master_key = master_key  # KEK of key_transfer; None: keys cannot be changed
        self._client_counter = client_counter
        self._own_counter = _counter_from_clock() if own_counter is None else own_counter
        self._lock = threading.Lock()  # connections of one meter may run on other threads
        self.events: list[MeterSecurityEvent] = []

    def __repr__(self) -> str:
        return f"MeterSecurity({self.keys!r})"

    @property
    def system_title(self) -> bytes:
        return self.keys.system_title

    @property
    def client_counter(self) -> int:
        """The last invocation counter accepted from the management client."""
        with self._lock:
            return self._client_counter

    def accept_client_counter(self, counter: int) -> bool:
        with self._lock:
            if counter <= self._client_counter:
                return False
            self._client_counter = counter
            return True

    def next_counter(self) -> int:
        with self._lock:
            self._own_counter += 1
            return self._own_counter

    def replace_keys(
        self,
        *,
        block_cipher_key: bytes | None = None,
        authentication_key: bytes | None = None,
        master_key: bytes | None = None,
    ) -> None:
        """New global keys (key_transfer). Associations already open keep the keys they
        were opened with; the next association uses these. Counters go on: the HES keeps
        replay counters per system title, not per key."""
        with self._lock:
            keys = self.keys
            self.keys = HlsKeys(
                keys.system_title,
                block_cipher_key or keys.block_cipher_key,
                authentication_key or keys.authentication_key,
            )
            if master_key is not None:
                self.master_key = master_key

    def record(self, violation: SecurityViolation) -> None:
        with self._lock:
            self.events.append(MeterSecurityEvent(violation.kind, str(violation)))
