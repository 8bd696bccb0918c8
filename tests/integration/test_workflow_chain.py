"""A cycle's chain read -> validate -> estimate -> export run by a real worker (in-process
broker) against a simulated meter over DLMS/TCP, on SQLite and PostgreSQL; and the
device tasks (time_sync, command) recorded as DeviceCommands."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from adapters.dlms.simulator import FleetThread, SimulatedMeterConfig
from adapters.persistence.store import StoreLocation
from adapters.queue.broker import QueueSettings
from adapters.queue.chain_handlers import register_chain_handlers
from adapters.queue.handlers import MeterReads
from adapters.queue.worker import WorkerProcess, WorkerSettings
from adapters.scheduling_sources import scheduling_of
from adapters.security.passwords import Argon2PasswordHasher
from application.errors import UnknownAggregate
from domain.channel import Channel
from domain.provenance import Provenance
from domain.task import Task
from domain.vee.rule_set import DEFAULT_RULE_SET
from interfaces.installation import Installation

SETUP = Provenance("test", "set-up", "system")
SCHEDULER = Provenance("scheduler:test", "cycle due", "system", reason_code="CYCLE_DUE")
OLGA = Provenance("olga", "field work order 4711", "api")
SERIAL, KEY, CYCLE = "SIM-CHAIN", "SP-CHAIN:A+", "NIGHTLY"
CHAIN = ["read_meter", "validate", "estimate", "export"]
READ = {"what": "profile", "days": 2}


@dataclass
class Running:
    installation: Installation
    fleet: FleetThread

    def fire(self) -> datetime:
        """The cycle comes due now: its first task, as the scheduler asks for it."""
        due = datetime.now(UTC)
        operations = self.installation.operations
        operations.create_cycle_tasks(CYCLE, due, [SERIAL], "read_meter", READ, SCHEDULER)
        return due

    def task(self, task_id: UUID) -> Task:
        return self.installation.operations.task(task_id)

    def done(self, task_id: UUID, timeout: float = 60.0) -> Task:
        deadline = time.monotonic() + timeout
        while True:
            try:
                task = self.task(task_id)
                if task.state in ("succeeded", "failed"):
                    return task
            except UnknownAggregate:
                pass
            assert time.monotonic() < deadline, f"task {task_id} did not finish"
            time.sleep(0.1)


def step(due: datetime, task_type: str) -> UUID:
    return Task.id_for(Task.cycle_key_of(CYCLE, due, SERIAL, task_type))


@pytest.fixture
def running(store: StoreLocation) -> Iterator[Running]:
    queue = QueueSettings(url="stub://", namespace=f"chain-{uuid.uuid4().hex[:6]}")
    installation = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests(), queue=queue
    )
    config = SimulatedMeterConfig(
        SERIAL, password="pw-chain", history_days=3, clock_offset=timedelta(seconds=95)
    )
    with FleetThread([config]) as fleet:
        register(installation, fleet.ports[SERIAL])
        worker = WorkerProcess(
            store, queue, WorkerSettings(name="chain", threads=4, poll_seconds=0.1)
        )
        worker.handlers.register("read_meter", MeterReads(installation.command_port))
        register_chain_handlers(worker.handlers, installation)
        worker.operations.follow_on = scheduling_of(installation)[0]
        worker.start()
        try:
            yield Running(installation, fleet)
        finally:
            worker.shut_down()
            scheduling_of(installation)[0].close()
            installation.close()


def register(installation: Installation, port: int) -> None:
    since = date.today() - timedelta(days=30)
    registry = installation.registry
    registry.create_meter(
        {"serial": SERIAL, "meter_type": "single-phase", "security_profile": "lls",
         "comm_address": "127.0.0.1", "comm_port": port},
        since, SETUP, secrets={"lls_password": "pw-chain"},
    )  # fmt: skip
    registry.register(
        "channel",
        {"channel_key": KEY, "service_point_id": "SP-CHAIN", "kind": "metered", "unit": "kWh",
         "interval_minutes": 15, "meter_serial": SERIAL, "meter_channel": "1.0.1.29.0.255"},
        since, SETUP,
    )  # fmt: skip
    registry.register(
        "cycle",
        {"cycle_key": CYCLE, "name": "nightly read", "timezone": "UTC",
         "schedule": {"kind": "weekly", "days": "daily", "at": "04:00"},
         "task_chain": CHAIN, "task_parameters": {"read_meter": READ}, "meters": [SERIAL]},
        since, SETUP,
    )  # fmt: skip


def test_the_chain_runs_from_read_to_export_by_itself(running: Running) -> None:
    due = running.fire()

    export = running.done(step(due, "export"))

    tasks = {name: running.task(step(due, name)) for name in CHAIN}
    assert {name: task.state for name, task in tasks.items()} == dict.fromkeys(CHAIN, "succeeded")
    assert tasks["read_meter"].result["new_intervals"] >= 96
    validated = tasks["validate"].result
    assert validated["waiting_for_a_person"] == 0 and "follow_on" not in validated
    assert validated["intervals"]["validated"] == 2 * 96  # two days read, every one valid
    assert tasks["estimate"].result["estimated"] == 0
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    exported = [day["day"] for day in export.result["exported"]]
    assert exported[-1] == yesterday
    # The read began two days ago at this time of day: that day is not whole (unless
    # the read began in its first quarter hour), and today has not ended.
    for partial in export.result["held_back"]:
        assert partial["day"] < yesterday and partial["reason"].startswith("not final")
    assert len(exported) + len(export.result["held_back"]) == 2
    installation = running.installation
    installation.read_models.catch_up()
    rows = installation.read_models.billing_exports.exports(channel_id=Channel.id_for(KEY))
    assert [(row["day"], row["intervals"], row["cycle_key"]) for row in rows][-1] == (
        yesterday,
        96,
        CYCLE,
    )
    assert all(row["qualities"] == {"validated": 96} for row in rows)


def test_a_failed_interval_stops_the_chain_at_validate(running: Running) -> None:
    registry = running.installation.registry
    rules = [spec.as_dict() for spec in DEFAULT_RULE_SET.rules if spec.rule != "absolute_limits"]
    rules.append({"rule": "absolute_limits", "params": {"high": 0.001}})  # nothing passes
    since = date.today() - timedelta(days=3)
    registry.register("validation_rule_set", {"name": "tiny", "rules": rules}, since, SETUP)
    registry.change("channel", KEY, {"rule_set": "tiny"}, since, SETUP)
    due = running.fire()

    validate = running.done(step(due, "validate"))

    assert running.task(step(due, "read_meter")).state == "succeeded"
    assert validate.state == "succeeded"
    assert validate.result["follow_on"] is False
    assert "wait for a person" in validate.result["stopped"]
    assert validate.result["waiting_for_a_person"] == validate.result["intervals"]["failed"] > 0
    with pytest.raises(UnknownAggregate):  # created in the same save as the success, or never
        running.task(step(due, "estimate"))


def test_time_sync_and_command_tasks_are_device_commands_with_their_outcome(
    running: Running,
) -> None:
    operations = running.installation.operations
    now = datetime.now(UTC)
    synced_id = operations.create_task("time_sync", SERIAL, {"max_drift_seconds": 30}, now, OLGA)
    command_id = operations.create_task(
        "command", SERIAL, {"command_type": "disconnect", "parameters": {}}, now, OLGA
    )

    synced, commanded = running.done(synced_id), running.done(command_id)

    assert (synced.state, commanded.state) == ("succeeded", "succeeded")
    assert synced.result["result"]["adjusted"] is True
    assert 90 <= synced.result["result"]["drift_seconds"] <= 100
    head_end = running.installation.head_end
    command = head_end.command(UUID(commanded.result["command_id"]))
    assert (command.command_type, command.state) == ("disconnect", "confirmed")
    assert command.result["control_state"] == "disconnected"
    assert running.fleet.meter(SERIAL).relay.output_state is False
    history = [type(event).__name__ for event in head_end.history_of(command.id)]
    assert history == ["Requested", "Sent", "Confirmed"]
    assert head_end.history_of(command.id)[0].reason == f"command task {command_id}, dispatch 1"


def test_a_report_task_stores_the_report_as_its_result(running: Running) -> None:
    operations = running.installation.operations
    now = datetime.now(UTC)
    late_id = operations.create_task("report", "system", {"name": "late_work"}, now, OLGA)
    statistics_id = operations.create_task(
        "report", "system", {"name": "task_statistics"}, now, OLGA
    )
    unknown_id = operations.create_task("report", "system", {"name": "horoscope"}, now, OLGA)

    late, statistics = running.done(late_id), running.done(statistics_id)
    unknown = running.done(unknown_id)

    # The cycle was recorded just now: none of its due times so far was due, none is late.
    assert late.state == "succeeded" and late.result["report"] == "late_work"
    assert (late.result["count"], late.result["late"]) == (0, [])
    since, until = (datetime.fromisoformat(late.result[name]) for name in ("since", "until"))
    assert until - since == timedelta(hours=24)
    assert statistics.result["report"] == "task_statistics"
    assert statistics.result["by_task_type"]["report"]
    assert unknown.state == "failed" and "late_work or task_statistics" in unknown.last_error


def test_the_demo_cycle_of_an_older_data_directory_takes_the_whole_chain(
    store: StoreLocation,
) -> None:
    from interfaces.demo_cycle import CHAIN as DEMO_CHAIN
    from interfaces.demo_cycle import CYCLE as DEMO_CYCLE
    from interfaces.demo_cycle import register_cycle

    installation = Installation.open(
        store.data_dir, store.url, hasher=Argon2PasswordHasher.cheap_for_tests()
    )
    try:
        since = date.today() - timedelta(days=2)
        installation.registry.register(
            "cycle",
            {"cycle_key": DEMO_CYCLE, "name": "Demo fleet: load profile every quarter hour",
             "timezone": "UTC", "schedule": {"kind": "every", "minutes": 15},
             "task_chain": ["read_meter"],
             "task_parameters": {"read_meter": {"what": "profile", "days": 1}},
             "selector": {"template": "demo"}},
            since, SETUP,
        )  # fmt: skip
        register_cycle(installation, "demo", since, SETUP)
        register_cycle(installation, "demo", since, SETUP)  # a second restart changes nothing
        cycle = installation.registry.get("cycle", DEMO_CYCLE)
        assert cycle.attributes_on(datetime.now(UTC).date())["task_chain"] == DEMO_CHAIN
        assert cycle.version == 2
    finally:
        installation.close()
