"""A batch's deliveries resolved against the registry, cut into chunks (saved together)
and waves (judged together), and what the batch read before storing anything."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np

from application.vee_judgement import Judgement
from application.vee_workflow import Delivery
from domain.channel_day import ChannelDay, day_start
from domain.vee.series import IntervalSeries, RegisterRead, ValidationRule


@dataclass
class Planned:
    """One delivery resolved against the registry, ready to judge."""

    index: int
    delivery: Delivery
    channel_id: UUID
    interval: int
    start: datetime
    values: np.ndarray
    statuses: np.ndarray
    settings: dict[str, Any]
    rules: list[ValidationRule]

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.interval) * len(self.values)

    def days(self) -> Iterator[date]:
        day = self.start.date()
        while day_start(day) < self.end:
            yield day
            day += timedelta(days=1)


@dataclass
class Chunk:
    """Whole channels whose days are saved together; ``days`` holds the batch's aggregates
    (by channel: a channel's days are only ever touched by its own chunk)."""

    days: dict[UUID, dict[UUID, ChannelDay]]
    plans: list[Planned] = field(default_factory=list)
    staged: dict[UUID, ChannelDay] = field(default_factory=dict)

    def days_of(self, channel_id: UUID) -> dict[UUID, ChannelDay]:
        return self.days.setdefault(channel_id, {})


@dataclass
class BatchContext:
    """What a batch read before storing anything, shared by its chunks."""

    windows: Mapping[tuple[UUID, int], IntervalSeries]  # full histories, where needed
    light: Mapping[int, Judgement]  # by plan index: judged from daily usage alone
    periods: Mapping[str, list[tuple[str, datetime, datetime]]]
    registers: Mapping[UUID, list[RegisterRead]]


def waves(plans: Sequence[Planned]) -> list[list[Planned]]:
    """The plans in delivery order, cut so that each channel's n-th delivery is in wave n
    (a later delivery of a channel sees what the earlier ones staged)."""
    waves: list[list[Planned]] = []
    seen: dict[UUID, int] = {}
    for plan in sorted(plans, key=lambda p: p.index):
        number = seen[plan.channel_id] = seen.get(plan.channel_id, -1) + 1
        if number == len(waves):
            waves.append([])
        waves[number].append(plan)
    return waves
