"""The register monitors (class 21) of a simulated meter: supervision monitors 1-3 watch
the phase currents L1-L3. The HES sets their thresholds (attribute 2), which must have the
type of the monitored value; the simulated meter stores them and reads them back but takes
no action when a threshold is crossed."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from adapters.dlms import obis
from adapters.dlms.meter_quantities import CURRENTS, Quantity

MAX_THRESHOLDS = 4
DEFAULT_THRESHOLD_MA = 63_000  # 63 A, a common main fuse


@dataclass
class RegisterMonitor:
    monitored: Quantity  # a register's attribute 2
    thresholds: list[int] = field(default_factory=lambda: [DEFAULT_THRESHOLD_MA])


class SupervisionMonitors:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._monitors = {
            name: RegisterMonitor(current)
            for name, current in zip(obis.SUPERVISION_MONITORS, CURRENTS, strict=True)
        }

    def monitor(self, logical_name: str) -> RegisterMonitor | None:
        return self._monitors.get(logical_name)

    def thresholds(self, logical_name: str) -> list[int]:
        with self._lock:
            return list(self._monitors[logical_name].thresholds)

    def set_thresholds(self, logical_name: str, thresholds: list[int]) -> None:
        with self._lock:
            self._monitors[logical_name].thresholds = list(thresholds)
