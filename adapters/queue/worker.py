"""``hes worker``: one processing server's process.

It records that it started (registering the server the first time), beats its
heartbeat, and runs one dramatiq worker per thread group, each consuming the queues of
the task types the group accepts. It follows what an administrator decides (stop,
restart, new thread groups) within a poll interval, and reports each change as done.
On SIGTERM or SIGINT it takes no more tasks, lets the running ones finish (up to the
stop timeout), hands fetched-but-unstarted messages back to Redis and records that it
shut down. With ``maintenance`` on, it also takes its turn at the dispatcher's round.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from dramatiq import Broker, Worker

from adapters.archive import DailyArchive, archive_directory
from adapters.dlms.communication_log import CommunicationLog
from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from adapters.queue.actors import TaskRunner, declare_actors
from adapters.queue.broker import DramatiqTaskQueue, QueueSettings, new_broker, redis_client
from adapters.queue.handlers import TaskHandlers, default_handlers
from adapters.queue.heartbeats import Heartbeats
from adapters.queue.maintenance import Lease, Maintenance
from adapters.queue.reconciler import Reconciler
from adapters.queue.task_loader import BulkTaskLoader
from adapters.raw_frames import purge_expired_frames
from application.operations import Operations
from domain.processing_server import ThreadGroup
from domain.task_types import queue_names
from projections.task_monitor_projection import TaskMonitor

_log = logging.getLogger(__name__)
T = TypeVar("T")


def _despite_rivals(make: Callable[[], T], attempts: int = 5) -> T:
    """Workers started together on a new database race to create its tables; the
    loser's CREATE TABLE fails, and by the time it looks again the tables exist."""
    for attempt in range(1, attempts + 1):
        try:
            return make()
        except Exception as error:
            if "already exists" not in str(error) or attempt == attempts:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class WorkerSettings:
    name: str
    threads: int = 32  # the thread group of a server registered by its first start
    heartbeat_seconds: float = 5.0
    lost_after_seconds: float = 30.0
    poll_seconds: float = 1.0
    reconcile_seconds: float = 60.0
    reconcile_grace_seconds: float = 30.0
    stop_timeout_seconds: float = 600.0
    maintenance: bool = True


class ThreadGroupWorker:
    """One thread group: a dramatiq Worker on the queues of the task types it accepts."""

    def __init__(
        self, settings: QueueSettings, group: ThreadGroup, server: str, runner: TaskRunner
    ) -> None:
        self.broker: Broker = new_broker(settings)
        self.shared = settings.is_stub  # the in-process broker outlives this group
        declare_actors(self.broker, runner)
        queues = queue_names(group.accepted, server)
        for name in queues:
            self.broker.declare_queue(name)
        self.worker = Worker(self.broker, queues=set(queues), worker_threads=group.threads)
        # Prefetch as many as there are threads: enough to keep them busy, few enough
        # that one server does not hoard a backlog the others could take.
        self.worker.queue_prefetch = group.threads

    def start(self) -> None:
        self.worker.start()

    def stop(self, timeout_seconds: float) -> None:
        self.worker.stop(timeout=int(timeout_seconds * 1000))
        # A stopped worker's hooks must not add consumers to a broker that lives on.
        self.broker.middleware[:] = [
            m for m in self.broker.middleware if getattr(m, "worker", None) is not self.worker
        ]
        if not self.shared:
            self.broker.close()
            client: Any = getattr(self.broker, "client", None)
            if client is not None:
                client.close()


