"""BDEW standard load profiles (2025 revision): one day of 96 quarter-hours per month and
day type, in kWh per 1,000 kWh of yearly consumption."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import functools
import io
from importlib import resources

import numpy as np
import numpy.typing as npt

QUARTER_HOURS_PER_DAY = 96

# Column headers of the CSV, in calendar order (German, as BDEW publishes them).
_MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip

# The CSV values are per 1,000,000 kWh/year (a year sums to ~1e6); the API speaks per 1,000.
_CSV_TO_PER_1000_KWH = 1_000.0

KNOWN_SHAPES = ("h25", "g25", "l25")


class DayType(enum.StrEnum):
    """BDEW day types: the column group a calendar day uses."""

    SATURDAY = "SA"
    SUNDAY_OR_HOLIDAY = "FT"
    WORKING_DAY = "WT"


def day_type(day: dt.date) -> DayType:
    """The day type of a calendar day. Public holidays are not modelled: only Sundays are FT."""
    weekday = day.weekday()
    if weekday == 5:
        return DayType.SATURDAY
    if weekday == 6:
        return DayType.SUNDAY_OR_HOLIDAY
    return DayType.WORKING_DAY


class LoadShape:
    """One standard load profile: 12 months x 3 day types x 96 quarter-hours."""

    def __init__(self, name: str, table: npt.NDArray[np.float64]) -> None:
        if table.shape != (12, len(DayType), QUARTER_HOURS_PER_DAY):
            raise ValueError(f"load shape {name!r} has shape {table.shape}, not (12, 3, 96)")
        self.name = name
        self._table = table
        self._table.flags.writeable = False  # shared by every caller of load_shape()

    def quarter_hours(self, day: dt.date) -> npt.NDArray[np.float64]:
        """kWh per quarter-hour of `day` (00:00-00:15 first) for 1,000 kWh of yearly use."""
        return self._table[day.month - 1, _DAY_TYPE_INDEX[day_type(day)]]

    def __repr__(self) -> str:
        return f"LoadShape({self.name!r})"


_DAY_TYPE_INDEX = {kind: index for index, kind in enumerate(DayType)}


@functools.cache
def load_shape(name: str = "h25") -> LoadShape:
    """The BDEW 2025 profile `name` ("h25" households, "g25" commerce, "l25" agriculture)."""
    if name not in KNOWN_SHAPES:
        raise ValueError(f"unknown load shape {name!r}; known: {', '.join(KNOWN_SHAPES)}")
    text = (
        resources.files("adapters.loadshapes")
        .joinpath(f"data/bdew_{name}.csv")
        .read_text(encoding="utf-8")
    )
    return LoadShape(name, _parse_table(name, text))


def _parse_table(name: str, text: str) -> npt.NDArray[np.float64]:
    rows = list(csv.reader(io.StringIO(text)))
    months, kinds, body = rows[0][1:], rows[1][1:], rows[2:]
    if len(body) != QUARTER_HOURS_PER_DAY:
        raise ValueError(f"bdew_{name}.csv has {len(body)} quarter-hour rows, not 96")
    values = np.array([[float(cell) for cell in row[1:]] for row in body], dtype=np.float64)
    table = np.empty((12, len(DayType), QUARTER_HOURS_PER_DAY), dtype=np.float64)
    # Look columns up by their headers rather than trusting their order.
    headers = enumerate(zip(months, kinds, strict=True))
    column = {(month, kind): index for index, (month, kind) in headers}
    for month_index, month in enumerate(_MONTHS):
        for kind in DayType:
            table[month_index, _DAY_TYPE_INDEX[kind]] = values[:, column[(month, kind.value)]]
    return table / _CSV_TO_PER_1000_KWH
