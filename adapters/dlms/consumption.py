"""Deterministic interval consumption of a simulated meter.

The energy of an interval depends only on (serial, interval end, load shape, yearly
consumption, capture period): re-reading a range returns byte-identical values, which the
HES relies on for idempotent imports. No global random state is used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from adapters.loadshapes import LoadShape

QUARTER_HOUR = dt.timedelta(minutes=15)

# Interval energy is kept as an integer count of 0.1 Wh and published with scaler -1, so
# the value on the wire is exact and the client has a real scaler to apply.
ENERGY_SCALER = -1
RAW_UNITS_PER_WH = 10


@dataclass(frozen=True)
class SimulatedConsumption:
    """A BDEW shape scaled to a yearly consumption, with a per-meter, per-interval wobble."""

    serial: str
    shape: LoadShape
    yearly_kwh: float
    capture_period: dt.timedelta
    variation: float = 0.10  # +/- 10 % around the standard shape

    def interval_raw(self, end: dt.datetime) -> int:
        """Energy of the interval ending at `end` (UTC, on a period boundary) in 0.1 Wh."""
        start = end - self.capture_period
        kwh_per_1000 = 0.0
        quarter = _floor_to_quarter(start)
        while quarter < end:
            overlap = min(end, quarter + QUARTER_HOUR) - max(start, quarter)
            index = (quarter.hour * 60 + quarter.minute) // 15
            share = overlap / QUARTER_HOUR
            kwh_per_1000 += float(self.shape.quarter_hours(quarter.date())[index]) * share
            quarter += QUARTER_HOUR
        wh = kwh_per_1000 * self.yearly_kwh  # kWh per 1,000 kWh x kWh = Wh
        return round(wh * self._wobble(end) * RAW_UNITS_PER_WH)

    def _wobble(self, end: dt.datetime) -> float:
        digest = hashlib.blake2b(
            f"{self.serial}|{end.isoformat()}".encode(), digest_size=8
        ).digest()
        unit = int.from_bytes(digest, "big") / 2**64  # uniform in [0, 1)
        return 1.0 + self.variation * (2.0 * unit - 1.0)


def _floor_to_quarter(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
