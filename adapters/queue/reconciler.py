"""Finds tasks the event store says are queued and the queue does not hold; re-queues them.

Redis here keeps no data on disk: after a restart (or a FLUSHALL) every message is
gone, and the event store alone knows what was pending. A queued task is "held" by the
queue while its message is in the queue's message hash (waiting, or fetched and not yet
acknowledged); the others get a new dispatch (``Operations.requeue``), which also makes
any stray copy of the old message stale. Tasks queued within ``grace`` are left alone:
their message may be on its way.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import redis
from dramatiq import Broker

from adapters.queue.broker import QueueSettings
from application.operations import Operations
from projections.task_monitor_projection import TaskMonitor

_log = logging.getLogger(__name__)
EPOCH_KEY = "__hes_epoch__"


class Reconciler:
    def __init__(
        self,
        operations: Operations,
        monitor: TaskMonitor,
        settings: QueueSettings,
        *,
        client: redis.Redis | None = None,
        broker: Broker | None = None,
        grace: timedelta = timedelta(seconds=30),
    ) -> None:
        self.operations = operations
        self.monitor = monitor
        self.settings = settings
        self.client = client
        self.broker = broker
        self.grace = grace

    def queue_lost_its_data(self) -> bool:
        """True once after Redis lost its data (and on the very first start)."""
        if self.client is None:
            return False
        key = f"{self.settings.namespace}:{EPOCH_KEY}"
        return bool(self.client.set(key, datetime.now(UTC).isoformat(), nx=True))

    def reconcile(self, now: datetime, grace: timedelta | None = None) -> int:
        """Re-queues what the queue lost; returns how many tasks were re-queued."""
        self.monitor.catch_up()
        queued = self.monitor.view.queued_tasks(
            queued_before=now - (self.grace if grace is None else grace)
        )
        if not queued:
            return 0
        held = self.messages_held()
        lost = [task_id for task_id, dispatch in queued if (task_id, dispatch) not in held]
        if not lost:
            return 0
        requeued = self.operations.requeue(lost)
        _log.warning(
            "re-queued %d of %d queued tasks the queue did not hold", requeued, len(queued)
        )
        return requeued

    def messages_held(self) -> set[tuple[UUID, int]]:
        """(task, dispatch) of every message the queue holds, waiting or being processed."""
        if self.client is not None:
            return self._held_in_redis(self.client)
        if self.broker is not None:
            return self._held_in_memory(self.broker)
        return set()

    def _held_in_redis(self, client: redis.Redis) -> set[tuple[UUID, int]]:
        held: set[tuple[UUID, int]] = set()
        pattern = f"{self.settings.namespace}:*.msgs"
        for key in client.scan_iter(match=pattern, count=1000):
            if key.endswith(b".XQ.msgs"):
                continue  # dead letters: not waiting for anyone
            for _, data in client.hscan_iter(key, count=1000):
                found = _task_of(data)
                if found is not None:
                    held.add(found)
        return held

    def _held_in_memory(self, broker: Broker) -> set[tuple[UUID, int]]:
        held: set[tuple[UUID, int]] = set()
        for queue in getattr(broker, "queues", {}).values():
            for data in list(getattr(queue, "queue", ())):
                found = _task_of(data)
                if found is not None:
                    held.add(found)
        return held


def _task_of(data: bytes) -> tuple[UUID, int] | None:
    try:
        args = json.loads(data)["args"]
        return UUID(args[0]), int(args[1])
    except (ValueError, KeyError, IndexError, TypeError):
        return None  # not one of our task messages
