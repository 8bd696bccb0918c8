"""What every HES application adds to the library's Application: as-of reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import Recording, StoredEvent

T = TypeVar("T")


class RecordedTimeIndex(Protocol):
    def version_at(self, originator_id: UUID, recorded_at: datetime) -> int | None: ...

    def versions_at(self, originator_ids: Sequence[UUID], recorded_at: datetime) -> dict[UUID, int]:
        """``version_at`` for many aggregates at once (those with none left out)."""
        ...

    def events_as_of(
        self, originator_ids: Sequence[UUID], recorded_at: datetime | None
    ) -> list[StoredEvent]:
        """Every stored event of the aggregates recorded by then (all when None), each
        stream in version order."""
        ...


class HesApplication(Application[UUID]):
    """Records every event's own timestamp in an index saved with the events."""

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        events: list[Any] = list(processing_event.events)
        processing_event.saved_kwargs["recorded_times"] = [
            (event.originator_id, event.originator_version, event.timestamp) for event in events
        ]
        return super()._record(processing_event)

    @property
    def recorded_time_index(self) -> RecordedTimeIndex:
        recorder: Any = self.recorder
        return cast(RecordedTimeIndex, recorder)

    def get_as_of(self, aggregate_id: UUID, recorded_at: datetime | None) -> Any:
        """The aggregate as recorded at ``recorded_at`` (latest when None).

        Raises AggregateNotFoundError when nothing of it was recorded by then.
        """
        if recorded_at is None:
            return self.repository.get(aggregate_id)
        version = self.recorded_time_index.version_at(aggregate_id, recorded_at)
        if version is None:
            raise AggregateNotFoundError(aggregate_id)
        return self.repository.get(aggregate_id, version=version)

    def get_many_as_of(
        self, aggregate_ids: Sequence[UUID], recorded_at: datetime | None
    ) -> dict[UUID, Any]:
        """``get_as_of`` for many short streams at once: the versions recorded by then
        (when ``recorded_at`` is given), then all their events, in one transaction,
        replayed here; aggregates with nothing recorded by then are left out. For a long
        stream ``get_as_of`` is cheaper: it starts from a snapshot."""
        aggregates: dict[UUID, Any] = {}
        for stored in self.recorded_time_index.events_as_of(aggregate_ids, recorded_at):
            originator_id = cast(UUID, stored.originator_id)
            event: Any = self.mapper.to_domain_event(stored)
            aggregates[originator_id] = event.mutate(aggregates.get(originator_id))
        return aggregates

    def history_of(self, aggregate_id: UUID) -> list[Any]:
        """Every event of one aggregate in recorded order."""
        return list(self.events.get(aggregate_id))
