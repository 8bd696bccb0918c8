"""Interval values of imported channels (temperatures, prices, ...) from CSV.

One file is one channel: a header ``start,value`` (optionally ``status``), one row per
interval. Every row is checked before anything is stored; a file with a bad row stores
nothing and every bad row is reported with its line.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from application.readings import Readings
from application.registry import Registry
from domain.channel import Channel
from domain.channel_day import day_start
from domain.provenance import Provenance

MAX_ROWS = 500_000


@dataclass(frozen=True)
class ImportProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class IntervalImportReport:
    problems: list[ImportProblem] = field(default_factory=list)
    rows: int = 0
    new_intervals: int = 0

    @property
    def accepted(self) -> bool:
        return not self.problems


class IntervalImport:
    def __init__(self, registry: Registry, readings: Readings) -> None:
        self.registry = registry
        self.readings = readings

    def run(
        self, channel_key: str, text: str | bytes, provenance: Provenance
    ) -> IntervalImportReport:
        report = IntervalImportReport()
        channel = self.registry.get("channel", channel_key)
        settings = channel.attributes_on(datetime.now().date())
        if settings.get("kind") != "imported":
            report.problems.append(
                ImportProblem(
                    0,
                    f"{channel_key} is a {settings.get('kind')} channel; "
                    "only imported channels take values from files",
                )
            )
            return report
        step = timedelta(minutes=int(settings["interval_minutes"]))
        rows = self._checked_rows(text, step, report)
        if report.problems or not rows:
            return report
        report.rows = len(rows)
        blocks = _contiguous_blocks(rows, step)
        outcome = self.readings.record_blocks(
            Channel.id_for(channel_key), int(settings["interval_minutes"]), blocks, provenance
        )
        report.new_intervals = outcome.intervals
        return report

    def _checked_rows(
        self, text: str | bytes, step: timedelta, report: IntervalImportReport
    ) -> list[tuple[datetime, float, int]]:
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError as error:
                report.problems.append(ImportProblem(0, f"not UTF-8 text ({error.reason})"))
                return []
        reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
        header = [name.strip().lower() for name in next(reader, [])]
        if header[:2] != ["start", "value"] or not set(header) <= {"start", "value", "status"}:
            report.problems.append(
                ImportProblem(1, "the header must be start,value (and optionally status)")
            )
            return []
        rows: list[tuple[datetime, float, int]] = []
        seen: dict[datetime, int] = {}
        for values in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in values):
                continue
            if len(rows) >= MAX_ROWS:
                report.problems.append(ImportProblem(line, f"more than {MAX_ROWS} rows"))
                break
            problem, row = _row(dict(zip(header, values, strict=False)), step)
            if problem:
                report.problems.append(ImportProblem(line, problem))
            elif row[0] in seen:
                report.problems.append(
                    ImportProblem(line, f"the interval of line {seen[row[0]]} again")
                )
            else:
                seen[row[0]] = line
                rows.append(row)
        return rows


def _row(cells: dict[str, str], step: timedelta) -> tuple[str, tuple[datetime, float, int]]:
    empty = (datetime.min, 0.0, 0)
    try:
        start = datetime.fromisoformat(cells.get("start", "").strip())
    except ValueError:
        return f"start {cells.get('start')!r} is not an ISO date-time", empty
    if start.tzinfo is None:
        return "start must name its time zone", empty
    start = start.astimezone(UTC)
    if (start - day_start(start.date())) % step:
        minutes = int(step.total_seconds() // 60)
        return f"{start.isoformat()} is not the start of a {minutes}-minute interval", empty
    try:
        value = float(cells.get("value", "").strip())
    except ValueError:
        return f"value {cells.get('value')!r} is not a number", empty
    if not math.isfinite(value):
        return "value must be a finite number", empty
    try:
        status = int(cells.get("status") or 0)
    except ValueError:
        return f"status {cells.get('status')!r} is not a whole number", empty
    if not 0 <= status <= 255:
        return "status must be from 0 to 255", empty
    return "", (start, value, status)


def _contiguous_blocks(
    rows: list[tuple[datetime, float, int]], step: timedelta
) -> list[tuple[datetime, np.ndarray, np.ndarray]]:
    blocks: list[tuple[datetime, list[float], list[int]]] = []
    for start, value, status in sorted(rows):
        if blocks and blocks[-1][0] + step * len(blocks[-1][1]) == start:
            blocks[-1][1].append(value)
            blocks[-1][2].append(status)
        else:
            blocks.append((start, [value], [status]))
    return [
        (start, np.array(values), np.array(statuses, np.uint8))
        for start, values, statuses in blocks
    ]
