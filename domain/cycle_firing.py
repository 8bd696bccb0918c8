"""CycleFiring: one cycle came due at one instant and its tasks were asked for.

Its id is uuid5 of (cycle key, due instant), so a due time can be recorded only once:
a second scheduler, or the same one after a crash, that tries to record the same
firing gets a version conflict from the event store and knows it already happened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.local_time import require_aware

FIRINGS_NAMESPACE = UUID("8a3c5e71-0d2f-5b94-a6e8-3f1c7d9b2e40")


class CycleFiring(Aggregate):
    TOPIC = "hes.scheduling.CycleFiring"

    if TYPE_CHECKING:  # set by the event; class annotations would become __init__ params
        cycle_key: str
        due_at: str
        fired_at: str
        window_end: str | None
        task_type: str
        targets_count: int
        created_count: int
        fired_by: str

    class Created(Aggregate.Created):
        TOPIC = "hes.scheduling.CycleFiring.Created"  # unused generic creation event

    class Fired(Aggregate.Created):
        """The cycle came due at ``due_at``; tasks were asked for every target meter."""

        TOPIC = "hes.scheduling.CycleFiring.Fired"
        cycle_key: str
        due_at: str
        fired_at: str
        window_end: str | None
        task_type: str
        targets_count: int
        created_count: int
        fired_by: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, CycleFiring)
            for name in (
                "cycle_key",
                "due_at",
                "fired_at",
                "window_end",
                "task_type",
                "targets_count",
                "created_count",
                "fired_by",
            ):
                setattr(aggregate, name, getattr(self, name))

    @staticmethod
    def id_for(cycle_key: str, due_at: datetime) -> UUID:
        instant = require_aware(due_at, "due_at").astimezone(UTC)
        return uuid5(FIRINGS_NAMESPACE, f"{cycle_key}|{instant.isoformat()}")

    @classmethod
    def fire(
        cls,
        cycle_key: str,
        due_at: datetime,
        fired_at: datetime,
        *,
        window_end: datetime | None,
        task_type: str,
        targets_count: int,
        created_count: int,
        fired_by: str,
    ) -> CycleFiring:
        return cls._create(
            cls.Fired,
            id=cls.id_for(cycle_key, due_at),
            cycle_key=cycle_key,
            due_at=due_at.astimezone(UTC).isoformat(),
            fired_at=require_aware(fired_at, "fired_at").astimezone(UTC).isoformat(),
            window_end=None if window_end is None else window_end.astimezone(UTC).isoformat(),
            task_type=task_type,
            targets_count=targets_count,
            created_count=created_count,
            fired_by=fired_by,
        )

    @property
    def due(self) -> datetime:
        return datetime.fromisoformat(self.due_at)

    @property
    def was_late(self) -> bool:
        """Fired after its collection window had closed: its critical work was late."""
        return self.window_end is not None and self.fired_at > self.window_end
