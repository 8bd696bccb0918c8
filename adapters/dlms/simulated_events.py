"""The event logs of one simulated meter: what its fault script implies, what its relay
did, and what it recorded itself (clock adjustments, key changes). Entries appear once the
meter's clock has reached them; each log keeps its newest `LOG_CAPACITY` entries."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from adapters.dlms.event_logs import DISCONNECTOR, EventLog
from adapters.dlms.simulated_controls import Relay
from adapters.dlms.simulated_faults import FaultScript, LoggedEvent

LOG_CAPACITY = 100  # attribute 8 of each event log


class MeterEventLogs:
    def __init__(self, faults: FaultScript, relay: Callable[[], Relay]) -> None:
        self._faults = faults
        self._relay = relay  # looked up each time: tests may give the meter a new relay
        self._recorded: list[LoggedEvent] = []
        self._lock = threading.Lock()

    def record(self, log: EventLog, code: int, at: dt.datetime) -> None:
        with self._lock:
            self._recorded.append(LoggedEvent(at, log, int(code)))

    def entries(self, log: EventLog, until: dt.datetime) -> list[LoggedEvent]:
        """The log's buffer at meter time `until`: oldest first, at most LOG_CAPACITY."""
        with self._lock:
            candidates = list(self._recorded)
        candidates += self._faults.events()
        if log == DISCONNECTOR:
            candidates += [LoggedEvent(at, log, code) for at, code in self._relay().events]
        # Sorting is stable: events at the same moment keep the order they were made in.
        logged = sorted(
            (event for event in candidates if event.log == log and event.at <= until),
            key=lambda event: event.at,
        )
        return logged[-LOG_CAPACITY:]
