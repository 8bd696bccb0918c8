"""Read models on real SQLite and PostgreSQL: audit log, meter directory, interval view."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from adapters.persistence.factory import shared_datastore
from adapters.persistence.store import StoreLocation
from adapters.security.passwords import Argon2PasswordHasher
from application.readings import Readings
from application.registry import Registry
from application.security import Security
from domain.channel import Channel
from domain.provenance import Provenance
from domain.user import User
from projections.audit_log import AuditLogProjection, AuditLogView
from projections.interval_days import INTERVAL_DAYS
from projections.read_models import ReadModels
from projections.runner import PollingProjectionRunner, PositionTaken, ReadModelView

INSTALLER = Provenance("alice", "meter installed", "ui", reason_code="INSTALL")
ENGINEER = Provenance("bob", "CT replaced after inspection", "api", reason_code="CT-CHANGE")
CLERK = Provenance("carol", "typo in the manufacturer", "ui", reason_code="CORRECTION")
FROM = date(2026, 1, 1)


@dataclass
class Install:
    store: StoreLocation
    registry: Registry
    readings: Readings
    security: Security
    read_models: ReadModels
    clock: list[date]


@pytest.fixture
def install(store: StoreLocation) -> Iterator[Install]:
    env = store.application_env()
    registry, readings = Registry(env=env), Readings(env=env)
    security = Security(env=env, hasher=Argon2PasswordHasher.cheap_for_tests())
    clock = [date(2026, 6, 1)]
    read_models = ReadModels(store, registry, readings, security, today=lambda: clock[0])
    yield Install(store, registry, readings, security, read_models, clock)
    read_models.stop()


def register_meter(registry: Registry, serial: str, **attributes: Any) -> None:
    values = {"serial": serial, "meter_type": "E350", "manufacturer": "Landis", **attributes}
    registry.register("meter", values, FROM, INSTALLER)


def register_service_point_with_channel(registry: Registry, point: str, serial: str) -> None:
    registry.register(
        "service_point",
        {"service_point_id": point, "name": point, "meter_serial": serial},
        FROM,
        INSTALLER,
    )
    registry.register(
        "channel",
        {
            "channel_key": f"{point}-kWh",
            "service_point_id": point,
            "kind": "metered",
            "unit": "kWh",
            "interval_minutes": 15,
            "meter_channel": "1.0.1.29.0.255",
        },
        FROM,
        INSTALLER,
    )


def view_rows(view: ReadModelView) -> dict[str, list[dict[str, Any]]]:
    with view.transaction(commit=False) as session:
        return {
            table.name: [
                dict(row)
                for row in session.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).mappings()
            ]
            for table in [*view.tables, view.tracking_table]
        }


# -- audit log ---------------------------------------------------------------------------


def test_the_audit_log_shows_before_and_after_of_every_registry_event(install: Install) -> None:
    registry = install.registry
    register_meter(registry, "M1", ct_ratio="100")
    register_meter(registry, "M2")
    register_service_point_with_channel(registry, "SP1", "M1")
    registry.change("meter", "M1", {"ct_ratio": "200"}, date(2026, 2, 1), ENGINEER)
    registry.correct("meter", "M1", {"manufacturer": "Landis+Gyr"}, FROM, CLERK)
    registry.exchange_meter("SP1", "M2", date(2026, 3, 1), ENGINEER)

    # Read by each of the three registry read models (audit, directory, external periods).
    assert install.read_models.catch_up() == 7 * 3
    meter_history = install.read_models.audit.entries(aggregate_type="meter", key="M1")

    assert [entry["event_type"] for entry in meter_history] == [
        "Corrected",
        "Changed",
        "Registered",
    ]
    corrected, changed, registered = meter_history
    assert corrected["changes"] == [
        {"field": "manufacturer", "before": "Landis", "after": "Landis+Gyr"}
    ]
    assert (corrected["actor"], corrected["reason_code"], corrected["source"]) == (
        "carol",
        "CORRECTION",
        "ui",
    )
    assert corrected["effective_date"] == "2026-01-01" and not corrected["critical"]
    assert changed["changes"] == [{"field": "ct_ratio", "before": "100", "after": "200"}]
    assert changed["critical"] and changed["reason"] == "CT replaced after inspection"
    assert {"field": "ct_ratio", "before": None, "after": "100"} in registered["changes"]
    assert registered["critical"] and registered["version"] == 1
    assert registered["recorded_at"].tzinfo is not None
    assert registered["recorded_at"] < changed["recorded_at"] < corrected["recorded_at"]
    (exchange,) = install.read_models.audit.entries(key="SP1", limit=1)
    assert exchange["event_type"] == "MeterExchanged"
    assert exchange["aggregate_type"] == "service_point"
    assert exchange["changes"] == [{"field": "meter_serial", "before": "M1", "after": "M2"}]
    assert exchange["effective_date"] == "2026-03-01"
    critical = install.read_models.audit.entries(critical=True)
    assert [(entry["aggregate_key"], entry["event_type"]) for entry in critical] == [
        ("M1", "Changed"),
        ("M1", "Registered"),
    ]


def test_the_audit_log_filters_by_actor_time_window_and_aggregate(install: Install) -> None:
    registry, audit = install.registry, install.read_models.audit
    register_meter(registry, "M1")
    register_meter(registry, "M2")
    window_opens = datetime.now(UTC)
    registry.change("meter", "M1", {"model": "ZMD"}, FROM, ENGINEER)
    registry.change("meter", "M2", {"model": "ZMD"}, FROM, ENGINEER)
    window_closes = datetime.now(UTC)
    registry.retire("meter", "M2", date(2026, 5, 1), CLERK)
    install.read_models.catch_up()

    assert audit.count() == 5
    assert [entry["aggregate_key"] for entry in audit.entries(actor="bob")] == ["M2", "M1"]
    in_window = audit.entries(since=window_opens, until=window_closes)
    assert [(entry["actor"], entry["aggregate_key"]) for entry in in_window] == [
        ("bob", "M2"),
        ("bob", "M1"),
    ]
    assert audit.count(since=window_closes) == 1
    assert audit.count(until=window_opens) == 2
    assert audit.count(aggregate_type="meter", key="M2") == 3
    assert audit.count(actor="carol", key="M1") == 0
    (retired,) = audit.entries(actor="carol")
    assert retired["changes"] == [{"field": "retired_from", "before": None, "after": "2026-05-01"}]
    assert [entry["event_type"] for entry in audit.entries(key="M2", limit=2, offset=1)] == [
        "Changed",
        "Registered",
    ]


def test_security_events_are_audited_without_any_hash_or_digest(install: Install) -> None:
    security = install.security
    security.enrol("dave", "correct horse battery", ["operator"], INSTALLER)
    token = security.issue_token("dave", "billing export", INSTALLER)
    user: User = security.repository.get(User.id_for("dave"))
    user.change_password(security.hasher.hash("another long secret"), CLERK)
    security.save(user)
    user = security.repository.get(User.id_for("dave"))
    install.read_models.catch_up()

    entries = install.read_models.audit.entries(aggregate_type="user")
    assert [entry["event_type"] for entry in entries] == [
        "PasswordChanged",
        "TokenIssued",
        "Enrolled",
    ]
    assert {entry["aggregate_key"] for entry in entries} == {"dave"}
    assert entries[0]["changes"] == [{"field": "password", "before": None, "after": "changed"}]
    token_id = token.split("_")[2]
    assert {"field": "token", "before": None, "after": token_id} in entries[1]["changes"]
    recorded = repr(entries)
    secrets = [user.password_hash, user.tokens[token_id]["digest"], token.split("_", 3)[3]]
    assert not [secret for secret in secrets if secret in recorded]


# -- the runner ------------------------------------------------------------------------


def test_catching_up_twice_processes_nothing_twice(install: Install) -> None:
    register_meter(install.registry, "M1")
    register_service_point_with_channel(install.registry, "SP1", "M1")
    record_block(install, datetime(2026, 3, 1, tzinfo=UTC), np.arange(4.0))

    first = install.read_models.catch_up()
    rows = {view.tracking_table_name: view_rows(view) for view in install.read_models.views}

    # Registry events three times (audit, directory, external periods); readings events
    # (a day opened, a block) twice (interval view, VEE exception queue).
    assert first == 3 * 3 + 2 * 2
    assert install.read_models.catch_up() == 0
    assert {v.tracking_table_name: view_rows(v) for v in install.read_models.views} == rows
    assert install.read_models.audit.count() == 3


def test_a_failing_event_rolls_back_its_whole_batch_and_the_runner_recovers(
    install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = install.registry
    view = AuditLogView(shared_datastore(install.store.url))
    runner = PollingProjectionRunner(registry, AuditLogProjection(view))
    register_meter(registry, "M1")
    register_meter(registry, "M2")
    assert runner.catch_up() == 2
    for serial in ("M3", "M4", "M5"):
        register_meter(registry, serial)
    record_entry, calls = view.record_entry, []

    def fail_on_the_second_entry(entry: Any) -> None:
        calls.append(entry)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        record_entry(entry)

    monkeypatch.setattr(view, "record_entry", fail_on_the_second_entry)
    with pytest.raises(RuntimeError, match="disk full"):
        runner.catch_up()

    assert view.count() == 2 and runner.position == 2
    monkeypatch.undo()
    assert runner.catch_up() == 3
    assert view.count() == 5 and runner.position == registry.recorder.max_notification_id()


def test_a_batch_is_not_recorded_when_another_runner_moved_the_position(
    install: Install,
) -> None:
    view = install.read_models.audit
    with view.transaction(commit=True) as session:
        view.advance_tracking(session, "Registry", None, 5)

    for previous, position in [(None, 5), (3, 7)]:
        with pytest.raises(PositionTaken), view.transaction(commit=True) as session:
            view.advance_tracking(session, "Registry", previous, position)
    with view.transaction(commit=True) as session:
        view.advance_tracking(session, "Registry", 5, 7)
    assert view.max_tracking_id("Registry") == 7


def test_two_runners_of_one_view_in_different_processes_record_each_event_once(
    install: Install,
) -> None:
    for number in range(30):
        register_meter(install.registry, f"M{number:02}")
    # Separate views (own locks) stand for two processes sharing one database.
    views = [AuditLogView(shared_datastore(install.store.url)) for _ in range(2)]
    runners = [
        PollingProjectionRunner(install.registry, AuditLogProjection(view), batch_size=7)
        for view in views
    ]
    counts: list[int] = []
    threads = [threading.Thread(target=lambda r=r: counts.append(r.catch_up())) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 30
    assert views[0].count() == 30


def test_runners_of_one_application_share_each_read_and_still_see_what_comes_next(
    install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = install.readings.recorder
    select, reads = recorder.select_notifications, []

    def counted(*args: Any, **kwargs: Any) -> Any:
        found = select(*args, **kwargs)
        reads.append(len(found))
        return found

    monkeypatch.setattr(recorder, "select_notifications", counted)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    record_block(install, start, np.arange(4.0))
    install.read_models.catch_up()
    record_block(install, start + timedelta(hours=1), np.arange(4.0))
    install.read_models.catch_up()

    # Interval view and VEE exception queue: one read of each new batch between them
    # (a day opened and a block, then a second block of that day).
    assert [count for count in reads if count] == [2, 1]
    rows = install.read_models.intervals.intervals(
        Channel.id_for("SP1-kWh"), start, start + timedelta(hours=2)
    )
    assert len(rows) == 8


def test_reset_and_rebuild_give_identical_rows(install: Install) -> None:
    registry = install.registry
    register_meter(registry, "M1", ct_ratio="100")
    register_meter(registry, "M2")
    register_service_point_with_channel(registry, "SP1", "M1")
    registry.change("meter", "M1", {"ct_ratio": "150"}, date(2026, 9, 1), ENGINEER)
    registry.exchange_meter("SP1", "M2", date(2026, 3, 1), ENGINEER)
    install.security.enrol("dave", "correct horse battery", ["auditor"], INSTALLER)
    record_block(install, datetime(2026, 3, 1, 22, tzinfo=UTC), np.linspace(0, 1, 12))
    install.read_models.catch_up()
    before = [view_rows(view) for view in install.read_models.views]

    install.read_models.reset_all()
    emptied = [view_rows(view) for view in install.read_models.views]
    install.read_models.catch_up()

    assert all(not rows for view in emptied for rows in view.values())
    assert [view_rows(view) for view in install.read_models.views] == before


def test_the_runner_thread_picks_up_new_events_within_a_second_and_stops_cleanly(
    install: Install,
) -> None:
    directory = install.read_models.directory
    install.read_models.start(poll_interval=0.05)
    register_meter(install.registry, "M1")
    deadline = time.monotonic() + 1.0
    while directory.meter("M1") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert directory.meter("M1") is not None

    install.read_models.stop()
    register_meter(install.registry, "M2")
    time.sleep(0.2)

    assert not any(runner.is_running for runner in install.read_models.runners)
    assert directory.meter("M2") is None


# -- meter directory -------------------------------------------------------------------


def test_the_directory_lists_meters_and_the_channels_of_each_meter(install: Install) -> None:
    registry, directory = install.registry, install.read_models.directory
    register_meter(
        registry, "M1", comm_address="10.0.0.1", comm_port=4059, protocol="dlms-wrapper-tcp"
    )
    register_meter(registry, "M2", manufacturer="Itron", model="ACE6000")
    register_service_point_with_channel(registry, "SP1", "M1")
    registry.exchange_meter("SP1", "M2", date(2026, 3, 1), ENGINEER)
    install.read_models.catch_up()

    assert [meter["serial"] for meter in directory.meters()] == ["M1", "M2"]
    assert [meter["serial"] for meter in directory.meters(search="itron")] == ["M2"]
    assert directory.count() == 2 and directory.count(search="ace") == 1
    m1 = directory.meter("M1")
    assert m1 is not None
    assert (m1["comm_address"], m1["comm_port"], m1["protocol"]) == (
        "10.0.0.1",
        4059,
        "dlms-wrapper-tcp",
    )
    assert directory.channels_of_meter("M1") == []
    (channel,) = directory.channels_of_meter("M2")
    assert channel["channel_id"] == Channel.id_for("SP1-kWh")
    assert (channel["unit"], channel["interval_minutes"], channel["kind"]) == ("kWh", 15, "metered")
    assert directory.channel(Channel.id_for("SP1-kWh")) == channel
    point = directory.service_point("SP1")
    assert point is not None and point["meter_serial"] == "M2" and point["version"] == 2


def test_a_change_dated_in_the_future_is_listed_when_its_day_comes(install: Install) -> None:
    registry, directory = install.registry, install.read_models.directory
    register_meter(registry, "M1", status="in-stock")
    registry.change("meter", "M1", {"status": "installed"}, date(2026, 7, 1), ENGINEER)
    install.read_models.catch_up()
    meter = directory.meter("M1")
    assert meter is not None and meter["status"] == "in-stock"

    install.clock[0] = date(2026, 7, 1)
    install.read_models.catch_up()

    meter = directory.meter("M1")
    assert meter is not None and meter["status"] == "installed"


# -- interval view ---------------------------------------------------------------------


def record_block(install: Install, start: datetime, values: np.ndarray, **kw: Any) -> None:
    statuses = kw.get("statuses", np.zeros(len(values), dtype=np.uint8))
    install.readings.record_block(Channel.id_for("SP1-kWh"), 15, start, values, statuses, INSTALLER)


def test_a_block_spanning_midnight_lands_on_both_days(install: Install) -> None:
    values = np.array([1.5, np.nan, 2.5, 3.5, 4.5, 5.5])
    statuses = np.array([0, 0x80, 0, 0, 0x20, 0], dtype=np.uint8)
    record_block(install, datetime(2026, 3, 1, 23, 15, tzinfo=UTC), values, statuses=statuses)
    install.read_models.catch_up()
    intervals = install.read_models.intervals
    channel_id = Channel.id_for("SP1-kWh")

    rows = intervals.intervals(
        channel_id, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)
    )

    starts = [
        datetime(2026, 3, 1, 23, 15, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(6)
    ]
    assert [row["start"] for row in rows] == starts
    assert [row["value"] for row in rows] == [1.5, None, 2.5, 3.5, 4.5, 5.5]
    assert [row["meter_status"] for row in rows] == [0, 0x80, 0, 0, 0x20, 0]
    # A delivered slot without a value is missing, not raw.
    assert [row["quality"] for row in rows] == ["raw", "missing", "raw", "raw", "raw", "raw"]
    assert intervals.latest_interval(channel_id) == rows[-1]
    (summary,) = intervals.summary()
    assert (summary["intervals"], summary["first"], summary["last"]) == (6, starts[0], starts[-1])
    with intervals.transaction(commit=False) as session:
        days = session.execute(select(INTERVAL_DAYS.c.first_second)).scalars().all()
    assert sorted(days) == [int(datetime(2026, 3, d, tzinfo=UTC).timestamp()) for d in (1, 2)]


def test_a_re_recorded_block_updates_its_values_and_version(install: Install) -> None:
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    record_block(install, start, np.array([1.0, 2.0, 3.0, 4.0]))
    install.read_models.catch_up()
    record_block(install, start + timedelta(minutes=15), np.array([2.0, 30.0]))
    install.read_models.catch_up()
    intervals = install.read_models.intervals

    rows = intervals.intervals(Channel.id_for("SP1-kWh"), start, start + timedelta(hours=1))

    assert [row["value"] for row in rows] == [1.0, 2.0, 30.0, 4.0]
    (block,) = intervals.day_blocks(Channel.id_for("SP1-kWh"), start, start + timedelta(hours=1))
    assert (block.version, block.data_version) == (3, 3)
    assert np.flatnonzero(block.written).tolist() == [32, 33, 34, 35]
