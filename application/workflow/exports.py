"""Exports: final channel days made ready for billing, each version once.

A day is final when it has ended and every interval is known and settled (validated,
estimated, edited or accepted; raw values of imported channels pass as they are); a day
with missing or failed intervals is held back, with the reason. What is exported is the
day's data version: the ``ChannelDay`` version of its last delivery or revision (an
``EstimatesBilled`` mark changes no value, so it makes no new version). Billing pulls
the rows (``GET /api/v1/exports``) and the values as of the version's recorded time.

The Exports application has its own event table (``exports_events``): exports are a
stream of their own, and every insert on PostgreSQL locks its application's table, so
exporting does not queue behind deliveries, nor deliveries behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import numpy as np
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.base import HesApplication
from application.errors import ConcurrentEdit
from application.readings import Readings
from domain.billing_export import BillingExport
from domain.channel_day import ChannelDay
from domain.provenance import Provenance
from domain.reading_quality import ReadingQuality

EXPORTER = Provenance(
    actor="hes-export", reason="final data made ready for billing", source="system"
)


@dataclass(frozen=True)
class DayFigures:
    """One channel day at one data version, as billing gets it."""

    channel_id: UUID
    channel_key: str
    day: date
    data_version: int
    data_recorded_at: datetime
    intervals: int
    total: float
    unit: str
    qualities: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel_key,
            "day": self.day.isoformat(),
            "version": self.data_version,
            "recorded_at": self.data_recorded_at.isoformat(),
            "intervals": self.intervals,
            "total": self.total,
            "unit": self.unit,
            "qualities": self.qualities,
        }


@dataclass(frozen=True)
class HeldBack:
    """A day that is not final yet, and why."""

    channel_key: str
    day: date
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"channel": self.channel_key, "day": self.day.isoformat(), "reason": self.reason}


def final_day(
    readings: Readings, channel_id: UUID, channel_key: str, day: date, unit: str
) -> DayFigures | HeldBack:
    """The day's figures at its data version, or why it is not final."""
    day_id = ChannelDay.id_for(channel_id, day)
    changes = (ChannelDay.IntervalsRecorded, ChannelDay.SlotsRevised)
    data = [event for event in readings.history_of(day_id) if isinstance(event, changes)]
    if not data:
        return HeldBack(channel_key, day, "nothing recorded")
    version = data[-1].originator_version
    channel_day: ChannelDay = readings.repository.get(day_id, version=version)
    qualities = channel_day.qualities
    unknown = {
        quality.name.lower(): int(np.sum(qualities == quality))
        for quality in (ReadingQuality.MISSING, ReadingQuality.FAILED)
    }
    if any(unknown.values()):
        waiting = " and ".join(f"{count} {name}" for name, count in unknown.items() if count)
        return HeldBack(channel_key, day, f"not final: {waiting} of {len(qualities)} intervals")
    counted = np.bincount(qualities.astype(np.int64), minlength=len(ReadingQuality))
    return DayFigures(
        channel_id=channel_id,
        channel_key=channel_key,
        day=day,
        data_version=version,
        data_recorded_at=data[-1].timestamp.astimezone(UTC),
        intervals=int(np.isfinite(channel_day.values).sum()),
        total=round(float(np.nansum(channel_day.values)), 9),
        unit=unit,
        qualities={q.name.lower(): int(counted[q]) for q in ReadingQuality if counted[q]},
    )


class Exports(HesApplication):
    name = "Exports"

    def export_days(
        self,
        days: Sequence[DayFigures],
        provenance: Provenance = EXPORTER,
        *,
        cycle_key: str = "",
        due_at: datetime | None = None,
        task: str = "",
    ) -> list[DayFigures]:
        """Exports the days' data versions not exported yet, in one transaction;
        returns those it exported (a repeat returns none)."""
        changed: list[BillingExport] = []
        exported: list[DayFigures] = []
        for figures in days:
            export = self._export_of(figures)
            done = export.export(
                figures.data_version,
                figures.data_recorded_at.isoformat(),
                {
                    "intervals": figures.intervals,
                    "total": figures.total,
                    "unit": figures.unit,
                    "qualities": figures.qualities,
                },
                provenance,
                cycle_key=cycle_key,
                due_at=due_at.isoformat() if due_at else "",
                task=task,
            )
            if done:
                changed.append(export)
                exported.append(figures)
        if changed:
            try:
                self.save(*changed)
            except IntegrityError:
                raise ConcurrentEdit("billing export", "of the period") from None
        return exported

    def exported_version(self, channel_id: UUID, day: date) -> int:
        """The data version of the day billing has (0: none yet)."""
        try:
            export: BillingExport = self.repository.get(BillingExport.id_for(channel_id, day))
        except AggregateNotFoundError:
            return 0
        return export.exported_version

    def _export_of(self, figures: DayFigures) -> BillingExport:
        try:
            found: BillingExport = self.repository.get(
                BillingExport.id_for(figures.channel_id, figures.day)
            )
        except AggregateNotFoundError:
            return BillingExport.open(figures.channel_id, figures.channel_key, figures.day)
        return found
