"""The dispatcher's round: queue due tasks, recover runs of lost workers, reconcile.

Any worker may do it, one at a time: the one holding a short lease in Redis (renewed
each round, so a dead holder is replaced within the lease). With the in-process broker
there is one worker and no lease. A round reads the task monitor after catching it up;
everything it decides is checked again against the aggregate before it is recorded,
so a monitor that lags only delays work, never duplicates it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis

from adapters.queue.heartbeats import Heartbeats
from adapters.queue.reconciler import Reconciler
from application.operations import Operations
from projections.task_monitor_projection import TaskMonitor

_log = logging.getLogger(__name__)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""


class Lease:
    """Who runs the dispatcher's round: one holder at a time, for ``ttl`` at most."""

    def __init__(self, client: redis.Redis | None, key: str, holder: str, ttl: timedelta) -> None:
        self.client, self.key, self.holder = client, key, holder
        self.ttl_ms = int(ttl.total_seconds() * 1000)
        self._renew = client.register_script(_RENEW) if client is not None else None

    def acquire(self) -> bool:
        if self._renew is None:
            return True
        return bool(self._renew(keys=[self.key], args=[self.holder, self.ttl_ms]))


@dataclass
class Round:
    lost_servers: int = 0
    recovered: int = 0
    dispatched: int = 0
    requeued: int = 0
    held_lease: bool = True


class Maintenance:
    def __init__(
        self,
        operations: Operations,
        monitor: TaskMonitor,
        heartbeats: Heartbeats,
        reconciler: Reconciler,
        lease: Lease,
        *,
        reconcile_every: timedelta = timedelta(seconds=60),
    ) -> None:
        self.operations = operations
        self.monitor = monitor
        self.heartbeats = heartbeats
        self.reconciler = reconciler
        self.lease = lease
        self.reconcile_every = reconcile_every
        self._last_reconciled: datetime | None = None

    def run_once(self, now: datetime | None = None) -> Round:
        moment = now or datetime.now(UTC)
        if not self.lease.acquire():
            return Round(held_lease=False)
        self.monitor.catch_up()
        done = Round()
        done.lost_servers = self._mark_lost_servers()
        done.recovered = self._recover_runs()
        due = self.monitor.view.due_task_ids(moment)
        done.dispatched = self.operations.dispatch(due, moment) if due else 0
        done.requeued = self._reconcile(moment)
        return done

    def _mark_lost_servers(self) -> int:
        lost = 0
        for beat in self.heartbeats.silent():
            if self.operations.mark_server_lost(beat.server, beat.instance, beat.last_seen):
                _log.warning("processing server %s (%s) lost", beat.server, beat.instance)
                lost += 1
            # Handled: without its row the instance still counts as gone.
            self.heartbeats.forget(beat.instance)
        return lost

    def _recover_runs(self) -> int:
        runs = self.monitor.view.running_runs()
        if not runs:
            return 0
        alive = self.heartbeats.alive_instances()
        orphaned = [
            (task_id, dispatch) for task_id, dispatch, instance in runs if instance not in alive
        ]
        if not orphaned:
            return 0
        return self.operations.recover_lost_runs(orphaned, "its worker process was lost")

    def _reconcile(self, now: datetime) -> int:
        if self.reconciler.queue_lost_its_data():
            _log.warning("the queue lost its data (or is new): reconciling now")
            self._last_reconciled = now
            return self.reconciler.reconcile(now, grace=timedelta(0))
        if self._last_reconciled is None or now - self._last_reconciled >= self.reconcile_every:
            self._last_reconciled = now
            return self.reconciler.reconcile(now)
        return 0
