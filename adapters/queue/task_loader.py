"""Loads many tasks with one query: the Operations application's ``task_loader`` port.

The library's repository reads one aggregate per query. A worker claiming a batch of
tasks, or the dispatcher queueing a thousand, reads their events together from the
application's own events table and replays them with the events' own ``mutate``, as
the repository does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import select

from application.operations import Operations
from domain.task import Task


class BulkTaskLoader:
    def __init__(self, operations: Operations) -> None:
        self.operations = operations
        recorder: Any = operations.recorder
        self.recorder = recorder
        self.table = recorder.events_record_cls.__table__

    def __call__(self, task_ids: Sequence[UUID]) -> Mapping[UUID, Task]:
        if not task_ids:
            return {}
        c = self.table.c
        query = (
            select(c.originator_id, c.originator_version, c.topic, c.state)
            .where(c.originator_id.in_(list(task_ids)))
            .order_by(c.originator_id, c.originator_version)
        )
        with self.recorder.transaction(commit=False) as session:
            rows = session.execute(query).all()
        streams: dict[UUID, list[Any]] = {}
        mapper = self.operations.mapper
        for originator_id, version, topic, state in rows:
            stored = StoredEvent(
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=bytes(state) if isinstance(state, memoryview) else state,
            )
            streams.setdefault(originator_id, []).append(mapper.to_domain_event(stored))
        tasks: dict[UUID, Task] = {}
        for originator_id, events in streams.items():
            # What the repository's project_aggregate does, without its per-event
            # runtime Protocol check (a tenth of a busy worker's time).
            aggregate: Any = None
            for event in events:
                aggregate = event.mutate(aggregate)
            if isinstance(aggregate, Task):
                tasks[originator_id] = aggregate
        return tasks