class WorkerProcess:
    def __init__(
        self,
        store: StoreLocation,
        queue: QueueSettings,
        settings: WorkerSettings,
        handlers: TaskHandlers | None = None,
    ) -> None:
        self.settings = settings
        self.queue_settings = queue
        self.host = socket.gethostname()
        self.instance = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        datastore = shared_datastore(store.url)
        self.task_queue = DramatiqTaskQueue(queue)
        self.operations = _despite_rivals(
            lambda: Operations(env=store.application_env(), task_queue=self.task_queue)
        )
        lost_after = timedelta(seconds=settings.lost_after_seconds)
        engine: Any = datastore.engine
        self.heartbeats = _despite_rivals(lambda: Heartbeats(engine, lost_after))
        self.operations.task_loader = BulkTaskLoader(self.operations)
        self.operations.is_alive = self.heartbeats.is_alive
        self.operations.use_group_commit()
        self.monitor = _despite_rivals(lambda: TaskMonitor(datastore, self.operations))
        self.handlers = handlers or default_handlers(
            purge_task_log=lambda: self.monitor.purge(datetime.now(UTC)),
            purge_raw_frames=lambda: purge_expired_frames(engine),
            purge_comm_log=lambda: CommunicationLog(engine).purge(),
            archive=DailyArchive(engine, archive_directory(store.data_dir)),
        )
        self.runner = TaskRunner(self.operations, self.handlers, settings.name, self.instance)
        client = None if queue.is_stub else redis_client(queue)
        reconciler = Reconciler(
            self.operations,
            self.monitor,
            queue,
            client=client,
            broker=self.task_queue.broker if queue.is_stub else None,
            grace=timedelta(seconds=settings.reconcile_grace_seconds),
        )
        lease_ttl = timedelta(
            seconds=max(settings.lost_after_seconds / 2, settings.poll_seconds * 3)
        )
        lease = Lease(client, f"{queue.namespace}:__hes_dispatcher__", self.instance, lease_ttl)
        self.maintenance = Maintenance(
            self.operations,
            self.monitor,
            self.heartbeats,
            reconciler,
            lease,
            reconcile_every=timedelta(seconds=settings.reconcile_seconds),
        )
        self.groups: list[ThreadGroupWorker] = []
        self._running_config: list[dict[str, Any]] | None = None
        self._stopping = threading.Event()  # no more rounds, no more new groups
        self._closed = threading.Event()  # heartbeats go on until the groups have stopped
        self._threads: list[threading.Thread] = []
        self._control: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------

    def run(self) -> None:
        """Runs until SIGTERM/SIGINT (or ``request_stop``), then shuts down cleanly."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: self.request_stop())
        self.start()
        try:
            while not self._stopping.wait(1.0):
                pass  # a wait with a timeout, so that the signal handlers run promptly
        finally:
            self.shut_down()

    def start(self) -> None:
        """Starts in the background (``hes demo`` runs a worker inside its own process)."""
        name = self.settings.name
        self.heartbeats.beat(self.instance, name, self.host, os.getpid())
        default_groups = [{"threads": self.settings.threads, "task_types": ["*"]}]
        self.operations.server_started(name, self.instance, self.host, os.getpid(), default_groups)
        _log.info("processing server %s started as %s", name, self.instance)
        self._follow_the_administrator()
        self._control = self._spawn(self._follow, "control")
        self._spawn(self._beat, "heartbeat")
        if self.settings.maintenance:
            self._spawn(self._maintain, "maintenance")

    def request_stop(self) -> None:
        self._stopping.set()

    def shut_down(self) -> None:
        self._stopping.set()
        if self._control is not None:
            self._control.join()  # it may be starting or stopping groups right now
        self._stop_groups()
        self._closed.set()
        for thread in self._threads:
            thread.join(10)
        self.operations.server_shut_down(self.settings.name, self.instance)
        self.heartbeats.forget(self.instance)
        self.task_queue.close()
        self.operations.close()
        _log.info("processing server %s shut down", self.settings.name)

    # -- following the administrator ---------------------------------------------------

    def _follow_the_administrator(self) -> None:
        name = self.settings.name
        try:
            server = self.operations.server(name)
            if server.instance == self.instance and server.status in ("lost", "offline"):
                # Declared lost during a pause (its runs were handed on): back again.
                server = self.operations.server_started(
                    name, self.instance, self.host, os.getpid(), server.thread_groups
                )
            if server.enabled:
                if self._running_config != server.thread_groups:
                    self._stop_groups()
                    self._start_groups(server.thread_groups)
                if server.status == "paused":
                    self.operations.confirm_restarted(name, self.instance)
            else:
                self._stop_groups()
                if server.status == "processing":
                    self.operations.confirm_stopped(name, self.instance)
        except Exception:
            _log.exception("could not follow the settings of %s; will try again", name)

    def _start_groups(self, config: list[dict[str, Any]]) -> None:
        groups = [ThreadGroup.from_dict(group) for group in config]
        self.groups = [
            ThreadGroupWorker(self.queue_settings, group, self.settings.name, self.runner)
            for group in groups
        ]
        for group in self.groups:
            group.start()
        self._running_config = [dict(group) for group in config]
        _log.info(
            "processing %s",
            "; ".join(f"{g.threads} threads: {','.join(g.task_types)}" for g in groups),
        )

    def _stop_groups(self) -> None:
        if not self.groups:
            return
        stopping = [
            threading.Thread(target=group.stop, args=(self.settings.stop_timeout_seconds,))
            for group in self.groups
        ]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        self.groups = []
        self._running_config = None

    # -- background threads ------------------------------------------------------------

    def _spawn(self, target: Any, name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"worker-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def _follow(self) -> None:
        while not self._stopping.wait(self.settings.poll_seconds):
            self._follow_the_administrator()

    def _beat(self) -> None:
        while not self._closed.wait(self.settings.heartbeat_seconds):
            try:
                self.heartbeats.beat(self.instance, self.settings.name, self.host, os.getpid())
            except Exception:
                _log.exception("heartbeat failed; will try again")

    def _maintain(self) -> None:
        while not self._stopping.wait(self.settings.poll_seconds):
            try:
                self.maintenance.run_once()
            except Exception:
                _log.exception("dispatcher round failed; will try again")
