"""Standard load profiles: the shape of a typical day's consumption, per quarter-hour.

`bdew` reads the BDEW 2025 profiles shipped in `data/` (see `data/NOTICE.md`). The simulated
meters use them for realistic load, and estimation may use them as a reference shape.
"""

from __future__ import annotations

from adapters.loadshapes.bdew import DayType, LoadShape, day_type, load_shape

__all__ = ["DayType", "LoadShape", "day_type", "load_shape"]
