"""The demo's collection run as a utility runs it: a cycle, a scheduler, a worker.

A quarter-hourly cycle takes every demo meter; the scheduler (holding the scheduler
lock, so a second demo on the same data waits) fires it and creates one ``read_meter``
task per meter; an in-process processing server runs them through the DLMS command
port, which validates and estimates each delivery, and then the rest of the cycle's
chain: validate, estimate and export (``GET /api/v1/exports``), stopping where a person
must decide. On every start the demo also asks
for one read of each meter at once (ad-hoc tasks), so data shows without waiting for
the next quarter hour. Tasks and their outcomes are in the task monitor (web API
``/api/v1/tasks``); ``HES_REDIS_URL`` makes the demo use Redis instead of its own
in-memory broker.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from adapters.queue.broker import QueueSettings
from adapters.queue.chain_handlers import register_chain_handlers
from adapters.queue.handlers import MeterReads
from adapters.queue.worker import WorkerProcess, WorkerSettings
from adapters.scheduler import Scheduler
from adapters.scheduler_lock import scheduler_lock
from adapters.scheduling_sources import meter_directory_runner, open_scheduling
from application.errors import DuplicateKey
from domain.provenance import Provenance
from interfaces.installation import Installation

CYCLE = "DEMO-READ"
CHAIN = ["read_meter", "validate", "estimate", "export"]
SERVER = "demo"
STARTED = Provenance(actor="hes-demo", reason="read every meter at start", source="system")


def demo_queue() -> QueueSettings:
    """Redis when HES_REDIS_URL names one; else the process's own in-memory broker."""
    return QueueSettings.from_env() or QueueSettings(url="stub://", namespace="hes-demo")


def register_cycle(installation: Installation, template: str, since: date, who: Provenance) -> None:
    registry = installation.registry
    try:
        registry.register(
            "cycle",
            {
                "cycle_key": CYCLE,
                "name": "Demo fleet: load profile every quarter hour",
                "timezone": "UTC",
                "schedule": {"kind": "every", "minutes": 15},
                "task_chain": CHAIN,
                "task_parameters": {"read_meter": {"what": "profile", "days": 1}},
                "selector": {"template": template},
            },
            since,
            who,
        )
    except DuplicateKey:
        # A data directory from a demo whose chain was shorter: the chain grows from today.
        today = datetime.now(UTC).date()
        if registry.get("cycle", CYCLE).attributes_on(today).get("task_chain") != CHAIN:
            registry.change("cycle", CYCLE, {"task_chain": CHAIN}, today, who)


class DemoCollection:
    """The scheduler thread and the processing server of one demo run."""

    def __init__(self, installation: Installation, queue: QueueSettings, first_days: int) -> None:
        self.installation = installation
        self.first_days = first_days
        self.scheduling, _ = open_scheduling(
            installation.store,
            installation.registry,
            # Only the latest missed quarter hour: the start-up read covers the rest.
            catch_up=timedelta(minutes=15),
            fired_by="hes-demo",
            meter_runner=meter_directory_runner(installation.read_models),
        )
        self.worker = WorkerProcess(
            installation.store,
            queue,
            WorkerSettings(
                name=SERVER, threads=8, heartbeat_seconds=2, poll_seconds=1, stop_timeout_seconds=30
            ),
        )
        self.worker.handlers.register("read_meter", MeterReads(installation.command_port))
        register_chain_handlers(self.worker.handlers, installation)
        self.worker.operations.follow_on = self.scheduling
        self.scheduler = Scheduler(
            self.scheduling, self.worker.operations, scheduler_lock(installation.store), tick=5
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.scheduler.run, args=(self._stop,), name="demo-scheduler", daemon=True
        )

    def start(self) -> None:
        self.worker.start()
        self._thread.start()

    def read_all_now(self, serials: list[str], timeout: float = 120.0) -> tuple[int, int]:
        """One read of each meter, as ad-hoc tasks; (meters read, new intervals)."""
        operations = self.worker.operations
        run = uuid.uuid4().hex[:8]
        now = datetime.now(UTC)
        ids = [
            operations.create_task(
                "read_meter",
                serial,
                {"what": "profile", "days": self.first_days},
                now,
                STARTED,
                request_key=f"demo-start:{run}:{serial}",
            )
            for serial in serials
        ]
        deadline = time.monotonic() + timeout
        while True:
            tasks = [operations.task(task_id) for task_id in ids]
            # An "error" is retried later by the worker; the start-up report need not wait.
            if all(task.state in ("succeeded", "failed", "error") for task in tasks):
                break
            if time.monotonic() > deadline or self._stop.wait(0.5):
                break
        done = [task for task in tasks if task.state == "succeeded"]
        for task in tasks:
            if task.state != "succeeded":
                print(f"  {task.target}: read {task.state}: {task.last_error or 'not finished'}")
        return len(done), sum(int(task.result.get("new_intervals", 0)) for task in done)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.worker.shut_down()
        self.scheduling.close()
